"""Entry points: every way to name one, how it is called, and every way it can be wrong."""

from __future__ import annotations

import asyncio
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, SecretStr

from hoist.errors import EntryPointError, ParamsValidationError, UserInputError
from hoist.plugins.action import BaseAction
from hoist.plugins.context import RuntimeContext
from hoist.plugins.decorators import action
from hoist.runs.sinks.memory import MemorySink
from hoist.services.entry import EntryPoint, resolve_entry_point
from hoist.services.tracer import Tracer, TracerMock

HERE = __name__  # "tests.services.test_entry": importable by name


async def execute(inputs: dict[str, Any], tracer: Tracer) -> dict[str, Any]:
    await tracer.markdown("working")
    return {"got": inputs, "fid": tracer.fid}


def sync_execute(inputs: dict[str, Any], tracer: Tracer) -> int:
    tracer.markdown_sync("sync")
    return len(inputs)


class Agent:
    @staticmethod
    def run(inputs: dict[str, Any]) -> str:
        return f"agent {inputs['x']}"

    async def __call__(self, inputs: dict[str, Any], tracer: Tracer) -> str:
        return "called"


agent = Agent()
NOT_CALLABLE = 42


class Params(BaseModel):
    count: int
    token: SecretStr = SecretStr("")


class Count(BaseAction[Params]):
    def execute(self) -> dict[str, int]:
        return {"count": self.params.count}


@action(params=Params)
def counted(params: Params, context: RuntimeContext) -> int:
    return params.count * 2


def _module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str) -> str:
    """A fresh importable module with ``source``; its (unique) name."""
    name = f"svc_entry_{uuid.uuid4().hex[:10]}"
    (tmp_path / f"{name}.py").write_text(source)
    monkeypatch.syspath_prepend(str(tmp_path))
    return name


# ---------------------------------------------------------------------- spec forms
def test_colon_spec_names_an_async_function() -> None:
    entry = resolve_entry_point(f"{HERE}:execute")
    assert isinstance(entry, EntryPoint)
    assert entry.target is execute
    assert entry.name == f"{HERE}:execute"
    assert entry.is_async and not entry.is_action
    tracer = TracerMock("run-1")
    assert asyncio.run(entry.call({"a": 1}, tracer)) == {"got": {"a": 1}, "fid": "run-1"}
    assert tracer.markdowns == ["working"]


def test_dotted_spec_resolves_to_the_same_entry_point_name() -> None:
    entry = resolve_entry_point(f"{HERE}.sync_execute")
    assert entry.target is sync_execute
    assert entry.name == f"{HERE}:sync_execute"
    assert not entry.is_async
    assert entry.call({"a": 1, "b": 2}, TracerMock()) == 2


def test_dotted_attribute_paths_in_both_forms() -> None:
    for spec in (f"{HERE}:Agent.run", f"{HERE}.Agent.run"):
        entry = resolve_entry_point(spec)
        assert entry.target is Agent.run
        assert entry.name == f"{HERE}:Agent.run"
        assert entry.call({"x": 3}, TracerMock()) == "agent 3"


def test_an_object_with_an_async_call_is_async() -> None:
    entry = resolve_entry_point(f"{HERE}:agent")
    assert entry.is_async
    assert asyncio.run(entry.call({}, TracerMock())) == "called"
    assert resolve_entry_point(Agent()).is_async


def test_callables_given_directly() -> None:
    entry = resolve_entry_point(execute)
    assert entry.is_async and entry.name == f"{HERE}:execute"
    assert resolve_entry_point(sync_execute).name == f"{HERE}:sync_execute"

    def local(inputs: dict[str, Any]) -> int:
        return 1

    made = resolve_entry_point(local)
    assert made.name is None  # a worker elsewhere could not import it
    assert made.label.endswith("local")
    assert made.call({}, TracerMock()) == 1
    lam = resolve_entry_point(lambda inputs, tracer: inputs["v"])
    assert lam.name is None and lam.call({"v": 5}, TracerMock()) == 5
    assert resolve_entry_point(made) is made


def test_a_string_is_resolved_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    name = _module(tmp_path, monkeypatch, "def execute(inputs):\n    return 'v1'\n")
    first = resolve_entry_point(f"{name}:execute")
    # The module gone from sys.modules and from disk: a second launch must not import.
    del sys.modules[name]
    (tmp_path / f"{name}.py").unlink()
    again = resolve_entry_point(f"{name}:execute")
    assert again is first
    assert again.call({}, TracerMock()) == "v1"


# ---------------------------------------------------------------------- how it is called
@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("def f(tracer, inputs):\n    return (inputs, tracer)", ("IN", "TR")),
        ("def f(inputs):\n    return inputs", "IN"),
        ("def f(*, tracer):\n    return tracer", "TR"),
        ("def f():\n    return 'none'", "none"),
        ("def f(data, t):\n    return (data, t)", ("IN", "TR")),
        ("def f(data):\n    return data", "IN"),
        ("def f(*args):\n    return args", ("IN", "TR")),
        ("def f(**kw):\n    return (kw['inputs'], kw['tracer'])", ("IN", "TR")),
        (
            "def f(inputs, tracer=None, extra=1):\n    return (inputs, tracer, extra)",
            ("IN", "TR", 1),
        ),
    ],
)
def test_inputs_and_tracer_are_passed_as_the_signature_asks(source: str, expected: Any) -> None:
    namespace: dict[str, Any] = {}
    exec(source, namespace)
    entry = resolve_entry_point(namespace["f"])
    assert entry.call("IN", "TR") == expected


