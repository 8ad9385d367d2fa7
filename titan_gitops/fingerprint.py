"""Canonical hashes, fingerprints, the plan's scope, change digests and saved-plan stand-ins.

Plan records these, a saved plan stores them, and apply re-checks them: one definition for all.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any

from titan_gitops.model import Action, Change, Fingerprint, LiveTask
from titan_gitops.pointers import get_pointer, pointers_overlap, set_pointer, split_pointer


def canonical_json(value: Any) -> str:
    """The one serialisation used for hashing: sorted keys, no whitespace, UTF-8 kept."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_hash(value: Any) -> str:
    """A SHA-256 of the canonical JSON of `value`."""
    return hashlib.sha256(canonical_json(value).encode()).hexdigest()


# --- sensitive values in a saved plan ----------------------------------------------------------

# What a saved plan stores instead of a sensitive value. Nothing in it is derived from the value:
# a hash of a short secret (a six-digit account number, say) is reversed by trying every value.
_STAND_IN_KEY = "sensitive"


def sensitive_stand_in() -> dict[str, Any]:
    """A fresh copy of the stand-in a saved plan stores instead of a sensitive value."""
    return {_STAND_IN_KEY: True}


def is_sensitive_placeholder(value: Any) -> bool:
    """True for the `{"sensitive": true}` stand-in of a saved plan."""
    return isinstance(value, dict) and len(value) == 1 and value.get(_STAND_IN_KEY) is True


def hide_pointers(document: Any, pointers: frozenset[str]) -> Any:
    """A copy of `document` with the values at `pointers` replaced by the stand-in."""
    if not isinstance(document, dict):
        return document
    out: dict[str, Any] = json.loads(json.dumps(document))
    hidden: list[str] = []
    for pointer in sorted(pointers, key=len):
        # A pointer inside one already hidden has nothing left to hide.
        if any(pointers_overlap(pointer, done) for done in hidden):
            continue
        value = get_pointer(document, pointer)
        if split_pointer(pointer) and value is not None:
            set_pointer(out, pointer, sensitive_stand_in())
            hidden.append(pointer)
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


def fingerprint(
    task: LiveTask, normalised: dict[str, Any], *, hidden: Iterable[str]
) -> Fingerprint:
    """What apply re-checks of one live task, given its body as the diff stage normalised it.

    The values at `hidden` (the definition's sensitive pointers) enter as stand-ins: the digest
    is saved in plan files, and an unkeyed hash over a low-entropy secret is an offline oracle
    for it. A live edit there still shows in `updated_at`, and the fresh derivation of
    `apply --plan` compares the values themselves.
    """
    pointers = tuple(sorted(set(hidden)))
    return Fingerprint(
        task_id=task.task_id,
        name=task.name,
        updated_at=task.updated_at,
        digest=canonical_hash(
            hide_pointers(normalised, frozenset(pointers)) if pointers else normalised
        ),
        hidden=pointers,
    )


def change_digest(changes: Iterable[Change]) -> str:
    """A digest of what the plan would do (actions, keys, field paths, new values, bodies).

    A sensitive value enters by its pointer only, so the digest (a saved plan's, and the approval
    marker of a pull-request comment) reveals nothing about it; a fresh plan and the saved plan it
    matches yield the same digest.
    """
    return canonical_hash([_change_key(c) for c in changes if c.action is not Action.NO_OP])


def change_key(change: Change) -> str:
    """One change's identity: equal keys mean the same request to the service."""
    return canonical_hash(_change_key(change))


def _change_key(c: Change) -> dict[str, Any]:
    return {
        "action": c.action.value,
        "name": c.name,
        "id": c.task_id,
        "previous_name": c.previous_name,
        "fields": [
            [
                f.pointer,
                f.sensitive,
                canonical_hash(sensitive_stand_in() if f.sensitive else f.after),
            ]
            for f in c.fields
        ],
        # The body apply sends: a saved plan edited after review matches no fresh change.
        "request_body": canonical_hash(hide_pointers(c.request_body, c.sensitive_pointers)),
        "sensitive_pointers": sorted(c.sensitive_pointers),
    }
