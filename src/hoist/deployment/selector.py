"""Choosing a deployment strategy: facts read from the code, rules read from each
strategy's ``config.yaml`` ``select:`` section, and optionally an LLM asked through an
OpenAI-compatible chat endpoint. Whatever chooses, the choice must be an allowed
strategy: an unknown or disallowed answer is an error, never a fallback.

A strategy's ``select:`` section (every key optional; a strategy without one is never
chosen automatically, only by name)::

    select:
      priority: 20        # the highest-priority matching strategy wins (ties: by name)
      needs_gpu: null     # true: only when a GPU is requested; false: never then
      http_app: false     # true: only for an ASGI/ServeAPI app; false: never for one
      agent_graph: null   # true: only for an agent graph (langgraph); false: never
      frameworks: []      # non-empty: only when the code imports one of these
      local_only: true    # serves this machine only (``select(local_only=True)`` wants it)
"""

from __future__ import annotations

import ast
import json
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from hoist.deployment.models import DeployConfig, DeploymentSetting
from hoist.deployment.registry import StrategyRegistry
from hoist.errors import (
    DeploymentError,
    MissingExtraError,
    StrategyNotFoundError,
)
from hoist.settings import Settings, variable_of

__all__ = ["CodeFacts", "LLMConfig", "SelectRules", "gather_facts", "select"]

_APP_CLASSES = frozenset({"ServeAPI", "FastAPI", "Starlette"})
_GRAPH_MODULES = frozenset({"langgraph"})
_STDLIB = frozenset(sys.stdlib_module_names) | {"__future__"}


class SelectRules(BaseModel):
    """A strategy's ``select:`` section (see the module docstring)."""

    model_config = ConfigDict(extra="forbid")

    priority: int = 0
    needs_gpu: bool | None = None
    http_app: bool | None = None
    agent_graph: bool | None = None
    frameworks: list[str] = []
    local_only: bool = False


@dataclass(frozen=True)
class CodeFacts:
    """What the selector knows about the code (read by parsing, never importing it)."""

    gpu: bool = False
    http_app: bool = False
    predict: bool = False
    plugin_action: bool = False
    agent_graph: bool = False
    frameworks: tuple[str, ...] = ()
    files: tuple[str, ...] = field(default=(), repr=False)

    def describe(self) -> str:
        """One line: ``gpu=False, http_app=True, ...``."""
        return (
            f"gpu={self.gpu}, http_app={self.http_app}, predict={self.predict}, "
            f"plugin_action={self.plugin_action}, agent_graph={self.agent_graph}, "
            f"frameworks=[{', '.join(self.frameworks)}]"
        )


def gather_facts(config: DeployConfig) -> CodeFacts:
    """Read the facts from ``config`` and its code folder's ``.py`` files (parsed only).

    Raises:
        DeploymentError: ``code_path`` is given but is not a folder.
    """
    imports: set[str] = set()
    app = config.app is not None
    predict = False
    files: list[str] = []
    if config.code_path:
        root = Path(config.code_path)
        if not root.is_dir():
            raise DeploymentError(f"code_path {root} is not a folder", strategy="auto")
        for path in sorted(root.rglob("*.py")):
            if any(part.startswith(".") or part == "__pycache__" for part in path.parts):
                continue
            rel = path.relative_to(root).as_posix()
            files.append(rel)
            try:
                tree = ast.parse(path.read_text(encoding="utf-8", errors="replace"))
            except SyntaxError:
                continue  # the adapter's syntax check names it
            imports |= _imports(tree)
            app = app or _defines_app(tree)
            if rel == f"{config.module.replace('.', '/')}.py":
                predict = _defines(tree, config.callable)
    gpu = config.resources.get("gpu")
    return CodeFacts(
        gpu=bool(gpu) and gpu not in ("0", "false", "False"),
        http_app=app,
        predict=predict,
        plugin_action=config.action is not None,
        agent_graph=bool(imports & _GRAPH_MODULES),
        frameworks=tuple(sorted(imports - _STDLIB)),
        files=tuple(files),
    )


def rules_for(registry: StrategyRegistry, name: str) -> SelectRules | None:
    """The strategy's ``select:`` rules, ``None`` when it has none.

    Raises:
        StrategyDefinitionError: the section is malformed (naming the key).
    """
    return registry.config_section(name, "select", SelectRules)


def _mismatch(rules: SelectRules, facts: CodeFacts, local_only: bool) -> str | None:
    for key, fact in (("needs_gpu", facts.gpu), ("http_app", facts.http_app),
                      ("agent_graph", facts.agent_graph)):  # fmt: skip
        wanted = getattr(rules, key)
        if wanted is not None and wanted != fact:
            return f"{key}={wanted} but the code has {fact}"
    if rules.frameworks and not set(rules.frameworks) & set(facts.frameworks):
        return f"frameworks={rules.frameworks} not imported"
    if local_only and not rules.local_only:
        return "not local_only"
    return None


