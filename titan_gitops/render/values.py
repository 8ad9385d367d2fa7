"""Shared by the renderers: how a value is shown, and the stand-in for a sensitive one."""

from __future__ import annotations

import json
from typing import Any

SENSITIVE = "(sensitive value)"


def show_value(value: Any, limit: int | None = None) -> str:
    """Compact JSON for people: strings quoted, keys sorted, non-ASCII kept."""
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(", ", ": "))
    if limit is not None and len(text) > limit:
        return text[: limit - 1] + "…"
    return text
