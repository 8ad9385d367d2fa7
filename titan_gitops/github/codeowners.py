"""CODEOWNERS, read as GitHub reads it.

GitHub looks for the file in `.github/`, the root, then `docs/`, and uses the first it finds.
Each line is a gitignore-style pattern and its owners (`@user`, `@org/team`, an email); the
last line whose pattern matches a path decides its owners, and a line with a pattern and no
owners leaves the path unowned. `#` starts a comment; a line with an owner GitHub would not
accept is skipped whole, as GitHub skips it.

Patterns: a leading `/` or a `/` in the middle anchors the pattern to the repository root,
otherwise it matches at any depth; a trailing `/` matches only inside such a folder; a match of
a folder owns everything under it, except after a trailing `/*`, which owns only the folder's
own files (GitHub's documented exception to gitignore); `*` and `?` stay within one name, `**`
spans folders. A backslash makes the next character literal, so `\\#x` is the pattern `#x`.
(GitHub's docs say this escape "doesn't work" in CODEOWNERS; reading it as a pattern can only
name more owners, never fewer, which is the safe side for an approval check.)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

LOCATIONS = (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS")
_USER = re.compile(r"@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\[bot\])?")
_TEAM = re.compile(r"@([A-Za-z0-9][A-Za-z0-9-]*)/([A-Za-z0-9_.-]+)")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


@dataclass(frozen=True)
class Rule:
    """One CODEOWNERS line: its pattern, owners (possibly none) and 1-based line number."""

    pattern: str
    owners: tuple[str, ...]
    line: int
    regex: re.Pattern[str]


@dataclass(frozen=True)
class CodeOwners:
    """The rules of one CODEOWNERS file, in file order."""

    rules: tuple[Rule, ...]

    def rule_for(self, path: str) -> Rule | None:
        """The last rule whose pattern matches `path` (relative, `/`-separated), if any."""
        for rule in reversed(self.rules):
            if rule.regex.match(path):
                return rule
        return None

    def owners_of(self, path: str) -> tuple[str, ...]:
        """The owners of `path`: empty when no line matches or the matching line names none."""
        rule = self.rule_for(path)
        return rule.owners if rule is not None else ()


def _tokens(line: str) -> list[str]:
    """The line's whitespace-separated tokens, backslash escapes kept, up to a comment."""
    tokens: list[str] = []
    current = ""
    i = 0
    while i < len(line):
        char = line[i]
        if char == "\\" and i + 1 < len(line):
            current += line[i : i + 2]
            i += 2
            continue
        if char.isspace():
            if current:
                tokens.append(current)
            current = ""
        elif char == "#" and not current:
            break  # a comment to the end of the line
        else:
            current += char
        i += 1
    if current:
        tokens.append(current)
    return tokens


def is_owner(token: str) -> bool:
    """True for an owner GitHub accepts: `@user`, `@org/team` or an email address."""
    return any(p.fullmatch(token) for p in (_USER, _TEAM, _EMAIL))


def parse_codeowners(text: str) -> CodeOwners:
    """The rules of a CODEOWNERS file; lines GitHub would skip are left out."""
    rules: list[Rule] = []
    for number, line in enumerate(text.splitlines(), start=1):
        tokens = _tokens(line)
        if not tokens:
            continue
        pattern, owners = tokens[0], tuple(tokens[1:])
        if not all(is_owner(o) for o in owners):
            continue
        try:
            regex = compile_pattern(pattern)
        except re.error:
            continue
        rules.append(Rule(pattern, owners, number, regex))
    return CodeOwners(tuple(rules))


def _segment(segment: str) -> str:
    out = ""
    i = 0
    while i < len(segment):
        char = segment[i]
        if char == "\\" and i + 1 < len(segment):
            out += re.escape(segment[i + 1])
            i += 2
            continue
        out += "[^/]*" if char == "*" else "[^/]" if char == "?" else re.escape(char)
        i += 1
    return out


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """The regular expression a CODEOWNERS pattern matches repository paths with.

    Raises:
        re.error: never for a pattern made of plain characters.
    """
    anchored = pattern.startswith("/")
    body = pattern.strip("/") if anchored else pattern.rstrip("/")
    folder_only = pattern.endswith("/") and len(pattern) > 1
    anchored = anchored or "/" in body
    segments = body.split("/") if body else ["**"]
    out = ""
    for i, segment in enumerate(segments):
        first, last = i == 0, i == len(segments) - 1
        if segment == "**":
            out += (
                ".*" if first and last else "(?:.*/)?" if first else "/.*" if last else "/(?:.*/)?"
            )
            continue
        if not first and segments[i - 1] != "**":
            out += "/"
        out += _segment(segment)
    if segments[-1] == "**" or (segments[-1] == "*" and anchored and not folder_only):
        tail = ""
    elif folder_only:
        tail = "/.*"
    else:
        tail = "(?:/.*)?"
    return re.compile(("" if anchored else "(?:.*/)?") + out + tail + r"\Z")


def split_owners(
    owners: tuple[str, ...],
) -> tuple[tuple[str, ...], tuple[tuple[str, str], ...], tuple[str, ...]]:
    """Owners as user logins (lower-cased: GitHub logins ignore case), (org, team slug) pairs
    and email addresses."""
    users: list[str] = []
    teams: list[tuple[str, str]] = []
    emails: list[str] = []
    for owner in owners:
        if team := _TEAM.fullmatch(owner):
            teams.append((team.group(1).lower(), team.group(2).lower()))
        elif owner.startswith("@"):
            users.append(owner[1:].lower())
        else:
            emails.append(owner)
    return tuple(users), tuple(teams), tuple(emails)
