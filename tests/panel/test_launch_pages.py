"""The plugins page and the launch form generated from an action's params model."""

from __future__ import annotations

import re

from hoist.runs.models import RunStatus
from tests.panel.conftest import Login, wait_status
from tests.server.conftest import LiveServer

FORM = "/plugins/paneltest/actions/count"


def _field(html: str, name: str) -> str:
    """The HTML of one field's block (label, input, help, errors)."""
    found = re.search(rf'<div class="field [^"]*" data-field="{re.escape(name)}">.*?</div>', html,
                      re.S)  # fmt: skip
    assert found, f"no field {name}"
    return found.group(0)


def test_plugins_page_lists_plugins_actions_and_descriptions(
    panel: LiveServer, login: Login
) -> None:
    http, _ = login("viewer")
    page = http.get("/plugins").text
    assert "Panel Test" in page and "Simulated Training" in page
    assert "Actions for the <strong>panel</strong> tests" in page
    assert f'href="{FORM}"' in page
    assert 'href="/plugins/sim_train/actions/train"' in page
    assert "Train a logistic-regression model" in page
    assert "train_flow" in page


def test_launch_form_is_generated_from_the_params_model(panel: LiveServer, login: Login) -> None:
    http, token = login("operator")
    page = http.get("/plugins/sim_train/actions/train").text
    assert f'name="csrf_token" value="{token}"' in page
    epochs = _field(page, "epochs")
    assert 'type="number"' in epochs and 'min="1"' in epochs and 'max="1000"' in epochs
    assert 'value="20"' in epochs and "Passes over the data" in epochs
    assert 'data-action="cancel"' in page and '<button type="submit">Launch</button>' in page


def test_invalid_inputs_come_back_next_to_their_fields(panel: LiveServer, login: Login) -> None:
    http, token = login("operator")
    response = http.post(FORM, data={"csrf_token": token, "steps": "0", "delay": "soon",
                                     "label": "two words"})  # fmt: skip
    assert response.status_code == 422
    html = response.text
    steps = _field(html, "steps")
    assert "has-error" in steps and 'aria-invalid="true"' in steps and 'value="0"' in steps
    assert "must be &gt;= 1" in steps or "greater than or equal to 1" in steps
    assert "must be a number" in _field(html, "delay")
    label = _field(html, "label")
    assert "must not contain spaces" in label and 'value="two words"' in label
    assert not panel.state.store.list_runs()  # nothing started


def test_a_valid_form_launches_and_redirects_to_the_run(panel: LiveServer, login: Login) -> None:
    http, token = login("operator")
    response = http.post(FORM, data={"csrf_token": token, "steps": "3", "delay": "0",
                                     "label": "ok"})  # fmt: skip
    assert response.status_code == 303
    location = response.headers["location"]
    assert re.fullmatch(r"/runs/[0-9a-f]{24}", location)
    run = wait_status(panel, location.rsplit("/", 1)[-1], RunStatus.SUCCEEDED)
    assert run.params == {"steps": 3, "delay": 0.0, "label": "ok"}
    assert run.result == {"counted": 3, "label": "ok"}
    page = http.get(location).text
    assert "&#34;counted&#34;: 3" in page and 'value="100.0"' in page


def test_viewers_see_the_form_disabled_and_cannot_post(panel: LiveServer, login: Login) -> None:
    http, token = login("viewer")
    page = http.get(FORM)
    assert page.status_code == 200
    assert "<fieldset disabled" in page.text and "operator role" in page.text
    refused = http.post(FORM, data={"csrf_token": token, "steps": "1", "label": "x"})
    assert refused.status_code == 403
    assert "text/html" in refused.headers["content-type"]
    assert not panel.state.store.list_runs()
