"""Adapting code to a strategy: the strategy's templates rendered into a COPY of the code
(the original is never touched), then deterministic checks before any runner is built.

A strategy's ``config.yaml`` ``adapter:`` section (every key optional)::

    adapter:
      required_files: ["{module}.py"]  # must exist in the copy ({module}, {callable} filled)
      templates: templates             # folder of ``*.tmpl`` string.Template files
      smoke_inputs: {x: 1}             # the smoke call's inputs (null: no smoke call)

The checks, in order (the first failure stops them): ``required_files``, ``syntax`` (every
``.py``), ``import`` (the entry module and its callable or app, in a subprocess with the
deploy's ``env_vars``, run by the engine's Python when the code runs in an engine's
environment: `Runner.engine_python`) and ``smoke`` (one call with the sample inputs, in
that subprocess). A runner with an ``adapter_check`` classmethod (``modal``, ``docker``)
checks its generated files its own way instead of ``import`` and ``smoke``.
"""

from __future__ import annotations

import json
import os
import shutil
import string
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from hoist.deployment.factory import runner_kwargs
from hoist.deployment.models import AdaptationResult, DeployConfig, DeploymentSetting
from hoist.deployment.registry import StrategyRegistry
from hoist.errors import AdaptationError, DeploymentError, StrategyDefinitionError

__all__ = ["AdapterRules", "adapt"]

_IGNORED = shutil.ignore_patterns(".git", "__pycache__", ".venv", "*.pyc", ".mypy_cache")


class AdapterRules(BaseModel):
    """A strategy's ``adapter:`` section (see the module docstring)."""

    model_config = ConfigDict(extra="forbid")

    required_files: list[str] = []
    templates: str | None = None
    smoke_inputs: dict[str, Any] | None = None


def adapt(
    config: DeployConfig,
    strategy: str | DeploymentSetting,
    *,
    workdir: Path | str | None = None,
    sample_inputs: Mapping[str, Any] | None = None,
    registry: StrategyRegistry | None = None,
    raise_on_error: bool = True,
) -> AdaptationResult:
    """Copy ``config.code_path`` into ``workdir`` (a new temporary folder by default),
    render the strategy's templates into the copy and validate it.

    Args:
        config: what to deploy (``code_path`` is required).
        strategy: the strategy's name or the selector's `DeploymentSetting`.
        workdir: where the copy goes (as ``workdir/<name>``; it must not exist yet).
        sample_inputs: the smoke call's inputs (instead of the strategy's ``smoke_inputs``).
        raise_on_error: raise on the first failed check (else return it in the result).

    Raises:
        AdaptationError: a check failed (naming the check and the file).
        StrategyNotFoundError / StrategyDefinitionError: unknown strategy, bad section.
        DeploymentError: no ``code_path``, or the copy's destination already exists.
    """
    registry = registry or StrategyRegistry.get()
    setting = strategy if isinstance(strategy, DeploymentSetting) else None
    name = setting.strategy if setting else str(strategy)
    rules = _rules(registry, name)
    if not config.code_path or not Path(config.code_path).is_dir():
        raise DeploymentError(f"adapt needs a code folder, got {config.code_path!r}",
                              strategy=name)  # fmt: skip
    root = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="hoist-adapt-"))
    target = root / config.display_name()
    if target.exists():
        raise DeploymentError(f"adapt: {target} already exists", strategy=name)
    shutil.copytree(config.code_path, target, ignore=_IGNORED)
    module, attr = _entry(config)
    values = {"name": config.display_name(), "strategy": name, "module": module,
              "callable": attr, "target": config.action or f"{module}:{attr}"}  # fmt: skip
    generated = _render(registry, name, rules, target, values)
    run_interface = {**registry.get_default_run_interface(name), "module": module,
                     "callable": config.callable}  # fmt: skip
    if config.app:
        run_interface["app"] = config.app
    if config.action:
        run_interface["action"] = config.action
    result = AdaptationResult(success=True, adapted_path=str(target), run_interface=run_interface,
                              setting=setting, files_generated=generated)  # fmt: skip
    inputs = dict(sample_inputs) if sample_inputs is not None else rules.smoke_inputs
    try:
        _check_required(name, rules, target, config, module, attr, result)
        _check_syntax(name, target, result)
        _check_in_its_environment(registry, name, target, config, module, attr, inputs, result)
    except AdaptationError as exc:
        result.success = False
        result.error = str(exc)
        result.errors.append(str(exc))
        if raise_on_error:
            raise
    return result


def _rules(registry: StrategyRegistry, name: str) -> AdapterRules:
    return registry.config_section(name, "adapter", AdapterRules) or AdapterRules()


def _entry(config: DeployConfig) -> tuple[str, str]:
    if config.app:
        module, _, attr = config.app.partition(":")
        return module, attr or "app"
    return config.module, config.callable


