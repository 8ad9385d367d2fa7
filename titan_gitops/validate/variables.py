"""`${TITAN_VAR_*}` substitution in string values, recording every substituted value as secret."""

from __future__ import annotations

import re
from typing import Any

from titan_gitops.load import LineDict, LineList
from titan_gitops.validate.context import Loc, Run

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
        return value

    result = _VAR.sub(replace, text)
    return Sensitive(result) if used else result
