"""kodosumi's ``my_service`` example, with only its import lines changed.

``calc.py`` holds the entry point ``execute`` (it fans ``calculate`` out as Ray tasks and
reports through its tracer); ``app.py`` the endpoint (its form, ``enter`` and
``Launch``) and the Ray Serve deployment. From the ``examples`` folder::

    hoist service run my_service.app:app     # uvicorn
    serve run my_service.app:fast_app        # Ray Serve

Each launch is a run of kind ``service`` in Hoist's run store (``HOIST_HOME``), shown
by ``hoist runs`` and the panel.
"""
