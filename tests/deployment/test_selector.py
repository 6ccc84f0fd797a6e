"""The selector: facts from the code, rules from each strategy's ``select:`` section, and
an LLM over a real chat-completions server, whose answer must be an allowed strategy."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI, Request

from hoist.deployment import DeployConfig, DeploymentFactory, StrategyRegistry
from hoist.deployment.selector import LLMConfig, gather_facts, select
from hoist.errors import DeploymentError, StrategyDefinitionError, StrategyNotFoundError
from hoist.settings import Settings
from tests.deployment.conftest import SEED_CONFIG, write_strategy
from tests.waiting import wait_until

APP_MAIN = "from fastapi import FastAPI\n\napp = FastAPI()\n"
TORCH_MAIN = "import torch\n\ndef predict(inputs):\n    return inputs\n"


@pytest.fixture(scope="module")
def builtin() -> StrategyRegistry:
    return StrategyRegistry(entry_points=False)


def _code(tmp_path: Path, main: str) -> Path:
    folder = tmp_path / "code"
    folder.mkdir()
    (folder / "main.py").write_text(main)
    return folder


def test_a_callable_goes_to_local_with_the_facts_and_rules_explained(
    sample_code: Path, builtin: StrategyRegistry
) -> None:
    setting = select(DeployConfig(code_path=sample_code), registry=builtin)
    assert setting.strategy == "local"
    assert setting.provider == "local"
    assert "predict=True" in setting.reasoning
    assert "process: matched (priority 10)" in setting.reasoning
    assert "chose local" in setting.reasoning


def test_an_http_app_goes_to_process(tmp_path: Path, builtin: StrategyRegistry) -> None:
    setting = select(DeployConfig(code_path=_code(tmp_path, APP_MAIN)), registry=builtin)
    assert setting.strategy == "process"
    assert "local: rejected (http_app=False but the code has True)" in setting.reasoning
    assert select(DeployConfig(app="main:app"), registry=builtin).strategy == "process"


def test_allowed_restricts_and_an_unknown_allowed_name_is_an_error(
    sample_code: Path, builtin: StrategyRegistry
) -> None:
    config = DeployConfig(code_path=sample_code)
    assert select(config, ["process"], registry=builtin).strategy == "process"
    with pytest.raises(StrategyNotFoundError, match="paid_cloud"):
        select(config, ["paid_cloud"], registry=builtin)


def test_no_matching_strategy_is_an_error_listing_each_reason(
    tmp_path: Path, builtin: StrategyRegistry
) -> None:
    config = DeployConfig(code_path=_code(tmp_path, APP_MAIN))
    with pytest.raises(DeploymentError, match=r"local: rejected \(http_app=False"):
        select(config, ["local"], registry=builtin)


def test_facts_are_read_without_importing_the_code(tmp_path: Path) -> None:
    folder = _code(tmp_path, TORCH_MAIN + "raise SystemExit('imported!')\n")
    (folder / "graph.py").write_text("from langgraph.graph import StateGraph\nimport os\n")
    (folder / "broken.py").write_text("def (:\n")
    facts = gather_facts(DeployConfig(code_path=folder, resources={"gpu": 1}))
    assert facts.frameworks == ("langgraph", "torch")  # no stdlib
    assert facts.agent_graph and facts.gpu and facts.predict and not facts.http_app
    with pytest.raises(DeploymentError, match="not a folder"):
        gather_facts(DeployConfig(code_path=tmp_path / "missing"))


def test_gpu_framework_and_priority_rules_from_a_user_strategy(tmp_path: Path) -> None:
    gpu_rules = "\nselect:\n  priority: 50\n  needs_gpu: true\n  frameworks: [torch]\n"
    write_strategy(tmp_path / "s", "gpu_box", config=SEED_CONFIG.replace(
        "my_strategy", "gpu_box") + gpu_rules)  # fmt: skip
    registry = StrategyRegistry([tmp_path / "s"], entry_points=False)
    code = _code(tmp_path, TORCH_MAIN)
    assert select(DeployConfig(code_path=code, resources={"gpu": 1}),
                  registry=registry).strategy == "gpu_box"  # fmt: skip
    cpu = select(DeployConfig(code_path=code), registry=registry)
    assert cpu.strategy == "local"
    assert "gpu_box: rejected (needs_gpu=True but the code has False)" in cpu.reasoning
    with pytest.raises(DeploymentError, match="gpu_box: rejected"):
        select(DeployConfig(code_path=code), ["gpu_box"], registry=registry)


def test_a_strategy_without_rules_is_never_chosen_automatically(
    tmp_path: Path, sample_code: Path
) -> None:
    write_strategy(tmp_path / "s", "plain")
    registry = StrategyRegistry([tmp_path / "s"], builtin=False, entry_points=False)
    with pytest.raises(DeploymentError, match=r"plain: rejected \(no select rules\)"):
        select(DeployConfig(code_path=sample_code), registry=registry)


def test_a_malformed_select_section_names_the_key(tmp_path: Path, sample_code: Path) -> None:
    bad = SEED_CONFIG.replace("my_strategy", "bad") + "\nselect:\n  needs_gpu: maybe\n"
    write_strategy(tmp_path / "s", "bad", config=bad)
    registry = StrategyRegistry([tmp_path / "s"], builtin=False, entry_points=False)
    with pytest.raises(StrategyDefinitionError, match=r"select\.needs_gpu") as info:
        select(DeployConfig(code_path=sample_code), registry=registry)
    assert info.value.path.endswith("config.yaml")


# -- the LLM, through a real chat-completions server ------------------------------------


class ChatServer:
    """A FastAPI app on uvicorn in a thread answering ``/v1/chat/completions`` with
    ``self.answer``, recording each request."""

    def __init__(self) -> None:
        self.answer = '{"strategy": "process", "reasoning": "it needs HTTP"}'
        self.requests: list[dict[str, Any]] = []
        self.url = ""


@pytest.fixture
def chat() -> Iterator[ChatServer]:
    state = ChatServer()
    app = FastAPI()

    @app.post("/v1/chat/completions")
    async def complete(request: Request) -> dict[str, Any]:
        state.requests.append({"body": await request.json(), "auth": request.headers.get(
            "authorization")})  # fmt: skip
        message = {"role": "assistant", "content": state.answer}
        return {"id": "x", "object": "chat.completion", "choices": [
            {"index": 0, "message": message, "finish_reason": "stop"}]}  # fmt: skip

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, log_level="warning",
                                           lifespan="off"))  # fmt: skip
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    wait_until(lambda: server.started, timeout=20, what="the chat server to start")
    state.url = f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
    try:
        yield state
    finally:
        server.should_exit = True
        thread.join(15)
        sock.close()
        assert not thread.is_alive()


def test_the_llm_chooses_among_the_allowed_with_the_instructions(
    chat: ChatServer, sample_code: Path, builtin: StrategyRegistry
) -> None:
    llm = LLMConfig(base_url=chat.url, model="tiny", api_key="k")
    setting = select(DeployConfig(code_path=sample_code), llm=llm, registry=builtin)
    assert setting.strategy == "process"
    assert "LLM tiny: it needs HTTP" in setting.reasoning
    [request] = chat.requests
    assert request["auth"] == "Bearer k"
    assert request["body"]["model"] == "tiny"
    system = request["body"]["messages"][0]["content"]
    assert "# Strategy `local`" in system and "# Strategy `process`" in system


def test_an_llm_answer_outside_the_allowed_list_is_an_error(
    chat: ChatServer, sample_code: Path, builtin: StrategyRegistry
) -> None:
    llm = LLMConfig(base_url=chat.url, model="tiny")
    config = DeployConfig(code_path=sample_code)
    chat.answer = '{"strategy": "paid_cloud", "reasoning": "cloud"}'
    with pytest.raises(StrategyNotFoundError, match="paid_cloud"):
        select(config, llm=llm, registry=builtin)
    chat.answer = "process"  # a bare name is read, but process is not allowed here
    with pytest.raises(StrategyNotFoundError, match="allowed"):
        select(config, ["local"], llm=llm, registry=builtin)
    chat.answer = '{"reasoning": "no idea"}'
    with pytest.raises(DeploymentError, match="without a strategy"):
        select(config, llm=llm, registry=builtin)


def test_an_llm_server_that_is_down_is_an_error(
    sample_code: Path, builtin: StrategyRegistry
) -> None:
    with socket.socket() as sock:  # a bound port nobody listens on
        sock.bind(("127.0.0.1", 0))
        llm = LLMConfig(base_url=f"http://127.0.0.1:{sock.getsockname()[1]}/v1", model="m")
        with pytest.raises(DeploymentError, match=r"LLM selector at .* failed: ConnectError"):
            select(DeployConfig(code_path=sample_code), llm=llm, registry=builtin)


def test_llm_config_from_the_environment() -> None:
    assert LLMConfig.from_settings(Settings.from_env({})) is None
    settings = Settings.from_env({"HOIST_LLM_BASE_URL": "http://x/v1", "HOIST_LLM_MODEL": "m",
                                  "OPENAI_API_KEY": "sk-test-9f3"})  # fmt: skip
    llm = LLMConfig.from_settings(settings)
    assert llm == LLMConfig(base_url="http://x/v1", model="m", api_key="sk-test-9f3")
    assert "sk-test-9f3" not in repr(settings) + repr(llm)  # the key is never shown
    with pytest.raises(DeploymentError, match="HOIST_LLM_MODEL"):
        LLMConfig.from_settings(Settings.from_env({"HOIST_LLM_BASE_URL": "http://x/v1"}))


def test_the_factory_selects_for_auto(sample_code: Path, builtin: StrategyRegistry) -> None:
    config = DeployConfig(code_path=sample_code)
    assert DeploymentFactory.create("auto", config, registry=builtin).info.strategy == "local"
    chosen = DeploymentFactory.create("auto", config, ["process"], registry=builtin)
    assert chosen.info.strategy == "process"
