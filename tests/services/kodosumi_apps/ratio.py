"""Ratio of two numbers: a sync endpoint launching a sync entry point."""

import fastapi
import kodosumi.core as core
from kodosumi.core import forms as F

app = core.ServeAPI()

ratio_model = core.forms.Model(
    F.Markdown("# Ratio\nDivides one number by another."),
    F.Errors(),
    F.InputText(label="Dividend", name="a", placeholder="1"),
    F.InputText(label="Divisor", name="b", placeholder="4"),
    F.Submit("Divide"),
    F.Cancel("Cancel"),
)


def divide(inputs: dict, tracer: core.Tracer):
    a = float(inputs["a"])
    b = float(inputs["b"])
    tracer.markdown_sync(f"dividing `{a:g}` by `{b:g}`")
    print(f"{a:g} / {b:g}")
    ratio = a / b
    tracer.text_sync(f"ratio = {ratio:g}")
    return core.response.Markdown(f"# Ratio\n\n{a:g} / {b:g} = **{ratio:g}**")


def main():
    tracer = core.TracerMock()
    return divide({"a": "3", "b": "4"}, tracer), tracer


def read_number(inputs: dict, key: str, error: core.InputsError):
    value = inputs.get(key, "").strip()
    try:
        float(value)
    except ValueError:
        error.add(**{key: "Must be a number"})
    return value


@app.enter(
    "/",
    ratio_model,
    summary="Ratio",
    description="Divides a by b.",
    version="0.2.0",
    author="ratio@example.org",
    tags=["Test"],
)
def enter(request: fastapi.Request, inputs: dict):
    error = core.InputsError()
    a = read_number(inputs, "a", error)
    b = read_number(inputs, "b", error)
    if error:
        raise error
    return core.Launch(request, "kodosumi_apps.ratio:divide", inputs={"a": a, "b": b})
