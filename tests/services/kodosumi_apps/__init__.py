"""Small agent services written in kodosumi's style, as kodosumi users write them.

Each module imports ``kodosumi`` (``kodosumi.core``, ``kodosumi.response``), so none of
them imports as it is: ``tests/services/test_kodosumi_style.py`` rewrites only their
import lines to ``hoist.services``, deploys the result as the package ``kodosumi_apps``
(the name their ``"kodosumi_apps.<module>:<function>"`` entry points use) and runs each
app through its HTTP interface.

- ``survey``: every kind of form element, an endpoint that adds field and ``_global_``
  messages to an ``InputsError``, an async entry point using every tracer call and
  returning a typed ``response.Markdown``.
- ``ratio``: ``import kodosumi.core as core``, a sync endpoint and a sync entry point
  (``*_sync`` tracer calls, ``print``), a ``TracerMock`` run in ``main()``, and a
  division by zero that fails the run.
- ``prime``: a Ray fan-out from a sync and an async entry point, the tracer taken into
  the ``@ray.remote`` tasks and used there with its ``*_sync`` calls.
"""
