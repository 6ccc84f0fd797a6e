"""What `make demo` runs: an example pipeline and an action with live progress, then the
run list.

Everything goes to the embedded default: the local executor and the SQLite store under
HOIST_HOME (default ~/.hoist), so `hoist runs list` shows these runs afterwards too.
"""

from __future__ import annotations

import sys
from pathlib import Path

from rich.console import Console

from hoist.cli.main import run_cli

EXAMPLES = Path(__file__).resolve().parent


def main() -> int:
    console = Console()
    steps = [
        (
            "A pipeline: generate data -> train (steps, epochs, live metrics) -> evaluate",
            ["pipeline", "run", str(EXAMPLES / "sim_train"), "train_flow", "-p", "epochs=25",
             "-p", "sleep_per_epoch=0.08"],
        ),
        (
            "Text statistics over the files the plugin ships",
            ["run", str(EXAMPLES / "text_stats"), "analyze", "-p", "top_n=5"],
        ),
        ("Every run is recorded: hoist runs list", ["runs", "list", "--limit", "5"]),
    ]  # fmt: skip
    for title, argv in steps:
        console.rule(f"[bold]{title}")
        console.print(f"[dim]$ hoist {' '.join(argv)}")
        code = run_cli(argv)
        if code != 0:
            console.print(f"[red]hoist {argv[0]} exited with {code}")
            return code
    console.print(
        "\nNext: [bold]. .venv/bin/activate[/] (puts [bold]hoist[/] on this shell's PATH), "
        "then [bold]hoist runs show <RUN>[/], [bold]hoist runs logs <RUN>[/], or "
        "[bold]hoist serve --plugins examples[/] to launch and watch runs in the browser"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
