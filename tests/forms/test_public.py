"""The public names of ``hoist.forms``."""

from __future__ import annotations

from hoist import forms as F

SEED_ELEMENTS = (
    "Model", "InputText", "InputPassword", "InputNumber", "InputArea", "InputDate",
    "InputTime", "InputDateTime", "Checkbox", "Select", "InputOption", "InputFiles",
    "Markdown", "HTML", "Break", "HR", "Errors", "Submit", "Cancel", "Action",
)  # fmt: skip


def test_all_names_resolve_and_have_docstrings() -> None:
    for name in F.__all__:
        value = getattr(F, name)
        if name != "GLOBAL":
            assert getattr(value, "__doc__", None), f"{name} has no docstring"


def test_seed_elements_exported() -> None:
    for name in SEED_ELEMENTS:
        assert name in F.__all__, name
    assert {"InputsError", "form_for"} <= set(F.__all__)


def test_seed_form_builds() -> None:
    form = F.Model(
        F.Markdown("""
        # My Service
        Specify the number of tasks to run.
        """),
        F.Break(),
        F.InputText(label="Number of Tasks", name="tasks", value="25"),
        F.Submit("Submit"),
        F.Cancel("Cancel"),
    )
    html = form.render()
    assert "<h1>My Service</h1>" in html
    assert 'name="tasks"' in html and 'value="25"' in html
    # The seed posts {"tasks": 100} as JSON to this text input.
    assert form.validate({"tasks": 100}) == {"tasks": "100"}
    assert form.validate({}) == {"tasks": "25"}
