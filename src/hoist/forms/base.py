"""The root of the form elements, and the default label of an input."""

from __future__ import annotations

import re

__all__ = ["Element", "humanize"]


def humanize(name: str) -> str:
    """``batch_size`` → ``Batch size``: the label of an input declared without one."""
    last = name.rsplit(".", 1)[-1]
    words = re.sub(r"[_\-]+", " ", last).strip()
    return words[:1].upper() + words[1:] if words else name


class Element:
    """Base of every form element."""
