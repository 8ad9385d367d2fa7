"""The one writer of definition values: export's files and the values yamledit splices in.

Strings are written so that every YAML reader reads them alike: controls, line separators and a
byte order mark escaped in double quotes; plain text that YAML 1.1 (or 1.2's JSON schema) reads
as something else (`yes`, `on`, `1:30`, `inf`) in quotes, as are the forms ruamel itself quotes
(`010`, `1e3`, `0x1F`, `~`, `null`, leading or trailing spaces, `#`, `: `); multi-line text as a
literal block (`|`, `|-`, `|+`) when no line ends in a space; collections in block style, empty
ones as `[]` and `{}`.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from typing import Any

from titan_gitops.load.yaml11 import describe_trap

# Characters a plain, quoted-once or block scalar may hold raw but a reader refuses or folds.
NOT_PLAIN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]")
# Export's layout: keys indented by 2, sequences indented under their key (`key:\n  - a`).
DEFAULT_INDENT = 2
DEFAULT_DASH_OFFSET = 2
# Wide enough that no value of a definition is folded over lines.
_WIDTH = 4096
# The longest line a value keeps its one-line form (flow or quoted) in.
_FLOW_WIDTH = 120


def _prepared(value: Any, literal: bool = True) -> Any:
    """`value` with each string marked for the style it must be written in (multi-line text in
    double quotes, not literal blocks, without `literal`)."""
    from ruamel.yaml.scalarstring import (
        DoubleQuotedScalarString,
        LiteralScalarString,
        SingleQuotedScalarString,
    )

    if isinstance(value, Mapping):
        return {_prepared(k, literal): _prepared(v, literal) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_prepared(v, literal) for v in value]
    if not isinstance(value, str):
        return value
    if NOT_PLAIN.search(value):
        # ruamel may write controls and line breaks raw, where a reader refuses or folds
        # them; escaped in double quotes (\b, \N, \L, \P) they read back as they are.
        return DoubleQuotedScalarString(value)
    if "\n" in value:
        if not literal:
            return DoubleQuotedScalarString(value)
        if not any(line != line.rstrip() for line in value.split("\n")):
            return LiteralScalarString(value)
        return value
    if describe_trap(value, value) is not None:
        # Plain, YAML 1.1 tools would read a boolean or a number: `yes`, `on`, `1:30`.
        return SingleQuotedScalarString(value)
    return value


def dump_text(
    document: Mapping[str, Any],
    *,
    indent: int = DEFAULT_INDENT,
    sequence_dash_offset: int = DEFAULT_DASH_OFFSET,
) -> str:
    """`document` as YAML text in block style, `indent` spaces per level and block sequences'
    dashes `sequence_dash_offset` spaces in from their key (0: `key:\\n- a`)."""
    return _emit(_prepared(document), indent, sequence_dash_offset)


def _emit(document: Any, indent: int, sequence_dash_offset: int) -> str:
    from ruamel.yaml import YAML

    if indent < 1 or not 0 <= sequence_dash_offset <= indent:
        raise ValueError(f"unsupported layout: indent {indent}, dash offset {sequence_dash_offset}")
    yaml = YAML(typ="rt")
    yaml.default_flow_style = False
    yaml.width = _WIDTH
    yaml.indent(mapping=indent, sequence=sequence_dash_offset + 2, offset=sequence_dash_offset)
    buffer = io.StringIO()
    yaml.dump(document, buffer)
    return buffer.getvalue()


def dump_value(
    key: str,
    value: Any,
    *,
    indent: int,
    sequence_dash_offset: int,
    quote: str = "",
    flow: bool = False,
    literal: bool = True,
) -> list[str]:
    """The lines (without line ends) of `key: value` at column 0, in the given layout.

    `quote` (`'` or `"`) writes a one-line string in those quotes when they can hold it; `flow`
    writes a list or mapping of scalars on one line (`[a, b]`, `{a: 1}`) when it fits; without
    `literal`, multi-line text goes in double quotes, not in a literal block (`|`).
    """
    written = _prepared(value, literal)
    if flow and _flat(value):
        from ruamel.yaml.comments import CommentedMap, CommentedSeq

        styled = CommentedMap(written) if isinstance(value, Mapping) else CommentedSeq(written)
        styled.fa.set_flow_style()
        text = _emit({_prepared(key): styled}, indent, sequence_dash_offset)
        lines = text.removesuffix("\n").split("\n")
        if len(lines) == 1 and len(lines[0]) <= _FLOW_WIDTH:
            return lines
    if quote and isinstance(value, str) and _quotable(value):
        from ruamel.yaml.scalarstring import DoubleQuotedScalarString, SingleQuotedScalarString

        written = (DoubleQuotedScalarString if quote == '"' else SingleQuotedScalarString)(value)
    text = _emit({_prepared(key): written}, indent, sequence_dash_offset)
    # After a `|+` block at the end, ruamel ends the document (`...`); a spliced value goes on.
    return text.removesuffix("\n").removesuffix("\n...").split("\n")


def _flat(value: Any) -> bool:
    """A non-empty list or mapping of scalars (text on one line each)."""
    if not isinstance(value, list | tuple | Mapping) or not value:
        return False
    items = [*value.keys(), *value.values()] if isinstance(value, Mapping) else list(value)
    return all(
        not isinstance(item, list | tuple | Mapping)
        and not (isinstance(item, str) and ("\n" in item or NOT_PLAIN.search(item)))
        for item in items
    )


def _quotable(value: str) -> bool:
    return "\n" not in value and not NOT_PLAIN.search(value) and len(value) <= _FLOW_WIDTH
