"""Canonical hashes, fingerprints, the plan's scope, change digests and saved-plan stand-ins.

Plan records these, a saved plan stores them, and apply re-checks them: one definition for all.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any

from titan_gitops.model import Action, Change, Fingerprint, LiveTask
from titan_gitops.pointers import get_pointer, set_pointer, split_pointer


def canonical_json(value: Any) -> str:
    """The one serialisation used for hashing: sorted keys, no whitespace, UTF-8 kept."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_hash(value: Any) -> str:
    """A SHA-256 of the canonical JSON of `value`."""
    return hashlib.sha256(canonical_json(value).encode()).hexdigest()


# --- sensitive values in a saved plan ----------------------------------------------------------


def sensitive_hash(value: Any) -> dict[str, Any]:
    """What a saved plan stores instead of a sensitive value."""
    return {"sensitive": True, "sha256": canonical_hash(value)}


def is_sensitive_placeholder(value: Any) -> bool:
    """True for the `{"sensitive": true, "sha256": ...}` stand-in of a saved plan."""
    return isinstance(value, dict) and set(value) == {"sensitive", "sha256"}


def hide_value(value: Any) -> Any:
    """A sensitive value as its saved-plan stand-in; a stand-in (read back from a file) stays."""
    return value if is_sensitive_placeholder(value) else sensitive_hash(value)


def hide_pointers(document: Any, pointers: frozenset[str]) -> Any:
    """A copy of `document` with the values at `pointers` replaced by their stand-ins."""
    if not isinstance(document, dict):
        return document
    out: dict[str, Any] = json.loads(json.dumps(document))
    for pointer in sorted(pointers, key=len):
        value = get_pointer(document, pointer)
        if split_pointer(pointer) and value is not None:
            set_pointer(out, pointer, hide_value(value))
    return out


# --- what a plan read, and what it would do ----------------------------------------------------


def in_namespace(name: str, namespace: str | None) -> bool:
    """True when `name` lies inside the namespace this repository owns."""
    return namespace is not None and name.startswith(namespace)


def scope_of(
    namespace: str | None, managed_names: Iterable[str], live: Iterable[LiveTask]
) -> list[LiveTask]:
    """The live tasks a plan reads as its own: its namespace, and the names it defines."""
    names = set(managed_names)
    return sorted(
        (t for t in live if in_namespace(t.name, namespace) or t.name in names),
        key=lambda t: (t.name, t.task_id),
    )


def scope_digest(tasks: Iterable[LiveTask]) -> str:
    """A hash of the in-scope (name, id) set; defined for the empty set too."""
    return canonical_hash(sorted([t.name, t.task_id] for t in tasks))


def fingerprint(task: LiveTask, normalised: dict[str, Any]) -> Fingerprint:
    """What apply re-checks of one live task, given its body as the diff stage normalised it."""
    return Fingerprint(
        task_id=task.task_id,
        name=task.name,
        updated_at=task.updated_at,
        digest=canonical_hash(normalised),
    )


def change_digest(changes: Iterable[Change]) -> str:
    """A digest of what the plan would do (actions, keys, field paths, new values)."""
    return canonical_hash(
        [
            {
                "action": c.action.value,
                "name": c.name,
                "id": c.task_id,
                "previous_name": c.previous_name,
                # Sensitive values enter as their hash, so a saved plan (which holds only the
                # hash) yields the same digest.
                "fields": [
                    [f.pointer, canonical_hash(hide_value(f.after) if f.sensitive else f.after)]
                    for f in c.fields
                ],
                # The body apply sends: a saved plan edited after review is refused.
                "request_body": canonical_hash(hide_pointers(c.request_body, c.sensitive_pointers)),
            }
            for c in changes
            if c.action is not Action.NO_OP
        ]
    )
