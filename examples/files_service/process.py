"""The files service's entry point: reads ``in/``, writes the report to ``out/``."""

import collections
import re

from hoist.services import Tracer
from hoist.services.response import Markdown

WORD = re.compile(r"[\w']+")


async def execute(inputs: dict, tracer: Tracer) -> Markdown:
    fs = await tracer.fs()
    lines = ["# Word counts", ""]
    for path in inputs["texts"]:  # "in/<name>": the uploads, names sanitised
        text = (await fs.read(path)).decode("utf-8", errors="replace")
        words = collections.Counter(w.lower() for w in WORD.findall(text))
        top = ", ".join(f"{w} ({n})" for w, n in words.most_common(inputs["top"]))
        lines.append(f"- **{path.removeprefix('in/')}**: {sum(words.values())} words; {top}")
        await tracer.markdown(f"counted {path}")
    report = await fs.open("out/report.md", "w")
    async with report:
        await report.write("\n".join(lines) + "\n")
    files = [entry["path"] for entry in await fs.ls("out")]
    return Markdown("\n".join(lines) + f"\n\nDeliverables: {', '.join(files)}")
