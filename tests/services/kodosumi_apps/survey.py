"""Team survey: a form with every kind of element, checked in the endpoint."""

import fastapi
from kodosumi import response
from kodosumi.core import InputsError, Launch, ServeAPI, Tracer
from kodosumi.core import forms as F

app = ServeAPI()

survey_model = F.Model(
    F.Markdown("""
    # Team Survey

    Tell us how your team is doing. Each answer is traced while it is scored.
    """),
    F.Errors(),
    F.Break(),
    F.InputText(label="Team", name="team", placeholder="e.g. Platform", required=True),
    F.InputNumber(label="Team size", name="size", value="5", min_value=1, max_value=50),
    F.InputArea(label="Notes", name="notes", placeholder="What went well, what did not?", rows=4),
    F.InputDate(label="Survey date", name="day"),
    F.Select(
        label="Mood",
        name="mood",
        value="good",
        option=[
            F.InputOption(name="good", label="Good"),
            F.InputOption(name="meh", label="So-so"),
            F.InputOption(name="bad", label="Bad"),
        ],
    ),
    F.Checkbox(label="Remote", name="remote", option="The team works remotely", value=False),
    F.HR(),
    F.Submit("Send"),
    F.Cancel("Cancel"),
)

MOOD_POINTS = {"good": 3, "meh": 2, "bad": 1}


async def score(inputs: dict, tracer: Tracer):
    team, size = inputs["team"], int(inputs["size"])
    await tracer.debug(f"survey of {team}", f"size {size}")
    await tracer.markdown(f"## {team}", f"Mood: **{inputs['mood']}**")
    await tracer.html(f"<p><b>{team}</b> answered the survey</p>")
    await tracer.text("Notes:", inputs.get("notes") or "(none)")
    await tracer.action({"step": "score", "team": team})
    points = MOOD_POINTS[inputs["mood"]] * size
    await tracer.result({"team": team, "points": points})
    if inputs.get("remote"):
        await tracer.warning("remote teams are scored", "the same as others")
    print(f"scored {team}: {points}")
    return response.Markdown(f"# Survey of {team}\n\n**{points}** points")


@app.enter(
    path="/",
    model=survey_model,
    summary="Team Survey",
    description="Scores a team's answers to a short survey.",
    version="1.0.0",
    author="survey@example.org",
    organization="Example Org",
    tags=["Test", "Forms"],
)
async def enter(request: fastapi.Request, inputs: dict):
    error = InputsError()
    team = inputs.get("team", "").strip()
    if team.lower() == "nobody":
        error.add(team="Please name a real team.")
    if inputs.get("mood") == "bad" and not inputs.get("notes"):
        error.add(notes="Tell us what went wrong.")
        error.add(_global_="A bad mood needs a note.")
    if error.has_errors():
        raise error
    return Launch(request, score, inputs=inputs)