def select(
    config: DeployConfig,
    allowed: Iterable[str] | None = None,
    *,
    local_only: bool = False,
    llm: LLMConfig | None = None,
    registry: StrategyRegistry | None = None,
) -> DeploymentSetting:
    """Choose a strategy for ``config`` among ``allowed`` (all when ``None``).

    With ``llm`` the model chooses (its answer validated); otherwise the rules do.

    Raises:
        StrategyNotFoundError: ``allowed`` or the LLM's answer names an unknown or
            disallowed strategy.
        DeploymentError: no strategy's rules match (each one's reason listed), or the
            LLM endpoint failed or answered nonsense.
        StrategyDefinitionError: a strategy's ``select:`` section is malformed.
    """
    registry = registry or StrategyRegistry.get()
    names = registry.list_strategies(allowed)
    facts = gather_facts(config)
    if llm is not None:
        return _ask_llm(llm, registry, names, facts)
    matched: list[tuple[int, str]] = []
    notes: list[str] = []
    for name in names:
        rules = rules_for(registry, name)
        reason = "no select rules" if rules is None else _mismatch(rules, facts, local_only)
        if rules is None or reason is not None:
            notes.append(f"{name}: rejected ({reason})")
        else:
            matched.append((rules.priority, name))
            notes.append(f"{name}: matched (priority {rules.priority})")
    if not matched:
        raise DeploymentError(
            f"no strategy matches the code ({facts.describe()}): " + "; ".join(notes),
            strategy="auto",
        )
    priority, chosen = sorted(matched, key=lambda m: (-m[0], m[1]))[0]
    reasoning = (f"facts: {facts.describe()}; rules: " + "; ".join(notes)
                 + f"; chose {chosen}: highest priority ({priority})")  # fmt: skip
    return _setting(registry, chosen, reasoning)


def _setting(registry: StrategyRegistry, name: str, reasoning: str) -> DeploymentSetting:
    strategy = registry.get_strategy(name)
    return DeploymentSetting(strategy=name, provider=strategy.provider,
                             resources=dict(strategy.resources),
                             interface=strategy.interface, reasoning=reasoning)  # fmt: skip


# -- the LLM ------------------------------------------------------------------------------


@dataclass(frozen=True)
class LLMConfig:
    """An OpenAI-compatible chat-completions endpoint.

    Attributes:
        base_url: e.g. ``https://api.openai.com/v1`` (``/chat/completions`` is appended).
        model: the model's name.
        api_key: sent as a bearer token when given.
        timeout: seconds for the request.
    """

    base_url: str
    model: str
    api_key: str | None = field(default=None, repr=False)
    timeout: float = 60.0

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> LLMConfig | None:
        """The endpoint ``settings`` name (``Settings.from_env()`` by default: see its
        ``llm_*`` fields); ``None`` when no base URL is set.

        Raises:
            DeploymentError: a base URL without a model.
        """
        settings = Settings.from_env() if settings is None else settings
        if not settings.llm_base_url:
            return None
        if not settings.llm_model:
            raise DeploymentError(
                f"{variable_of('llm_base_url')} is set but {variable_of('llm_model')} is not",
                strategy="auto",
            )
        return cls(
            base_url=settings.llm_base_url, model=settings.llm_model, api_key=settings.llm_api_key
        )


def _ask_llm(
    llm: LLMConfig, registry: StrategyRegistry, names: list[str], facts: CodeFacts
) -> DeploymentSetting:
    try:
        import httpx
    except ImportError:
        raise MissingExtraError("server", "httpx") from None
    guides = "\n\n".join(f"# Strategy `{n}`\n{registry.get_selector_instruction(n).strip()}"
                         for n in names)  # fmt: skip
    messages = [
        {"role": "system", "content": "You choose a deployment strategy. Answer only with a "
         'JSON object {"strategy": NAME, "reasoning": TEXT}, NAME one of: ' + ", ".join(names)
         + "\n\n" + guides},
        {"role": "user", "content": f"The code: {facts.describe()}; files: "
         + ", ".join(facts.files[:200])},
    ]  # fmt: skip
    url = llm.base_url.rstrip("/") + "/chat/completions"
    headers = {"Authorization": f"Bearer {llm.api_key}"} if llm.api_key else {}
    body = {"model": llm.model, "messages": messages, "temperature": 0}
    try:
        response = httpx.post(url, json=body, headers=headers, timeout=llm.timeout)
        response.raise_for_status()
        content = response.json()["choices"][0]["message"]["content"]
    except httpx.HTTPError as exc:
        raise DeploymentError(f"LLM selector at {url} failed: {type(exc).__name__}: {exc}",
                              strategy="auto") from exc  # fmt: skip
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise DeploymentError(f"LLM selector at {url} answered no chat completion: {exc!r}",
                              strategy="auto") from exc  # fmt: skip
    name, reasoning = _parse_answer(str(content))
    if name not in names:
        raise StrategyNotFoundError(name, names, where="the allowed strategies (LLM's answer)")
    return _setting(registry, name, f"LLM {llm.model}: {reasoning} (facts: {facts.describe()})")


def _parse_answer(content: str) -> tuple[str, str]:
    text = content.strip().removeprefix("```json").removeprefix("```").removesuffix("```")
    try:
        answer: Any = json.loads(text)
    except ValueError:
        return text.strip().strip("`'\"").strip(), ""
    if isinstance(answer, dict) and isinstance(answer.get("strategy"), str):
        return answer["strategy"].strip(), str(answer.get("reasoning", ""))
    raise DeploymentError(f"LLM selector answered without a strategy: {content[:200]!r}",
                          strategy="auto")  # fmt: skip


# -- parsing helpers ----------------------------------------------------------------------


def _imports(tree: ast.Module) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module.split(".")[0])
    return found


def _defines_app(tree: ast.Module) -> bool:
    for node in tree.body:
        if isinstance(node, ast.Assign | ast.AnnAssign) and isinstance(node.value, ast.Call):
            func = node.value.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if called in _APP_CLASSES:
                return True
    return False


def _defines(tree: ast.Module, name: str) -> bool:
    return any(
        isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == name
        for node in tree.body
    )
