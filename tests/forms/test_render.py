"""Rendering: escaping, sanitising, every element, browser constraints, errors."""

from __future__ import annotations

import re

import pytest
from multidict import MultiDict

from hoist import forms as F

EVIL = '<script>alert("x")</script>'


def _field(html: str, name: str) -> str:
    """The ``<div class="field">`` of the input called ``name``."""
    match = re.search(
        rf'<div class="field[^"]*" data-field="{re.escape(name)}">.*?\n</div>', html, re.S
    )
    assert match, f"no field {name}"
    return match.group(0)


def _tag(html: str, name: str) -> str:
    """The control (``<input>``, ``<textarea>``, ``<select>``) named ``name``."""
    match = re.search(rf'<(input|textarea|select)[^>]* name="{re.escape(name)}"[^>]*>', html)
    assert match, f"no control {name}"
    return match.group(0)


def test_every_element_renders(declared_form: F.Model) -> None:
    html = declared_form.render(errors={"_global_": ["boom"]})
    assert html.startswith('<form method="post"') and html.endswith("</form>")
    assert 'enctype="multipart/form-data"' in html  # a file input is present
    assert "<h1>Title</h1>" in html
    for kind in (
        "text",
        "password",
        "number",
        "date",
        "time",
        "datetime-local",
        "checkbox",
        "file",
    ):
        assert f'type="{kind}"' in html, kind
    assert "<textarea" in html and "<select" in html
    assert '<option value="g" selected>Green</option>' in html
    assert (
        '<button type="submit" name="__action__" value="save" class="action">Save</button>' in html
    )
    assert '<button type="submit">Go</button>' in html
    assert '<a href="/back" role="button" class="cancel">Back</a>' in html
    assert (
        '<div class="errors-global" role="alert"><ul class="errors"><li>boom</li></ul></div>'
        in html
    )
    assert F.Model(F.Break(), F.HR()).render().count("<") >= 4
    assert "<hr>" in F.Model(F.HR()).render()
    assert 'class="break"' in F.Model(F.Break()).render()


def test_cancel_without_href_never_submits() -> None:
    html = F.Model(F.Cancel()).render()
    assert '<button type="button" class="cancel" data-action="cancel">Cancel</button>' in html


def test_labels_values_descriptions_are_escaped() -> None:
    form = F.Model(
        F.InputText("t", EVIL, value=EVIL, description=EVIL, placeholder=EVIL),
        F.InputArea("a", EVIL, value=EVIL),
        F.Select("s", EVIL, option=[F.InputOption(EVIL, EVIL)]),
        F.Checkbox("c", EVIL, option=EVIL),
        F.Submit(EVIL),
        F.Action("go", EVIL, EVIL),
        F.Cancel(EVIL, href='javascript:"x"'),
    )
    html = form.render(errors={"t": [EVIL], "_global_": [EVIL], "unknown": [EVIL]})
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert 'value="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"' in html
    assert 'href="javascript:&quot;x&quot;"' in html  # escaped, an author's own href


def test_values_from_a_failed_post_are_escaped() -> None:
    form = F.Model(F.InputText("t"), F.InputList("l"), F.InputJSON("j"))
    html = form.render({"t": EVIL, "l": [EVIL, "b"], "j": EVIL})
    assert "<script>" not in html
    assert html.count("&lt;script&gt;") == 3


def test_markdown_is_rendered_and_sanitised() -> None:
    form = F.Model(
        F.Markdown(f"""
        # Head
        Some *text* {EVIL} <img src=x onerror=alert(1)>
        [link](javascript:alert(1)) and [ok](https://example.com)
        """)
    )
    html = form.render()
    assert "<h1>Head</h1>" in html and "<em>text</em>" in html
    assert "<script" not in html  # raw HTML in Markdown stays text
    assert "<img" not in html
    assert 'href="javascript' not in html
    assert '<a href="https://example.com" rel="noopener noreferrer">ok</a>' in html


def test_html_element_is_sanitised() -> None:
    html = F.Model(
        F.HTML(f'<p onclick="x()">hi <b>there</b>{EVIL}<a href="javascript:x()">a</a></p>')
    ).render()
    assert "<b>there</b>" in html
    assert "<script" not in html and "onclick" not in html and "javascript:" not in html