def _render(registry: StrategyRegistry, name: str, rules: AdapterRules, target: Path,
            values: dict[str, str]) -> list[str]:  # fmt: skip
    if not rules.templates:
        return []
    folder = registry.definition(name).path / rules.templates
    if not folder.is_dir():
        raise StrategyDefinitionError(f"adapter.templates: no folder {folder}", strategy=name,
                                      path=str(folder), key="adapter.templates")  # fmt: skip
    quoted = {k: json.dumps(v) for k, v in values.items()}  # valid in YAML, JSON and Python
    generated = []
    for template in sorted(folder.rglob("*.tmpl")):
        rel = template.relative_to(folder).with_suffix("")
        out = target / rel
        if out.exists():
            continue  # the code's own file wins
        try:
            text = string.Template(template.read_text()).substitute(quoted)
        except (KeyError, ValueError) as exc:
            raise StrategyDefinitionError(
                f"template {rel}.tmpl: unknown placeholder {exc} (known: {', '.join(values)})",
                strategy=name, path=str(template), key="adapter.templates",
            ) from exc  # fmt: skip
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
        generated.append(rel.as_posix())
    return generated


def _check_required(name: str, rules: AdapterRules, target: Path, config: DeployConfig,
                    module: str, attr: str, result: AdaptationResult) -> None:  # fmt: skip
    if config.action:
        required = ["config.yaml"]
    else:
        fill = {"module": module.replace(".", "/"), "callable": attr}
        required = [pattern.format(**fill) for pattern in rules.required_files]
    for rel in required:
        if not (target / rel).is_file():
            raise AdaptationError(f"check required_files: {rel} is missing from {target}",
                                  strategy=name, check="required_files", path=rel)  # fmt: skip
    result.checks.append("required_files")


def _check_syntax(name: str, target: Path, result: AdaptationResult) -> None:
    for path in sorted(target.rglob("*.py")):
        rel = path.relative_to(target).as_posix()
        try:
            compile(path.read_bytes(), rel, "exec", dont_inherit=True)
        except SyntaxError as exc:
            raise AdaptationError(f"check syntax: {rel} line {exc.lineno}: {exc.msg}",
                                  strategy=name, check="syntax", path=rel) from exc  # fmt: skip
    result.checks.append("syntax")


_PROBE = """
import asyncio, importlib, inspect, json, sys
spec = json.loads(sys.stdin.read())
sys.path.insert(0, ".")
step = "import"
try:
    target = getattr(importlib.import_module(spec["module"]), spec["attr"])
    if not callable(target) and not callable(getattr(target, "invoke", None)):
        raise TypeError(f"{spec['module']}:{spec['attr']} is not callable (nor a graph)")
    step = "smoke"
    if spec["inputs"] is not None:
        out = target(spec["inputs"]) if callable(target) else target.invoke(spec["inputs"])
        if inspect.isawaitable(out):
            out = asyncio.run(out)
    print(json.dumps({"ok": True}))
except BaseException as exc:
    print(json.dumps({"ok": False, "step": step, "error": f"{type(exc).__name__}: {exc}"}))
"""


def _check_in_its_environment(registry: StrategyRegistry, name: str, target: Path,
                              config: DeployConfig, module: str, attr: str,
                              inputs: dict[str, Any] | None,
                              result: AdaptationResult) -> None:  # fmt: skip
    """The strategy's own check of the copy (its runner's ``adapter_check``: an engine's
    generated files, in the engine's environment) when it has one; else the import and
    smoke call, in the engine's Python (`Runner.engine_python`) or Hoist's."""
    runner_class = registry.get_runner_class(name)
    kwargs = runner_kwargs(registry, name, config)
    own_check = getattr(runner_class, "adapter_check", None)
    if own_check is not None:
        result.checks.extend(own_check(str(target), inputs, **kwargs))
        return
    engine_python = getattr(runner_class, "engine_python", None)
    python = engine_python(**kwargs) if engine_python is not None else None
    _check_import_and_smoke(name, target, config, module, attr, inputs, result,
                            python or sys.executable)  # fmt: skip


def _check_import_and_smoke(name: str, target: Path, config: DeployConfig, module: str,
                            attr: str, inputs: dict[str, Any] | None,
                            result: AdaptationResult, python: str) -> None:  # fmt: skip
    if config.action:
        return  # a plugin action is loaded and validated by the plugin system
    smoke = inputs if not config.app else None  # an app's smoke test is its /health
    env = {**os.environ, **config.env_vars, "PYTHONDONTWRITEBYTECODE": "1"}
    spec = json.dumps({"module": module, "attr": attr, "inputs": smoke})
    file = f"{module.replace('.', '/')}.py"
    try:
        done = subprocess.run([python, "-c", _PROBE], input=spec, cwd=target, env=env,
                              capture_output=True, text=True,
                              timeout=min(config.timeout, 120.0), check=False)  # fmt: skip
    except subprocess.TimeoutExpired as exc:
        raise AdaptationError(f"check import: {file} took over {exc.timeout:g} s",
                              strategy=name, check="import", path=file) from exc  # fmt: skip
    lines = done.stdout.strip().splitlines()
    try:
        answer = json.loads(lines[-1])
    except (IndexError, ValueError):
        answer = {"ok": False, "step": "import",
                  "error": f"exit {done.returncode}: {done.stderr.strip()[-500:]}"}  # fmt: skip
    if not answer["ok"]:
        step = answer["step"]
        raise AdaptationError(f"check {step}: {file} ({module}:{attr}): {answer['error']}",
                              strategy=name, check=step, path=file)  # fmt: skip
    result.checks.append("import")
    if smoke is not None:
        result.checks.append("smoke")
