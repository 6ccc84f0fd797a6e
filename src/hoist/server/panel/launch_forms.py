"""What the panel launches and with which form: an action (its params model) or a
configured pipeline (its first action's params model), the executor modes this server
offers, and a run's own target and params for "Run again".

Modes: ``local`` always. ``task`` and ``job`` run on Ray; the panel offers them only when
the server is configured with a Ray cluster (``ray_address``, ``HOIST_RAY_ADDRESS``) and
Ray is importable. Without a configured cluster a task or job would start a private Ray
inside the web server's process on a click, which the panel does not do (the API and the
CLI still can). The posted choice is checked here again, never trusted from the form.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from hoist import forms as F
from hoist.errors import ParamsValidationError, UserInputError
from hoist.executors.modes import resolve_mode
from hoist.forms.markup import render_markdown
from hoist.plugins.discovery import PluginDefinition
from hoist.plugins.invoke import secret_fields
from hoist.runs.models import Run, RunKind
from hoist.server.catalog import describe_action, describe_plugin
from hoist.settings import Settings

__all__ = [
    "MODE_FIELD",
    "LaunchTarget",
    "allowed_modes",
    "carried_params",
    "launch_target",
    "rerun_names",
    "rerun_target",
    "split_mode",
]

MODE_FIELD = "_mode"
"""The form field of the executor mode (no params model field can start with ``_``)."""
_RAY_MODES = ("task", "job")


def allowed_modes(settings: Settings) -> tuple[str, ...]:
    """The modes the panel offers: ``local``, and ``task``/``job`` when the server has a
    Ray cluster configured and Ray is importable."""
    ray = settings.ray_address is not None and importlib.util.find_spec("ray") is not None
    return ("local", *_RAY_MODES) if ray else ("local",)


def _mode_help(settings: Settings, modes: tuple[str, ...]) -> str:
    if "task" in modes:
        return (
            f"local: in the server's process. task: a Ray actor on {settings.ray_address}. "
            "job: a Ray job there (its own process and environment). Default: the "
            "action's method: in its config.yaml, else local."
        )
    return (
        "local: in the server's process. Task and job modes run on Ray: the panel "
        "offers them when the server is configured with a Ray cluster "
        "(HOIST_RAY_ADDRESS) and Ray is installed; this server has none."
    )


@dataclass
class LaunchTarget:
    """An action or a configured pipeline of a plugin, with its launch form.

    Attributes:
        plugin: the plugin.
        action: the action's name (``None`` for a pipeline).
        pipeline: the pipeline's name (``None`` for an action).
        params: the params model the form is built from (a pipeline: its first action's).
        first: a pipeline's first node key (its errors come back as ``first.field``).
        info: what the page shows (title, description, plugin...).
    """

    plugin: PluginDefinition
    action: str | None
    pipeline: str | None
    params: type[BaseModel]
    first: str | None
    info: dict[str, Any]

    @property
    def url(self) -> str:
        """The launch form's URL (where it posts)."""
        kind, name = ("actions", self.action) if self.action else ("pipelines", self.pipeline)
        return f"/plugins/{self.plugin.code}/{kind}/{name}"

    @property
    def names(self) -> tuple[str, str | None, str | None]:
        """``(plugin, action, pipeline)``, as :func:`rerun_names` says them of a run."""
        return self.plugin.code, self.action, self.pipeline

    @property
    def has_secrets(self) -> bool:
        """Whether a field is secret (masked in a run's record: it cannot be replayed)."""
        return any(isinstance(f, F.InputPassword) for f in F.form_for(self.params).fields())

    def form(self, settings: Settings) -> F.Model:
        """The form: the params' inputs, the mode choice, Launch and Cancel."""
        modes = allowed_modes(settings)
        default = resolve_mode(None, self.plugin, self.action)
        choice = F.Select(
            MODE_FIELD, label="Run in", option=[F.InputOption(m, m) for m in modes],
            nullable=True, placeholder=f"Default ({default})",
            description=_mode_help(settings, modes),
        )  # fmt: skip
        generated = F.form_for(self.params, submit=None)
        return F.Model(
            *generated.elements, choice, F.Submit("Launch"), F.Cancel("Cancel"),
            params=self.params,
        )  # fmt: skip

    def validate(
        self, data: Mapping[str, Any], settings: Settings
    ) -> tuple[dict[str, Any], str | None]:
        """The posted form's params and mode.

        Raises:
            ParamsValidationError: invalid params or a mode this server does not offer
                (every failing field named).
        """
        data, mode = split_mode(data)
        errors: dict[str, list[str]] = {}
        if mode is not None and mode not in allowed_modes(settings):
            errors[MODE_FIELD] = [f"this server does not offer {mode!r} mode from the panel"]
        try:
            params = F.form_for(self.params, submit=None).validate(data, form=True)
        except ParamsValidationError as exc:
            errors.update(exc.field_errors)
            params = {}
        if errors:
            raise ParamsValidationError(errors)
        return params, mode

    def form_errors(self, errors: Mapping[str, list[str]]) -> dict[str, list[str]]:
        """The launcher's errors keyed as the form's fields (a pipeline's first node's
        ``first.field`` becomes ``field``)."""
        if self.first is None:
            return dict(errors)
        prefix = f"{self.first}."
        return {k.removeprefix(prefix): v for k, v in errors.items()}


def split_mode(data: Mapping[str, Any]) -> tuple[dict[str, Any], str | None]:
    """A posted form without its mode field, and the mode (``None``: the default)."""
    items = data.multi_items() if hasattr(data, "multi_items") else list(data.items())
    rest: dict[str, Any] = {}
    mode: str | None = None
    for key, value in items:
        if key == MODE_FIELD:
            mode = str(value) or None
        elif key in rest:
            previous = rest[key]
            rest[key] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            rest[key] = value
    return rest, mode


def launch_target(
    plugin: PluginDefinition, action: str | None = None, pipeline: str | None = None
) -> LaunchTarget:
    """The action ``action`` or the pipeline ``pipeline`` of ``plugin``.

    Raises:
        ActionNotFoundError, PipelineNotFoundError: no such name.
        ConfigError: the pipeline's definition is wrong.
    """
    if action is not None:
        info = describe_action(plugin, action)
        info["plugin"] = describe_plugin(plugin)
        info["description_html"] = render_markdown(info["description"] or "")
        info["pipeline"] = None
        params = plugin.load_action(action).params_model
        return LaunchTarget(plugin, action, None, params, None, info)
    from hoist.pipelines.config import pipeline_from_config

    assert pipeline is not None
    built = pipeline_from_config(plugin, pipeline)
    root = built.roots[0]
    spec = (plugin.config.pipelines or {}).get(pipeline) or {}
    description = str(spec.get("description", "")) if isinstance(spec, dict) else ""
    info = {
        "title": pipeline,
        "plugin": describe_plugin(plugin),
        "description_html": render_markdown(description),
        "pipeline": {"name": pipeline, "first": root.key,
                     "steps": [n.key for n in built.nodes]},
    }  # fmt: skip
    return LaunchTarget(plugin, None, pipeline, root.action.params_model, root.key, info)


def rerun_names(run: Run) -> tuple[str, str | None, str | None] | None:
    """``(plugin, action, pipeline)`` a run can be launched again as, else ``None``."""
    if not run.plugin:
        return None
    if run.kind == RunKind.ACTION and run.action:
        return run.plugin, run.action, None
    pipeline = run.meta.get("pipeline")
    if run.kind == RunKind.PIPELINE and isinstance(pipeline, str):
        return run.plugin, None, pipeline
    return None


def carried_params(run: Run, target: LaunchTarget) -> dict[str, Any]:
    """The params of ``run`` that the form of ``target`` does not show (a pipeline's later
    actions' own, given through the API or the CLI), secrets left out: an edited re-run
    keeps them. Empty when ``run`` did not run ``target``."""
    if rerun_names(run) != target.names:
        return {}
    shown = set(target.params.model_fields)
    secret = set(run.meta.get("secret_params") or ()) | secret_fields(target.params)
    return {k: v for k, v in run.params.items() if k not in shown and k not in secret}


def rerun_target(run: Run, get_plugin: Any) -> LaunchTarget:
    """The target ``run`` ran (its plugin from ``get_plugin(code)``: the catalog).

    Raises:
        UserInputError: a service or deployment run, or a pipeline built in code.
        PluginNotFoundError, ActionNotFoundError, PipelineNotFoundError: gone since.
    """
    names = rerun_names(run)
    if names is None:
        raise UserInputError(
            f"run {run.id} cannot be run again from the panel: only action runs and "
            "pipelines declared in a plugin's config.yaml can"
        )
    code, action, pipeline = names
    return launch_target(get_plugin(code), action, pipeline)
