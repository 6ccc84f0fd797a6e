"""The approve service: it drafts a text, a person approves it or edits it, and the run
ends with the text that was approved.

Run it with ``hoist service run approve_service.app:app`` from ``examples/``. A launch
drafts the text, then waits (``awaiting``) on the lock ``review``: its form is built
here (``@app.lock``) from the draft, its answers checked here (``@app.lease``: an empty
edit is refused and the lock stays open). Answer it from the run's page, through the
Hoist server's ``POST /api/v1/runs/{id}/locks/{lock_id}``, or at this service's
``POST /-/hoist/runs/{id}/locks/{lock_id}`` with ``{"values": {...}}``.
"""

from typing import Any

import fastapi

from hoist.services import InputsError, Launch, ServeAPI
from hoist.services import forms as F

app = ServeAPI(title="Approve")

form = F.Model(
    F.Markdown("# Announcement\nDrafts an announcement; a person approves or edits it."),
    F.InputText("topic", "Topic", required=True, max_length=200),
    F.Submit("Draft it"),
)


@app.enter(
    "/",
    model=form,
    summary="Approved announcement",
    description="Drafts an announcement and waits for a person to approve or edit it.",
    tags=["human-in-the-loop"],
    version="1.0.0",
    author="hoist@example.org",
)
async def enter(request: fastapi.Request, inputs: dict):
    return Launch(request, "approve_service.draft:execute", inputs=inputs)


@app.lock("review")
def review_form(data: dict[str, Any]) -> F.Model:
    """What the reviewer sees: the draft, a box to edit it, and two buttons."""
    return F.Model(
        F.Markdown(f"## Please review\n\n{data['draft']}"),
        F.InputArea("text", "Your edit (used with *Use my edit*)", value=data["draft"]),
        F.Action("decision", "approve", "Approve the draft"),
        F.Action("decision", "edit", "Use my edit"),
    )


@app.lease("review")
def review_answer(inputs: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """An edit must say something; an approval takes the draft as it is."""
    if inputs.get("decision") == "edit":
        text = (inputs.get("text") or "").strip()
        if not text:
            raise InputsError(text="An edit cannot be empty: write the text, or approve.")
        return {"decision": "edit", "text": text}
    return {"decision": "approve", "text": data["draft"]}
