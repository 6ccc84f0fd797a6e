"""Params models shared by the forms tests."""

from __future__ import annotations

import datetime
import enum
import pathlib
from typing import Annotated, Literal

import pytest
from pydantic import BaseModel, Field, SecretStr

from hoist import forms as F


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Inner(BaseModel):
    depth: int = Field(2, ge=1, le=5, description="How deep to go")
    label: str = "x"


class Params(BaseModel):
    name: str = Field(min_length=2, max_length=10, pattern=r"^[a-z]+$", description="Run name")
    epochs: int = Field(3, ge=1, le=10)
    rate: float = Field(0.5, gt=0, lt=1)
    shuffle: bool = True
    color: Color = Color.RED
    level: Level | None = None
    mode: Literal["fast", "slow"] = "fast"
    tags: list[str] = []
    sizes: list[int] = Field(default_factory=list)
    inner: Inner = Inner(depth=4)
    extra: Inner | None = None
    limit: Annotated[int, Field(ge=0)] | None = None
    out_dir: pathlib.Path = pathlib.Path("/tmp/out")
    token: SecretStr = SecretStr("default-secret")
    day: datetime.date | None = None
    meta: dict[str, int] = {}


@pytest.fixture
def params_form() -> F.Model:
    return F.form_for(Params)


@pytest.fixture
def declared_form() -> F.Model:
    return F.Model(
        F.Errors(),
        F.Markdown("# Title"),
        F.InputText("name", "Name", required=True, pattern="[a-z]+", min_length=2),
        F.InputPassword("password", "Password", value="hunter2"),
        F.InputNumber("tasks", "Tasks", value="25", min_value=1, max_value=500, integer=True),
        F.InputNumber("ratio", min_value=0, max_value=1, step=0.1),
        F.InputArea("notes", rows=3, max_length=100),
        F.InputDate("day", min_date="2024-01-01", max_date="2024-12-31"),
        F.InputTime("at", min_time="08:00"),
        F.InputDateTime("when"),
        F.Checkbox("agree", "Agree", required=True, option="I agree"),
        F.Checkbox("news", value=True),
        F.Select(
            "color",
            option=[F.InputOption("r", "Red"), F.InputOption("g", "Green", value=True)],
        ),
        F.InputFiles("docs", multiple=True),
        F.Action("__action__", "save", "Save"),
        F.Action("__action__", "draft", "Draft"),
        F.Submit("Go"),
        F.Cancel("Back", href="/back"),
    )
