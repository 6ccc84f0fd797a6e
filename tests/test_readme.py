"""The README works as written: its tour runs block by block, in order, in a fresh folder,
and its "activate, then hoist" step works in the checkout after ``make`` (issue 18).

Conventions (the README's Development section says them too): a block whose first line
is ``# some/path`` is a file to write; other ``bash`` and ``python`` blocks run. An HTML
comment on the line before a block changes that: ``<!-- readme-test: skip (why) -->``
skips it, ``<!-- readme-test: repo -->`` runs it in the checkout with a ``PATH`` that
lacks ``.venv/bin``, ``<!-- readme-test: RUN_ID is the newest run -->`` fills in
``RUN_ID``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO

README = REPO / "README.md"
VENV_BIN = REPO / ".venv" / "bin"
TOUR = "## A five-minute tour"
_MARKER = re.compile(r"<!--\s*readme-test:\s*(.*?)\s*-->")
_PATH_LINE = re.compile(r"#\s*([\w./-]+\.\w+)\s*$")


@dataclass
class Block:
    """One fenced block of the README."""

    lang: str
    body: str
    line: int
    marker: str
    section: str

    @property
    def path(self) -> str | None:
        """The file the block is, when its first line names one (``# a/b.py``)."""
        first = self.body.splitlines()[0] if self.body else ""
        found = _PATH_LINE.fullmatch(first.strip())
        return found.group(1) if found else None


def blocks(text: str) -> list[Block]:
    """Every fenced block with its language, line, marker and ``##`` section."""
    found: list[Block] = []
    lines = text.splitlines()
    section, i = "", 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("## "):
            section = line
        if line.startswith("```") and len(line) > 3:
            start = i
            previous = lines[i - 1] if i else ""
            marker = _MARKER.search(previous)
            body: list[str] = []
            i += 1
            while not lines[i].startswith("```"):
                body.append(lines[i])
                i += 1
            found.append(Block(line[3:].strip(), "\n".join(body) + "\n", start + 1,
                               marker.group(1) if marker else "", section))  # fmt: skip
        i += 1
    return found


def _env(home: Path, *, venv_on_path: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOIST_")}
    env.pop("VIRTUAL_ENV", None)
    parts = [p for p in env.get("PATH", "").split(os.pathsep) if Path(p) != VENV_BIN and p]
    if venv_on_path:
        parts.insert(0, str(VENV_BIN))
    env.update(PATH=os.pathsep.join(parts), HOIST_HOME=str(home), COLUMNS="120")
    return env


def _run(block: Block, cwd: Path, env: dict[str, str]) -> None:
    if block.lang == "python":
        argv = [sys.executable, "-c", block.body]
    elif block.lang in ("bash", "sh", "shell"):
        argv = ["bash", "-e", "-o", "pipefail", "-c", block.body]
    else:
        pytest.fail(f"README line {block.line}: a {block.lang} block that is no file: mark it")
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, (
        f"README line {block.line} exited {proc.returncode}:\n{block.body}\n"
        f"--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"
    )


def _newest_run(env: dict[str, str], cwd: Path) -> str:
    argv = ["hoist", "runs", "list", "--limit", "1", "--json"]
    out = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=60,
                         check=True)  # fmt: skip
    run_id: str = json.loads(out.stdout)[0]["id"]
    return run_id


def test_the_tour_runs_in_order_in_a_fresh_folder(tmp_path: Path) -> None:
    tour = [b for b in blocks(README.read_text()) if b.section == TOUR]
    assert len(tour) >= 7  # the tour is where this test looks
    folder = tmp_path / "fresh"
    folder.mkdir()
    env = _env(tmp_path / "home", venv_on_path=True)
    ran = 0
    for block in tour:
        if block.marker.startswith("skip"):
            continue
        if block.path is not None:
            target = folder / block.path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(block.body)
            continue
        if block.marker.startswith("RUN_ID"):
            block.body = block.body.replace("RUN_ID", _newest_run(env, folder))
        _run(block, folder, env)
        ran += 1
    assert ran >= 4


def test_activate_then_hoist_works_in_the_checkout(tmp_path: Path) -> None:
    """What the README says right after ``make demo``: ``hoist`` is not on the PATH until
    ``.venv`` is activated, then it is."""
    repo_blocks = [b for b in blocks(README.read_text()) if b.marker == "repo"]
    assert repo_blocks and "activate" in repo_blocks[0].body
    env = _env(tmp_path / "home", venv_on_path=False)
    bare = subprocess.run(["bash", "-c", "command -v hoist"], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=30)  # fmt: skip
    assert bare.returncode != 0 or Path(bare.stdout.strip()).parent != VENV_BIN
    for block in repo_blocks:
        _run(block, REPO, env)
    demo = (REPO / "examples" / "demo.py").read_text()
    assert ".venv/bin/activate" in demo  # the demo's last line says it too
