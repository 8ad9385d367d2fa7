"""Shared by the renderers: how a value is shown, and how sensitive values are hidden."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any

from titan_gitops.diff import canonical_json, get_pointer, set_pointer, split_pointer

SENSITIVE = "(sensitive value)"


def show_value(value: Any, limit: int | None = None) -> str:
    """Compact JSON for people: strings quoted, keys sorted, non-ASCII kept."""
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(", ", ": "))
    if limit is not None and len(text) > limit:
        return text[: limit - 1] + "…"
    return text


def mask_text(text: str, secrets: Iterable[str]) -> str:
    """Replace every known secret value in `text` with `***`."""
    for secret in sorted(secrets, key=len, reverse=True):
        if secret:
            text = text.replace(secret, "***")
    return text


def sensitive_hash(value: Any) -> dict[str, Any]:
    """What a saved plan stores instead of a sensitive value."""
    return {
        "sensitive": True,
        "sha256": hashlib.sha256(canonical_json(value).encode()).hexdigest(),
    }


def hide_pointers(document: Any, pointers: Iterable[str]) -> Any:
    """A copy of `document` with the values at `pointers` replaced by their hashes."""
    if not isinstance(document, dict):
        return document
    out: dict[str, Any] = json.loads(json.dumps(document))
    for pointer in sorted(pointers, key=len):
        if split_pointer(pointer) and get_pointer(out, pointer) is not None:
            set_pointer(out, pointer, sensitive_hash(get_pointer(document, pointer)))
    return out