def test_browser_constraints(declared_form: F.Model) -> None:
    html = declared_form.render()
    name = _tag(html, "name")
    assert " required" in name and 'pattern="[a-z]+"' in name and 'minlength="2"' in name
    tasks = _tag(html, "tasks")
    assert 'min="1"' in tasks and 'max="500"' in tasks and 'value="25"' in tasks
    assert "step" not in tasks  # integers step by the browser's default of 1
    ratio = _tag(html, "ratio")
    assert 'step="0.1"' in ratio and 'min="0"' in ratio and 'max="1"' in ratio
    assert 'maxlength="100"' in _tag(html, "notes")
    day = _tag(html, "day")
    assert 'min="2024-01-01"' in day and 'max="2024-12-31"' in day
    assert 'min="08:00"' in _tag(html, "at")
    assert " required" in _tag(html, "agree")
    assert " checked" in _tag(html, "news")
    assert " multiple" in _tag(html, "docs")


def test_description_is_help_text_with_aria() -> None:
    html = F.Model(F.InputText("a.b", description="Helps")).render()
    assert 'aria-describedby="field-a-b-help"' in _tag(html, "a.b")
    assert '<small class="help" id="field-a-b-help">Helps</small>' in html
    assert F.field_id("a.b") == "field-a-b"


def test_errors_next_to_their_field_and_values_kept(declared_form: F.Model) -> None:
    posted = MultiDict([("name", "A1"), ("tasks", "900"), ("color", "r")])
    errors = {"name": ["must match pattern [a-z]+"], "tasks": ["must be <= 500"]}
    html = declared_form.render(posted, errors)
    field = _field(html, "tasks")
    assert 'value="900"' in field
    assert (
        '<ul class="errors" id="field-tasks-errors" role="alert"><li>must be &lt;= 500</li></ul>'
        in field
    )
    assert 'aria-invalid="true"' in _tag(html, "tasks")
    assert "field-tasks-errors" in _tag(html, "tasks")
    assert "has-error" in _field(html, "name")
    assert 'value="A1"' in _tag(html, "name")
    assert '<option value="r" selected>Red</option>' in html
    # An unchecked box is absent from a form post: it re-renders unchecked.
    assert " checked" not in _tag(html, "news")


def test_global_errors_go_to_the_top_without_an_errors_element() -> None:
    form = F.Model(F.InputText("a"), F.Submit())
    html = form.render(errors={"_global_": "whole form", "ghost": ["lost field"]})
    assert html.index("whole form") < html.index('name="a"')
    assert "<li>ghost: lost field</li>" in html


def test_secret_values_are_never_rendered() -> None:
    form = F.Model(F.InputPassword("pw", value="hunter2"))
    assert "hunter2" not in form.render()
    assert "zzz" not in form.render({"pw": "zzz"})


def test_csrf_only_when_given_and_action() -> None:
    form = F.Model(F.InputText("a"))
    assert "csrf_token" not in form.render()
    html = form.render(action="/run?x=1&y=2", csrf_token='t"k')
    assert '<input type="hidden" name="csrf_token" value="t&quot;k">' in html
    assert 'action="/run?x=1&amp;y=2"' in html
    assert "enctype" not in html


@pytest.mark.parametrize(
    ("value", "shown"),
    [(3.0, 'value="3"'), (2.5, 'value="2.5"'), (None, None)],
)
def test_number_values(value: float | None, shown: str | None) -> None:
    html = F.Model(F.InputNumber("n")).render({"n": value})
    if shown:
        assert shown in _tag(html, "n")
    else:
        assert "value=" not in _tag(html, "n")


def test_nested_values_and_select_by_typed_choice() -> None:
    form = F.Model(
        F.Fieldset("outer", [F.InputText("outer.inner")], "Outer"),
        F.Select("lvl", option=[F.InputOption("1", "One", choice=1), F.InputOption("2", choice=2)]),
    )
    html = form.render({"outer": {"inner": "deep"}, "lvl": 2})
    assert 'value="deep"' in _tag(html, "outer.inner")
    assert '<option value="2" selected>2</option>' in html
    assert "<fieldset" in html and "<legend>Outer</legend>" in html
