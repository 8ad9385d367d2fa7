"""The whole exception tree of titan-gitops; everything raised on purpose inherits from the root.

```
TitanGitopsError
├── ConfigError              bad flags or environment (target, token)
│   └── BaseUnavailable      the definitions at a git revision (--base) cannot be read
├── InputError               the user must fix their definition files
│   └── ValidationFailed     carries every Problem found, sorted by file and line
├── ApiError                 the Task Service refused, or could not be reached
│   ├── AuthError            401 / 403 (names the missing scope when the server does)
│   ├── NotFound             404
│   ├── BadRequest           400
│   ├── RateLimited          429 after the retries were spent
│   ├── PreviewQuotaExceeded the daily preview quota is spent (never retried)
│   ├── ApiUnavailable       5xx, timeouts and connection errors after the retries
│   └── OutcomeUnknown       a write whose effect on the server is unknown (never blindly re-sent)
├── PlanError                the plan cannot be built safely
├── StalePlan                live state moved since the plan was made
├── LeaseError               another apply holds the namespace's lease, or this run lost it
└── CannotEdit               a definition file cannot be edited in place safely; edit it by hand
```

Messages never contain the bearer token or a substituted secret value: the client builds its
errors from method, path, status and the server's error envelope only. What the service sent
(its code, its message, a path with its ids) is escaped where the message is built, so no
control character reaches a terminal, a log line or an annotation through an error.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from titan_gitops.escape import escape_terminal


class TitanGitopsError(Exception):
    """Root of every error titan-gitops raises on purpose."""


# How many items or names a message shows before it counts the rest.
LISTING_LIMIT = 10


def format_listing(head: str, items: Iterable[str], tail: str = "") -> str:
    """`head:` then one indented line per item, then `tail`; an item can never break its line.

    Items often quote live names, which may hold newlines or escape sequences. Past
    `LISTING_LIMIT` items, the rest are counted, not shown.
    """
    every = list(items)
    lines = [f"{head}:", *(f"  {escape_terminal(item)}" for item in every[:LISTING_LIMIT])]
    if len(every) > LISTING_LIMIT:
        lines.append(f"  … and {len(every) - LISTING_LIMIT} more ({len(every)} in all)")
    if tail:
        lines.append(tail)
    return "\n".join(lines)


def describe_os_cause(exc: BaseException) -> str:
    """The operating system's or TLS's reason behind `exc` (or what it was raised from), in
    words; "" when there is none. Never a library's own message, which may quote a URL."""
    import socket
    import ssl

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl.SSLCertVerificationError):
            return f"the TLS certificate was refused ({current.verify_message})"
        if isinstance(current, socket.gaierror):
            return "the host name could not be resolved"
        if isinstance(current, OSError) and current.strerror:
            return current.strerror.lower()
        current = current.__cause__ or current.__context__
    return ""


def list_names(names: Sequence[str], limit: int = LISTING_LIMIT) -> str:
    """`a, b, c`; past `limit` names, the first ones and how many more (a message stays short)."""
    shown = ", ".join(escape_terminal(name) for name in names[:limit])
    if len(names) <= limit:
        return shown
    return f"{shown} and {len(names) - limit} more ({len(names)} in all)"


class ConfigError(TitanGitopsError):
    """A flag or environment variable is missing or wrong."""


class BaseUnavailable(ConfigError):
    """The definitions at a git revision cannot be read: no checkout, no git, an unknown or
    missing (shallow) commit, or definitions that did not validate at that commit."""


class InputError(TitanGitopsError):
    """The user must fix their definition files."""


@dataclass(frozen=True, order=True)
class Problem:
    """One located problem in a definition file: `path:line:col: field: message`."""

    path: str
    line: int
    col: int
    field: str
    message: str
    severity: str = dataclasses.field(default="error", compare=False)

    def __str__(self) -> str:
        # One line whatever the file name or message holds.
        where = f"{escape_terminal(self.path)}:{self.line}:{self.col}"
        if self.field:
            return f"{where}: {escape_terminal(self.field)}: {escape_terminal(self.message)}"
        return f"{where}: {escape_terminal(self.message)}"

    def as_dict(self) -> dict[str, Any]:
        """The problem as a JSON-ready mapping."""
        return {
            "path": self.path,
            "line": self.line,
            "col": self.col,
            "field": self.field,
            "message": self.message,
            "severity": self.severity,
        }


class ValidationFailed(InputError):
    """Carries every problem found, sorted by file and line."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems)
        errors = [p for p in self.problems if p.severity == "error"]
        noun = "problem" if len(errors) == 1 else "problems"
        super().__init__(f"{len(errors)} {noun} found in the definitions")


class ApiError(TitanGitopsError):
    """The Task Service answered with an error, or could not be reached."""

    def __init__(
        self,
        message: str,
        *,
        method: str = "",
        path: str = "",
        status: int | None = None,
        code: str | None = None,
    ) -> None:
        # The service's words, escaped once here: every printer of this error shows them inert.
        message = escape_terminal(message)
        path = escape_terminal(path)
        code = escape_terminal(code) if code is not None else None
        self.method = method
        self.path = path
        self.status = status
        self.code = code
        self.detail = message
        where = f"{method} {path}".strip()
        parts = [where] if where else []
        if status is not None:
            parts.append(f"HTTP {status}")
        if code:
            parts.append(code)
        prefix = " ".join(parts)
        super().__init__(f"{prefix}: {message}" if prefix else message)


class AuthError(ApiError):
    """401 (no or unknown credentials) or 403 (the token lacks a scope)."""

    def __init__(self, message: str, *, scope: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.scope = scope


class NotFound(ApiError):
    """404: the resource does not exist (or the capability is switched off)."""


class BadRequest(ApiError):
    """400: the service rejected the request body or parameters."""


class RateLimited(ApiError):
    """429 after the client's retries were spent."""


class PreviewQuotaExceeded(ApiError):
    """`preview_limit_exceeded`: the daily preview quota is spent. Not a RateLimited: waiting a
    minute does not help, so it is never retried; `resets_in` is the server's hint in seconds."""

    def __init__(self, message: str, *, resets_in: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.resets_in = resets_in


class ApiUnavailable(ApiError):
    """5xx, timeouts or connection errors after the client's retries."""


class OutcomeUnknown(ApiError):
    """A write was sent but its outcome is unknown; re-read before trying again.

    `may_still_land` is True when the client stopped waiting (a timeout) rather than the
    connection breaking: the server may still be working on the request and commit it later.
    """

    def __init__(self, message: str, *, may_still_land: bool = False, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.may_still_land = may_still_land


class PlanError(TitanGitopsError):
    """The plan cannot be built safely (collisions, duplicates, guards)."""


class LiveEditsRefused(PlanError):
    """Applying would throw away edits made in Titan since the plan's base, and that is not
    allowed."""


class StalePlan(TitanGitopsError):
    """Live state changed since the saved plan was made."""


class LeaseError(TitanGitopsError):
    """Another apply holds the namespace's lease (after the wait), or it could not be taken."""


class CannotEdit(TitanGitopsError):
    """A definition file cannot be edited in place without guessing (a flow-style task, an
    anchor, alias or merge key, a missing or doubled task, a file that does not read cleanly),
    or the edit would not read back as intended; the message names the file, task and key."""
