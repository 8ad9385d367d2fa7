"""Render `plan --preview`'s samples: lines under a change (text), a block in its section
(Markdown), and a `preview` object (JSON). Pure.

Records come from the service: every string is masked whole, then cut, then escaped, so a cut
never leaves part of a secret the mask would have found.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

from titan_gitops.escape import escape_terminal, escape_text, fence
from titan_gitops.model import PlanPreviews, TaskPreview

Mask = Callable[[str], str]

# One string value inside a shown record, and one record on one line, in characters.
VALUE_CHARS = 80
RECORD_CHARS = 160
# Deeper parts of a record are shown as an ellipsis.
MAX_DEPTH = 8


def _unmasked(text: str) -> str:
    return text


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def shorten_value(value: Any, mask: Mask, depth: int = 0) -> Any:
    """A record's value for display: strings masked then cut, nesting bounded, NaN and
    Infinity as strings."""
    if isinstance(value, str):
        return _cut(mask(value), VALUE_CHARS)
    if depth >= MAX_DEPTH and isinstance(value, dict | list):
        return "…"
    if isinstance(value, dict):
        return {
            _cut(mask(str(key)), VALUE_CHARS): shorten_value(item, mask, depth + 1)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [shorten_value(item, mask, depth + 1) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        # NaN and Infinity are not JSON: shown as their words, the JSON plan stays JSON.
        return json.dumps(value)
    return value


def record_line(record: Any, mask: Mask) -> str:
    """One record as one line of compact JSON, masked and cut (not yet escaped)."""
    text = json.dumps(shorten_value(record, mask), ensure_ascii=False, separators=(", ", ": "))
    return _cut(text, RECORD_CHARS)


def verdict(preview: TaskPreview, mask: Mask = _unmasked) -> str:
    """`✓ 3 records match`, `✗ record 3: /price: ...`, or the note (not yet escaped)."""
    if preview.note is not None:
        return _cut(mask(preview.note), 300)
    noun = "record" if preview.total == 1 else "records"
    if preview.total == 0:
        return "the service returned no records"
    if not preview.checked:
        return f"{preview.total} {noun}, no output_schema to check them against"
    if preview.violation is None:
        return f"✓ {preview.total} {noun} {'matches' if preview.total == 1 else 'match'}"
    return f"✗ {_cut(mask(preview.violation), 300)}"


def preview_text_lines(preview: TaskPreview | None, mask: Mask = _unmasked) -> list[str]:
    """The lines under one change in the text plan; none when it was not previewed."""
    if preview is None:
        return []
    lines = [escape_terminal(f"      preview: {verdict(preview, mask)}")]
    for record in preview.records:
        lines.append(escape_terminal(f"        {record_line(record, mask)}"))
    more = preview.total - len(preview.records)
    if preview.records and more > 0:
        lines.append(f"        … and {more} more")
    return lines


def preview_summary_lines(previews: PlanPreviews | None) -> list[str]:
    """The plan-level lines: tasks left out over the limit, and notes (a spent quota)."""
    if previews is None:
        return []
    lines: list[str] = []
    if previews.skipped:
        count = len(previews.skipped)
        names = ", ".join(previews.skipped[:10]) + (" …" if count > 10 else "")
        # Previewed means a sample came back: one sent into a spent quota or a failure is not.
        done = sum(1 for p in previews.previews if p.note is None)
        empty = len(previews.previews) - done
        lines.append(
            f"Previews: {done} previewed"
            + (f", {empty} without a sample (see each task)" if empty else "")
            + f", {count} not previewed over --preview-limit {previews.limit}: {names}"
        )
    lines.extend(f"Note: {note}" for note in previews.notes)
    return [escape_terminal(line) for line in lines]


def preview_markdown(preview: TaskPreview | None, mask: Mask = _unmasked) -> list[str]:
    """A short block for the change's section: the verdict, then the first records."""
    if preview is None:
        return []
    block = [f"**Preview:** {escape_text(verdict(preview, mask))}"]
    if preview.records:
        lines = [record_line(record, mask) for record in preview.records]
        more = preview.total - len(preview.records)
        if more > 0:
            lines.append(f"… and {more} more")
        block.append(fence("\n".join(lines), "json"))
    return block


def preview_to_dict(preview: TaskPreview | None, mask: Mask = _unmasked) -> dict[str, Any] | None:
    """The `preview` object of one change in the JSON plan; None when it was not previewed."""
    if preview is None:
        return None
    matches = None if not preview.checked or preview.note else preview.violation is None
    return {
        "records": [shorten_value(record, mask) for record in preview.records],
        "total": preview.total,
        "checked": preview.checked,
        "matches": matches,
        "violation": _cut(mask(preview.violation), 300) if preview.violation else None,
        "note": mask(preview.note) if preview.note else None,
    }


def previews_to_dict(previews: PlanPreviews, mask: Mask = _unmasked) -> dict[str, Any]:
    """The plan-level `previews` object of the JSON plan."""
    return {
        "limit": previews.limit,
        "previewed": [p.name for p in previews.previews if p.note is None],
        "skipped": list(previews.skipped),
        "notes": [mask(note) for note in previews.notes],
    }
