"""`-p key=value`, `--params JSON` and `--params @file` parsing."""

from __future__ import annotations

from pathlib import Path

import pytest

from hoist.cli.params import parse_params
from hoist.errors import ParamsValidationError


def test_pairs_stay_text_except_json_containers_and_null() -> None:
    params = parse_params(("n=3", "name=007", "tags=[1, 2]", 'opt={"a": 1}', "x=null"), None)
    assert params == {"n": "3", "name": "007", "tags": [1, 2], "opt": {"a": 1}, "x": None}


def test_dotted_keys_nest_and_pairs_override_json() -> None:
    params = parse_params(("optimizer.lr=0.1", "epochs=5"), '{"epochs": 1, "seed": 2}')
    assert params == {"epochs": "5", "seed": 2, "optimizer": {"lr": "0.1"}}


def test_params_from_file(tmp_path: Path) -> None:
    file = tmp_path / "p.json"
    file.write_text('{"a": [1, 2]}')
    assert parse_params((), f"@{file}") == {"a": [1, 2]}


@pytest.mark.parametrize(
    ("pairs", "raw", "message"),
    [
        (("novalue",), None, "expected key=value"),
        ((), "{not json", "invalid JSON in --params at line 1"),
        ((), "[1, 2]", "must hold a JSON object"),
        ((), "@/no/such/file.json", "cannot read /no/such/file.json"),
    ],
)
def test_bad_params_input(pairs: tuple[str, ...], raw: str | None, message: str) -> None:
    with pytest.raises(ParamsValidationError, match=message):
        parse_params(pairs, raw)
