"""Pure renders of located problems: terminal text, JSON, and GitHub workflow annotations."""

from __future__ import annotations

import json
from collections.abc import Sequence

from titan_gitops.errors import Problem


def render_problems_text(problems: Sequence[Problem]) -> str:
    """One `path:line:col: field: message` line per problem, sorted; warnings say so."""
    lines = []
    for problem in sorted(problems):
        if problem.severity == "error":
            lines.append(str(problem))
        else:
            where = f"{problem.path}:{problem.line}:{problem.col}"
            field = f"{problem.field}: " if problem.field else ""
            lines.append(f"{where}: {problem.severity}: {field}{problem.message}")
    return "\n".join(lines)


def render_problems_json(problems: Sequence[Problem]) -> str:
    """The problems as a JSON document: `{"problems": [...], "errors": n, "warnings": n}`."""
    ordered = sorted(problems)
    errors = sum(1 for p in ordered if p.severity == "error")
    document = {
        "problems": [p.as_dict() for p in ordered],
        "errors": errors,
        "warnings": len(ordered) - errors,
    }
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False)


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render_problems_github(problems: Sequence[Problem]) -> str:
    """GitHub workflow commands, `::error file=…,line=…,col=…,title=…::message`, escaped."""
    lines = []
    for problem in sorted(problems):
        command = "error" if problem.severity == "error" else "warning"
        properties = [f"file={_escape_property(problem.path)}"]
        if problem.line > 0:
            properties.append(f"line={problem.line}")
            properties.append(f"col={problem.col}")
        if problem.field:
            properties.append(f"title={_escape_property(problem.field)}")
        lines.append(f"::{command} {','.join(properties)}::{_escape_data(problem.message)}")
    return "\n".join(lines)
