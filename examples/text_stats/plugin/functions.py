"""A function action: ``word_count``."""

from __future__ import annotations

from pydantic import BaseModel, Field

from hoist import RuntimeContext, action
from plugin.analyze import words_of


class WordCountParams(BaseModel):
    text: str = Field("to be or not to be", description="The text to count")


class WordCountResult(BaseModel):
    words: int
    distinct: int


@action(name="word_count", description="Count the words of one text", params=WordCountParams,
        result=WordCountResult)  # fmt: skip
def word_count(params: WordCountParams, context: RuntimeContext) -> WordCountResult:
    """Count the words of one text."""
    found = words_of(params.text)
    context.set_progress(1, 1)
    return WordCountResult(words=len(found), distinct=len(set(found)))