def test_a_required_parameter_it_would_never_get_is_refused() -> None:
    def needs_more(inputs: Any, tracer: Any, budget: int) -> None: ...

    def three(a: Any, b: Any, c: Any) -> None: ...

    for func, missing in ((needs_more, "'budget'"), (three, "'c'")):
        with pytest.raises(EntryPointError, match=missing) as info:
            resolve_entry_point(func)
        assert "called with 'inputs' and 'tracer' only" in info.value.reason


# ---------------------------------------------------------------------- actions
def test_an_action_class_takes_its_params_from_the_inputs() -> None:
    entry = resolve_entry_point(Count)
    assert entry.is_action and not entry.is_async
    assert entry.target is Count
    assert entry.name == f"{HERE}:Count"
    with pytest.raises(ParamsValidationError) as info:
        entry.validate_inputs({"count": "many"})
    assert "count" in info.value.field_errors
    given = entry.validate_inputs({"count": "3", "token": "s3cret"})
    assert given == {"count": 3, "token": "s3cret"}  # what the action receives
    assert entry.recorded_inputs(given) == {"count": 3, "token": "**********"}
    ctx = RuntimeContext("run-a", MemorySink())
    assert entry.call(given, Tracer(ctx)) == {"count": 3}


def test_an_action_function_by_name() -> None:
    entry = resolve_entry_point(f"{HERE}:counted")
    assert entry.is_action
    assert entry.name == f"{HERE}:counted"
    with pytest.raises(ParamsValidationError, match="count"):
        entry.validate_inputs({})
    ctx = RuntimeContext("run-b", MemorySink())
    assert entry.call({"count": 4}, Tracer(ctx)) == 8


def test_plain_inputs_pass_unchanged() -> None:
    entry = resolve_entry_point(execute)
    assert entry.validate_inputs({"x": [1]}) == {"x": [1]}
    assert entry.validate_inputs(None) == {}
    assert entry.recorded_inputs({"x": 1}) == {"x": 1}


# ---------------------------------------------------------------------- errors
def test_an_unknown_module() -> None:
    with pytest.raises(EntryPointError) as info:
        resolve_entry_point("no_such_module_svc:execute")
    assert info.value.reason == "module 'no_such_module_svc' not found"
    assert info.value.entry_point == "no_such_module_svc:execute"
    assert isinstance(info.value, UserInputError)
    assert type(info.value) is EntryPointError  # the public name is what a run records
    with pytest.raises(EntryPointError, match="module 'no_such_module_svc' not found"):
        resolve_entry_point("no_such_module_svc.sub.execute")


def test_an_unknown_submodule_of_a_package() -> None:
    with pytest.raises(EntryPointError, match=r"module 'tests\.services\.nope' not found"):
        resolve_entry_point("tests.services.nope:execute")
    with pytest.raises(EntryPointError) as info:
        resolve_entry_point("tests.services.nope.execute")
    assert "module 'tests.services.nope' not found" in info.value.reason
    assert "has no attribute 'nope'" in info.value.reason


def test_a_missing_attribute_suggests_close_names() -> None:
    with pytest.raises(EntryPointError) as info:
        resolve_entry_point(f"{HERE}:exeucte")
    reason = info.value.reason
    assert f"module '{HERE}' has no attribute 'exeucte'" in reason
    assert "did you mean 'execute'" in reason
    with pytest.raises(EntryPointError, match="has no attribute 'rn'; did you mean 'run'"):
        resolve_entry_point(f"{HERE}:Agent.rn")
    with pytest.raises(EntryPointError, match=r"has no attribute 'zzz_unlike'$"):
        resolve_entry_point(f"{HERE}.zzz_unlike")


def test_not_callable() -> None:
    with pytest.raises(EntryPointError, match="a int is not callable"):
        resolve_entry_point(f"{HERE}:NOT_CALLABLE")
    with pytest.raises(EntryPointError, match="not callable"):
        resolve_entry_point(42)
    with pytest.raises(EntryPointError, match="Agent is a class"):
        resolve_entry_point(f"{HERE}:Agent")


def test_a_module_that_fails_to_import(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    broken = _module(tmp_path, monkeypatch, "raise RuntimeError('boom at import')\n")
    with pytest.raises(EntryPointError) as info:
        resolve_entry_point(f"{broken}:execute")
    assert info.value.reason == f"module '{broken}' failed to import: RuntimeError: boom at import"
    # A dependency it lacks is its failure, not "module not found" for the module itself.
    needy = _module(tmp_path, monkeypatch, "import no_such_dependency_svc\n")
    with pytest.raises(EntryPointError) as info:
        resolve_entry_point(f"{needy}.execute")
    assert f"module '{needy}' failed to import" in info.value.reason
    assert "no_such_dependency_svc" in info.value.reason


@pytest.mark.parametrize("spec", ["", "execute", "a:b:c", "mod:", ":obj", "bad name:x", "a..b"])
def test_malformed_strings(spec: str) -> None:
    with pytest.raises(EntryPointError, match=r"expected 'package\.module:object'"):
        resolve_entry_point(spec)
