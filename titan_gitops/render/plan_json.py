"""Render a Plan as versioned JSON (the saved-plan format, documented in the README). Pure.

Sensitive values never appear in clear: they are stored as `{"sensitive": true, "sha256": ...}`.
"""

from __future__ import annotations

import json
from typing import Any

from titan_gitops import __version__
from titan_gitops.changes import Change, Plan
from titan_gitops.render.values import hide_pointers, mask_text, sensitive_hash

FORMAT_VERSION = "1"


def _change(change: Change) -> dict[str, Any]:
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
                "before": sensitive_hash(f.before) if f.sensitive else f.before,
                "after": sensitive_hash(f.after) if f.sensitive else f.after,
                "sensitive": f.sensitive,
            }
            for f in change.fields
        ],
        "before": change.before,
        "after": hide_pointers(change.after, hidden),
        "request_body": hide_pointers(change.request_body, hidden),
    }


def plan_to_dict(plan: Plan) -> dict[str, Any]:
    """The JSON-ready form of a plan."""
    counts = plan.counts()
    return {
        "format_version": FORMAT_VERSION,
        "tool": "titan-gitops",
        "tool_version": __version__,
        "target": plan.target,
        "namespace": plan.namespace,
        "filtered": plan.filtered,
        "filters": list(plan.filters),
        "summary": {
            **{k.replace("-", "_"): v for k, v in counts.items()},
            "has_changes": plan.has_changes,
            "breaking": sum(1 for c in plan.changes if c.breaking),
        },
        "changes": [_change(c) for c in plan.changes],
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
    """The plan as indented, key-sorted JSON with a trailing newline."""
    text = json.dumps(plan_to_dict(plan), indent=2, sort_keys=True, ensure_ascii=False)
    return mask_text(text, plan.secrets) + "\n"
