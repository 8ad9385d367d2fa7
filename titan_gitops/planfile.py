"""The saved-plan format (`plan --out`, `apply --plan`): a Plan to and from versioned JSON.

Sensitive values are stored only as `{"sensitive": true, "sha256": ...}`; `apply --plan`
re-resolves them from the environment and refuses when a hash no longer matches.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from titan_gitops import __version__
from titan_gitops.atomic import write_text_atomic
from titan_gitops.errors import InputError
from titan_gitops.fingerprint import hide_pointers, hide_value
from titan_gitops.model import Action, Change, FieldChange, Fingerprint, Note, Plan
from titan_gitops.secrets import SecretSet

FORMAT_VERSION = "1"


def _change_to_dict(change: Change) -> dict[str, Any]:
    hidden = change.sensitive_pointers
    return {
        "action": change.action.value,
        "name": change.name,
        "id": change.task_id,
        "previous_name": change.previous_name,
        "reason": change.reason,
        "source": change.source,
        "breaking": list(change.breaking),
        "fields": [
            {
                "path": f.path,
                "pointer": f.pointer,
                "before": hide_value(f.before) if f.sensitive else f.before,
                "after": hide_value(f.after) if f.sensitive else f.after,
                "sensitive": f.sensitive,
            }
            for f in change.fields
        ],
        "before": change.before,
        "after": hide_pointers(change.after, hidden),
        "request_body": hide_pointers(change.request_body, hidden),
        "sensitive_pointers": sorted(hidden),
        "ignore_fields": list(change.ignore_fields),
    }


def plan_to_dict(plan: Plan) -> dict[str, Any]:
    """The JSON-ready form of a plan."""
    counts = plan.counts()
    return {
        "format_version": FORMAT_VERSION,
        "tool": "titan-gitops",
        "tool_version": __version__,
        "target": plan.target,
        "directory": plan.directory,
        "namespace": plan.namespace,
        "managed_names": list(plan.managed_names),
        "filtered": plan.filtered,
        "filters": list(plan.filters),
        "summary": {
            **{k.replace("-", "_"): v for k, v in counts.items()},
            "has_changes": plan.has_changes,
            "breaking": sum(1 for c in plan.changes if c.breaking),
        },
        "changes": [_change_to_dict(c) for c in plan.changes],
        "notes": [{"name": n.name, "id": n.task_id, "message": n.message} for n in plan.notes],
        "warnings": list(plan.warnings),
        "fingerprints": [
            {"id": f.task_id, "name": f.name, "updated_at": f.updated_at, "digest": f.digest}
            for f in plan.fingerprints
        ],
        "scope_digest": plan.scope_digest,
        "change_digest": plan.change_digest,
    }


def render_plan_json(plan: Plan) -> str:
    """The saved-plan format as text (`plan --out`, `plan --output json`): indented, sorted keys."""
    return json.dumps(plan_to_dict(plan), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _change_from_dict(data: dict[str, Any]) -> Change:
    return Change(
        action=Action(data["action"]),
        name=data["name"],
        reason=data.get("reason", ""),
        task_id=data.get("id"),
        previous_name=data.get("previous_name"),
        before=data.get("before"),
        after=data.get("after"),
        request_body=data.get("request_body"),
        fields=tuple(
            FieldChange(
                pointer=f["pointer"],
                before=f.get("before"),
                after=f.get("after"),
                sensitive=bool(f.get("sensitive")),
            )
            for f in data.get("fields", [])
        ),
        breaking=tuple(data.get("breaking", [])),
        source=data.get("source"),
        sensitive_pointers=frozenset(data.get("sensitive_pointers", [])),
        ignore_fields=tuple(data.get("ignore_fields", [])),
    )


def plan_from_dict(data: dict[str, Any]) -> Plan:
    """A Plan from its JSON form.

    Raises:
        InputError: an unknown format version or a malformed document.
    """
    if data.get("format_version") != FORMAT_VERSION:
        raise InputError(
            f"unsupported saved-plan format_version {data.get('format_version')!r} "
            f"(this titan-gitops reads {FORMAT_VERSION!r})"
        )
    try:
        return Plan(
            changes=tuple(_change_from_dict(c) for c in data["changes"]),
            notes=tuple(
                Note(name=n["name"], message=n["message"], task_id=n.get("id"))
                for n in data.get("notes", [])
            ),
            namespace=data.get("namespace"),
            filtered=bool(data.get("filtered")),
            filters=tuple(data.get("filters", [])),
            fingerprints=tuple(
                Fingerprint(
                    task_id=f["id"],
                    name=f["name"],
                    updated_at=f.get("updated_at"),
                    digest=f["digest"],
                )
                for f in data.get("fingerprints", [])
            ),
            scope_digest=data["scope_digest"],
            change_digest=data["change_digest"],
            target=data.get("target", ""),
            warnings=tuple(data.get("warnings", [])),
            managed_names=tuple(data.get("managed_names", [])),
            directory=data.get("directory", ""),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"the saved plan is malformed: {type(exc).__name__}: {exc}") from None


def read_plan_file(path: Path) -> Plan:
    """Read a saved plan.

    Raises:
        InputError: unreadable, not JSON, or not a plan of this format.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"{path}: cannot read the saved plan: {exc.strerror}") from None
    except ValueError as exc:
        raise InputError(f"{path}: the saved plan is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: the saved plan is not a JSON object")
    return plan_from_dict(data)


def write_plan_file(path: Path, plan: Plan, *, secrets: SecretSet) -> None:
    """Save `plan` as JSON, every secret masked, atomically (a reader never sees half a file).

    The mask is applied here, where the file is written, so no caller can forget it: a live
    value that happens to equal a secret would otherwise be saved in clear in `before`.
    """
    text = secrets.mask(render_plan_json(plan))
    write_text_atomic(path, text, parents=True)
