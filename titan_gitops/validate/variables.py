"""`${TITAN_VAR_*}` substitution in string values, recording every substituted value as secret.

A value too short to mask is still substituted, but each use of it is warned about: masking it
would shred every output, so it would show wherever the field is printed.
"""

from __future__ import annotations

import re
from typing import Any

from titan_gitops.errors import Problem
from titan_gitops.load import LineDict, LineList
from titan_gitops.secrets import MIN_SECRET_LENGTH
from titan_gitops.validate.context import Loc, Run, format_field_path, locate

VAR_PREFIX = "TITAN_VAR_"
# `$${` is a literal `${` wherever it stands (closed or not), so any text can be written.
_VAR = re.compile(r"\$\$\{|\$\{([^}]*)\}")
_VAR_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class Sensitive(str):
    """A string that holds a substituted `${VAR}` value."""

    __slots__ = ()


def substitute_variables(run: Run, root: Any, node: Any, prefix: Loc = ()) -> None:
    """Replace `${TITAN_VAR_*}` in every string value, in place; `$${` stays a literal `${`.

    `root` is the document, so problems name the whole field path; `node` is the part at `prefix`.
    """
    if isinstance(node, LineDict):
        for key, value in node.items():
            if isinstance(value, str):
                node[key] = _substitute_text(run, root, (*prefix, key), value)
            else:
                substitute_variables(run, root, value, (*prefix, key))
    elif isinstance(node, LineList):
        for index, value in enumerate(node):
            if isinstance(value, str):
                node[index] = _substitute_text(run, root, (*prefix, index), value)
            else:
                substitute_variables(run, root, value, (*prefix, index))


def _substitute_text(run: Run, parent: Any, loc: Loc, text: str) -> str:
    if "${" not in text:
        return text
    used = False

    def replace(match: re.Match[str]) -> str:
        nonlocal used
        name = match.group(1)
        if name is None:
            return "${"
        if not _VAR_NAME.match(name) or not name.startswith(VAR_PREFIX):
            run.add(parent, loc, f"${{{name}}}: only variables named {VAR_PREFIX}* are read")
            return match.group()
        value = run.environ.get(name)
        if value is None:
            run.add(parent, loc, f"the variable {name} is not set")
            return match.group()
        used = True
        run.substituted = True
        if value:
            run.secrets.add(value)
        if 0 < len(value) < MIN_SECRET_LENGTH:
            _warn_unmaskable(run, parent, loc, name)
        return value

    result = _VAR.sub(replace, text)
    return Sensitive(result) if used else result


def _warn_unmaskable(run: Run, parent: Any, loc: Loc, name: str) -> None:
    src, line, col = locate(parent, loc, ("", 1, 1))
    message = (
        f"the value of {name} is shorter than {MIN_SECRET_LENGTH} characters, so it cannot be "
        "masked and will show wherever this field is printed; use a longer value or do not "
        "keep it in a variable"
    )
    run.warnings.append(
        Problem(src, line, col, format_field_path(loc), message, severity="warning")
    )
