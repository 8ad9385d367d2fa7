"""The selftest report as a text table (expectation / observed / ✓✗) or as JSON."""

from __future__ import annotations

import json
from typing import Any

from titan_gitops.escape import escape_terminal
from titan_gitops.selftest.runner import SelftestReport, describe_cleanup

PASS, FAIL, UNCHECKED = "✓", "✗", "–"


def render_report_text(report: SelftestReport) -> str:
    """The table: one row per expectation; a failed one also says what was expected."""
    width = max((len(o.expectation.id) for o in report.outcomes), default=11)
    lines = [
        f"titan-gitops selftest of {escape_terminal(report.target)} "
        f"(namespace {escape_terminal(report.namespace)})",
        "",
        f"   {'expectation':<{width}}  observed",
    ]
    for outcome in report.outcomes:
        mark = (PASS if outcome.passed else FAIL) if outcome.checked else UNCHECKED
        observed = escape_terminal(outcome.observed)
        lines.append(f"{mark}  {outcome.expectation.id:<{width}}  {observed}")
        if not outcome.passed:
            lines.append(f"   {'':<{width}}  expected: {outcome.expectation.statement}")
            lines.append(f"   {'':<{width}}  see: {outcome.expectation.reference}")
    failed = [o.expectation.id for o in report.outcomes if not o.passed]
    unchecked = [o.expectation.id for o in report.outcomes if not o.checked]
    held = len(report.outcomes) - len(failed) - len(unchecked)
    summary = f"{held} of {len(report.outcomes)} expectations hold"
    summary += f"; not: {', '.join(failed)}" if failed else ""
    summary += f"; not checked: {', '.join(unchecked)}." if unchecked else "."
    lines += ["", summary, escape_terminal(describe_cleanup(report.cleanup, report.namespace))]
    return "\n".join(lines) + "\n"


def report_as_data(report: SelftestReport) -> dict[str, Any]:
    """The report as JSON-ready data."""
    return {
        "target": report.target,
        "namespace": report.namespace,
        "passed": report.passed,
        "expectations": [
            {
                "id": o.expectation.id,
                "statement": o.expectation.statement,
                "reference": o.expectation.reference,
                "choice": o.expectation.choice,
                "passed": o.passed,
                "checked": o.checked,
                "observed": o.observed,
            }
            for o in report.outcomes
        ],
        "cleanup": {
            "removed": report.cleanup.removed,
            "stopped_executions": report.cleanup.stopped,
            "problems": report.cleanup.problems,
        },
    }


def render_report_json(report: SelftestReport) -> str:
    """The report as indented JSON text."""
    return json.dumps(report_as_data(report), indent=2, ensure_ascii=False) + "\n"
