"""Shared by the renderers: how a value is shown, and how sensitive values are hidden."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

SENSITIVE = "(sensitive value)"


def show_value(value: Any, limit: int | None = None) -> str:
    """Compact JSON for people: strings quoted, keys sorted, non-ASCII kept."""
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(", ", ": "))
    if limit is not None and len(text) > limit:
        return text[: limit - 1] + "…"
    return text


def mask_text(text: str, secrets: Iterable[str]) -> str:
    """Replace every known secret value in `text` with `***`.

    Values shorter than the redaction floor are left: masking `x` would shred every word. Their
    fields are shown as "(sensitive value)" by the renders anyway.
    """
    from titan_gitops.redact import MIN_SECRET_LENGTH

    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= MIN_SECRET_LENGTH:
            text = text.replace(secret, "***")
    return text
