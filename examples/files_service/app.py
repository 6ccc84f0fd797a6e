"""The files service: upload text files, get a word-count report back as a download.

Run it with ``hoist service run files_service.app:app`` from ``examples/``; the form
posts the files (``multipart/form-data``), which land in the run's ``in/`` folder, and
the report is the run's deliverable in ``out/`` (listed and downloadable on the run's
page and at ``/api/v1/runs/{id}/artifacts``).
"""

import fastapi

from hoist.services import InputsError, Launch, ServeAPI
from hoist.services import forms as F

# Uploads over 5 MB a file (20 MB in all) are refused with 413, before any launch.
app = ServeAPI(title="Files", max_upload_bytes=5 * 1024 * 1024)

form = F.Model(
    F.Markdown("""
    # Word counts
    Upload text files: the service counts the words of each and delivers a report.
    """),
    F.InputFiles("texts", "Text files", multiple=True, required=True, accept=".txt,.md"),
    F.InputNumber("top", "Most frequent words to list", value=5, integer=True, min_value=1),
    F.Submit("Count"),
)


@app.enter(
    "/",
    model=form,
    summary="Word counts",
    description="Counts the words of uploaded text files; the report is a download.",
    tags=["files"],
    version="1.0.0",
    author="hoist@example.org",
)
async def enter(request: fastapi.Request, inputs: dict):
    if inputs["top"] > 50:
        raise InputsError(top="at most 50")
    return Launch(request, "files_service.process:execute", inputs=inputs)
