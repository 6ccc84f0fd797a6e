"""A pipeline's secret params: never in its record, given again on resume."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, SecretStr

from hoist.errors import ActionFailedError, ResumeError
from hoist.executors.local import LocalExecutor
from hoist.pipelines import ActionPipeline
from hoist.plugins.action import BaseAction
from hoist.plugins.invoke import SECRET_MASK, secret_fields
from hoist.runs.models import RunKind
from hoist.runs.reader import RunFilter
from hoist.runs.runtime import Runtime

KEY = "sk-live-0123456789"


class FetchParams(BaseModel):
    api_key: SecretStr
    gate: str


class Fetch(BaseAction[FetchParams]):
    """Uses the key; fails until the gate file exists (so the run can be resumed)."""

    def execute(self) -> dict[str, str]:
        if not Path(self.params.gate).exists():
            raise RuntimeError("gate closed")
        return {"used": self.params.api_key.get_secret_value()[-4:]}


class SumParams(BaseModel):
    used: str
    token: SecretStr | None = None


class Report(BaseAction[SumParams]):
    def execute(self) -> dict[str, str]:
        return {"report": self.params.used}


def test_secret_fields_of_a_params_model() -> None:
    assert secret_fields(FetchParams) == {"api_key"}
    assert secret_fields(SumParams) == {"token"}


def test_a_pipeline_records_secrets_masked_and_resume_asks_for_them(
    runtime: Runtime, tmp_path: Path
) -> None:
    executor = LocalExecutor(runtime=runtime)
    gate = tmp_path / "gate"
    pipeline = ActionPipeline([Fetch, Report], name="keyed")
    with pytest.raises(ActionFailedError):
        pipeline.execute({"api_key": KEY, "gate": str(gate)}, executor=executor)
    [failed] = runtime.store.list_runs(RunFilter(kind=str(RunKind.PIPELINE)))
    assert failed.params == {"api_key": SECRET_MASK, "gate": str(gate)}
    assert failed.meta["secret_params"] == ["api_key"]
    events = runtime.store.events(failed.id)
    assert KEY not in repr(failed) and all(KEY not in repr(e) for e in events)

    gate.touch()
    with pytest.raises(ResumeError, match="give api_key again"):
        pipeline.execute(resume_from=failed.id, executor=executor)
    result = pipeline.execute({"api_key": KEY, "gate": str(gate)}, resume_from=failed.id,
                              executor=executor)  # fmt: skip
    assert result["report"] == KEY[-4:]  # the real key, not the mask, reached the action
    assert KEY not in repr(result)
    with pytest.raises(ResumeError, match="params differ"):  # other params still checked
        pipeline.execute({"api_key": KEY, "gate": "elsewhere"}, resume_from=failed.id,
                         executor=executor)  # fmt: skip
