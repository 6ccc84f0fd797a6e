"""``analyze``: statistics over a folder of text files."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

from pydantic import BaseModel, Field

from hoist import BaseAction, PluginCategory
from hoist.plugins.types import TextCorpus

SAMPLES = Path(__file__).resolve().parent.parent / "sample_texts"
WORD = re.compile(r"[a-z']+")
STOP_WORDS = frozenset(
    {
        "the",
        "a",
        "an",
        "and",
        "or",
        "of",
        "to",
        "in",
        "on",
        "at",
        "is",
        "are",
        "was",
        "were",
        "be",
        "it",
        "its",
        "that",
        "this",
        "with",
        "for",
        "as",
        "by",
        "from",
        "not",
        "but",
        "i",
        "you",
        "he",
        "she",
        "we",
        "they",
        "them",
        "his",
        "her",
        "their",
        "our",
        "so",
        "if",
        "then",
        "than",
    }
)


class AnalyzeParams(BaseModel):
    path: str = Field(str(SAMPLES), description="Folder of .txt files")
    top_n: int = Field(10, ge=1, le=100, description="How many top terms to report")
    min_word_length: int = Field(3, ge=1, le=20, description="Shorter words are not terms")


class AnalyzeResult(BaseModel):
    files: int
    lines: int
    words: int
    top_terms: list[tuple[str, int]]
    report_path: str


def words_of(text: str) -> list[str]:
    """Lower-cased words (letters and apostrophes)."""
    return WORD.findall(text.lower())


class AnalyzeAction(BaseAction[AnalyzeParams]):
    """Count words, lines and top terms in a folder of text files."""

    action_name = "analyze"
    category = PluginCategory.DATA_VALIDATION
    input_type = TextCorpus
    result_model = AnalyzeResult

    def execute(self) -> AnalyzeResult:
        folder = Path(self.params.path)
        if not folder.is_dir():
            raise FileNotFoundError(f"no such folder: {folder}")
        files = sorted(folder.glob("*.txt"))
        terms: Counter[str] = Counter()
        lines = words = 0
        for i, file in enumerate(files, start=1):
            text = file.read_text(encoding="utf-8")
            found = words_of(text)
            lines += len(text.splitlines())
            words += len(found)
            shortest = self.params.min_word_length
            terms.update(w for w in found if len(w) >= shortest and w not in STOP_WORDS)
            self.set_progress(i, len(files), category="files")
            self.set_metrics({"files": i, "lines": lines, "words": words})
            self.logger.info("read %s (%d words)", file.name, len(found))
        top = terms.most_common(self.params.top_n)
        report = self.ctx.artifacts_dir / "report.json"
        report.write_text(json.dumps({"files": [f.name for f in files], "lines": lines,
                                      "words": words, "top_terms": top}, indent=2))  # fmt: skip
        self.ctx.add_artifact(report)
        self.set_progress(1, 1)
        if top:
            self.log_message(f"most frequent term: '{top[0][0]}' ({top[0][1]} times)", "success")
        return AnalyzeResult(files=len(files), lines=lines, words=words, top_terms=top,
                             report_path=str(report))  # fmt: skip
