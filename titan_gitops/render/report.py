"""Render an ApplyReport: the journal of outcomes and an honest summary line. Pure.

Names, ids and the service's messages are escaped in every line and in the JSON.
"""

from __future__ import annotations

import json
from typing import Any

from titan_gitops.escape import escape_json_text, escape_terminal
from titan_gitops.model import Action, ApplyReport, Outcome, Status
from titan_gitops.render.values import SENSITIVE, show_value

_PAST = {
    Action.CREATE: "created",
    Action.UPDATE: "updated",
    Action.RENAME: "renamed",
    Action.DELETE: "deleted",
    Action.NO_OP: "unchanged",
}


def describe_outcome(outcome: Outcome) -> str:
    """One journal line: `created shop-a (id …)`, `FAILED update shop-b: …`."""
    change = outcome.change
    ident = f" (id {outcome.task_id})" if outcome.task_id else ""
    if outcome.status is Status.APPLIED:
        text = f"{_PAST[change.action]} {change.name}{ident}"
    elif outcome.status is Status.RECONCILED:
        text = f"{_PAST[change.action]} {change.name}{ident} [{outcome.message}]"
    elif outcome.status is Status.FAILED:
        text = f"FAILED {change.action.value} {change.name}{ident}: {outcome.message}"
    else:
        text = f"skipped {change.action.value} {change.name}: {outcome.message}"
    return escape_terminal(text)


def summary_line(report: ApplyReport) -> str:
    """`Apply complete: … Converged.` or `Apply failed: 2 applied, 1 failed, 3 skipped.`"""
    done = [o for o in report.outcomes if o.status in (Status.APPLIED, Status.RECONCILED)]
    if report.ok:
        if not report.outcomes:
            return "Apply complete: no changes. Converged."
        n = {a: sum(1 for o in done if o.change.action is a) for a in _PAST}
        return (
            f"Apply complete: {n[Action.CREATE]} created, {n[Action.UPDATE]} updated, "
            f"{n[Action.RENAME]} renamed, {n[Action.DELETE]} deleted. Converged."
        )
    failed = report.count(Status.FAILED)
    skipped = report.count(Status.SKIPPED)
    verb = "interrupted" if report.interrupted else "failed"
    tail = "" if failed or skipped else " The service did not converge."
    return f"Apply {verb}: {len(done)} applied, {failed} failed, {skipped} skipped.{tail}"


def render_report_text(report: ApplyReport) -> str:
    """The journal, mismatches and summary as text."""
    lines = [describe_outcome(o) for o in report.outcomes]
    for name, fields in report.mismatches:
        if not fields:
            lines.append(escape_terminal(f"not converged: {name} is missing after the apply"))
        for f in fields:
            stored = SENSITIVE if f.sensitive else show_value(f.before)
            planned = SENSITIVE if f.sensitive else show_value(f.after)
            line = f"not converged: {name}: {f.path} is stored as {stored}, the plan said {planned}"
            lines.append(escape_terminal(line))
    lines.append(summary_line(report))
    return "\n".join(lines) + "\n"


def report_to_dict(report: ApplyReport) -> dict[str, Any]:
    """The JSON-ready journal."""
    return {
        "ok": report.ok,
        "converged": report.converged,
        "interrupted": report.interrupted,
        "summary": {
            "applied": report.count(Status.APPLIED) + report.count(Status.RECONCILED),
            "reconciled": report.count(Status.RECONCILED),
            "failed": report.count(Status.FAILED),
            "skipped": report.count(Status.SKIPPED),
            "created": sum(
                1
                for o in report.outcomes
                if o.change.action is Action.CREATE
                and o.status in (Status.APPLIED, Status.RECONCILED)
            ),
        },
        "outcomes": [
            {
                "action": o.change.action.value,
                "name": o.change.name,
                "id": o.task_id,
                "status": o.status.value,
                "message": o.message,
            }
            for o in report.outcomes
        ],
        "mismatches": [
            {"name": name, "fields": [f.path for f in fields]} for name, fields in report.mismatches
        ],
        "line": summary_line(report),
    }


def render_report_json(report: ApplyReport) -> str:
    """The journal as JSON; unsafe characters in names and messages are `\\u` escapes."""
    text = json.dumps(report_to_dict(report), indent=2, sort_keys=True, ensure_ascii=False)
    return escape_json_text(text) + "\n"
