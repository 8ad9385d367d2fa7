"""`TITAN_VAR_` values written back as placeholders and `${` as `$${`: substitution's inverse."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from titan_gitops.load import load_yaml_file, load_yaml_text
from titan_gitops.secrets import MIN_SECRET_LENGTH
from titan_gitops.validate.context import Run
from titan_gitops.validate.variables import VAR_PREFIX, substitute_variables

_VAR_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class AmbiguousValue(Exception):
    """A live string holds a value two or more variables share: no placeholder is the right one."""

    def __init__(self, names: tuple[str, ...]) -> None:
        super().__init__(", ".join(names))
        self.names = names


@dataclass(frozen=True)
class Placeholders:
    """The `TITAN_VAR_` variables export writes back as placeholders, found by their values."""

    names: Mapping[str, tuple[str, ...]]
    # Values long enough to look for inside a longer string, longest first (leftmost-longest
    # matching); a shorter one would turn ordinary text into placeholders.
    inside: re.Pattern[str] | None

    @classmethod
    def of(cls, variables: Mapping[str, str]) -> Placeholders:
        """The placeholders of the non-empty `TITAN_VAR_*` values in `variables`."""
        names: dict[str, list[str]] = {}
        for name, value in sorted(variables.items()):
            if name.startswith(VAR_PREFIX) and _VAR_NAME.fullmatch(name) and value:
                names.setdefault(value, []).append(name)
        long = sorted((v for v in names if len(v) >= MIN_SECRET_LENGTH), key=lambda v: -len(v))
        inside = re.compile("|".join(map(re.escape, long))) if long else None
        return cls({v: tuple(n) for v, n in names.items()}, inside)

    def _placeholder(self, value: str) -> str:
        names = self.names[value]
        if len(names) > 1:
            raise AmbiguousValue(names)
        return "${" + names[0] + "}"

    def write(self, text: str) -> str:
        """`text` as a definition holds it: known values as placeholders, `${` as `$${`.

        Raises:
            AmbiguousValue: a value in `text` is held by two variables or more.
        """
        if text in self.names:
            return self._placeholder(text)
        if self.inside is None:
            return escape_placeholders(text)
        parts: list[str] = []
        start = 0
        for match in self.inside.finditer(text):
            parts += [escape_placeholders(text[start : match.start()]), self._placeholder(match[0])]
            start = match.end()
        parts.append(escape_placeholders(text[start:]))
        return "".join(parts)


def escape_placeholders(text: str) -> str:
    """`text` with every `${` written `$${`, which validate reads back as a literal `${`."""
    return text.replace("${", "$${")


def with_placeholders(value: Any, table: Placeholders) -> Any:
    """Every string value of a document (never a key: keys are not substituted) as written."""
    if isinstance(value, dict):
        return {k: with_placeholders(v, table) for k, v in value.items()}
    if isinstance(value, list):
        return [with_placeholders(v, table) for v in value]
    if isinstance(value, str):
        return table.write(value)
    return value


def reads_back_as(
    text: str, document: dict[str, Any], variables: Mapping[str, str] | None = None
) -> bool:
    """True when the loader reads `text` as exactly one document that, its `${…}` substituted as
    validate does with `variables`, equals `document`."""
    documents, problems = load_yaml_text(text, "export")
    if problems or len(documents) != 1:
        return False
    data = documents[0].data
    # The loader marks a file for substitution by its text, exactly so here.
    if "${" in text and isinstance(data, dict):
        run = Run(Path("."), variables or {}, load_yaml_file)
        substitute_variables(run, data, data)
        if run.problems:
            return False
    return bool(data == document)
