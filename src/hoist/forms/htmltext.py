"""Small HTML helpers: escaped attributes, the text a value shows as, stable ids."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, time
from enum import Enum
from html import escape
from typing import Any

from pydantic import SecretBytes, SecretStr

from hoist.forms.postdata import ABSENT

__all__ = ["attrs", "field_id", "text"]


def field_id(name: str) -> str:
    """The ``id`` of the input named ``name``: ``outer.inner`` → ``field-outer-inner``."""
    return "field-" + re.sub(r"[^A-Za-z0-9_-]", "-", name)


def attrs(**values: Any) -> str:
    """HTML attributes, escaped: ``True`` → bare, ``None``/``False`` → left out.

    A trailing underscore is dropped (``class_``) and other underscores become dashes.
    """
    out = []
    for key, value in values.items():
        if value is None or value is False:
            continue
        name = key.rstrip("_").replace("_", "-")
        out.append(f" {name}" if value is True else f' {name}="{escape(text(value))}"')
    return "".join(out)


def text(value: Any) -> str:
    """A value as the text an input shows (never a secret)."""
    if value is None or value is ABSENT or isinstance(value, SecretStr | SecretBytes):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, Enum):
        return text(value.value)
    if isinstance(value, datetime):
        return value.replace(tzinfo=None).isoformat(
            timespec="minutes" if not value.second else "seconds"
        )
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)
