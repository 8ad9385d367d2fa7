"""The error for a read the client refused to continue, and the wording of the figures it names.

The limits themselves are named in settings.py; here they become one sentence a user can act on,
naming the URL read (origin and route, never a query string) and the figure that was passed.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from titan_gitops.errors import ApiError
from titan_gitops.settings import (
    COMMAND_DEADLINE_VARIABLE,
    REQUEST_DEADLINE_VARIABLE,
    ReadLimits,
)


class ReadLimitExceeded(ApiError):
    """The service's answer passed a bound (pages, items, bytes, seconds, redirects): not retried,
    because the same request would meet the same answer. `bound` names which one."""

    def __init__(self, message: str, *, bound: str, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.bound = bound


def describe_count(value: int) -> str:
    """An integer with thousands separators: 1,000,000,000,000."""
    return f"{value:,}"


def describe_bytes(value: int) -> str:
    """A size in the largest binary unit that keeps it whole where possible: 64 MiB, 4 GiB."""
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if value >= size:
            amount = value / size
            return f"{amount:.0f} {unit}" if amount == int(amount) else f"{amount:.1f} {unit}"
    return f"{value} bytes"


def describe_seconds(value: float) -> str:
    """Seconds as a user wrote them: 3 seconds, 0.5 seconds, 1 second."""
    text = f"{value:g}"
    return f"{text} second" if text == "1" else f"{text} seconds"


def describe_url(origin: str, target: str, path: str) -> str:
    """Where a request went: `target` when absolute (its origin only), else origin + `path`.

    The query string is never shown: media links carry their credential in it.
    """
    parts = urlsplit(target)
    if parts.scheme and parts.netloc:
        return f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}{path}"
    return f"{origin}{path}"


def describe_refusal(kind: str, limit: float, url: str, limits: ReadLimits) -> str:
    """Why the answer from `url` was cut off (a refusal's kind and figure), as a sentence."""
    if kind == "body":
        return (
            f"the answer from {url} passed {describe_bytes(int(limit))} as sent; "
            "refusing to read further"
        )
    if kind == "decoded":
        return (
            f"the answer from {url} passed {describe_bytes(int(limit))} once decompressed; "
            "refusing to decompress further"
        )
    if kind == "encoding":
        return (
            f"the answer from {url} used a Content-Encoding other than gzip or deflate, "
            "which was not asked for; refusing to read it"
        )
    # The request deadline is passed as is when it binds; otherwise what the command had left.
    if limit == limits.request_deadline:
        return (
            f"the answer from {url} took longer than {describe_seconds(limit)} "
            f"({REQUEST_DEADLINE_VARIABLE}); refusing to wait further"
        )
    return (
        f"the command's deadline of {describe_seconds(limits.command_deadline)} "
        f"({COMMAND_DEADLINE_VARIABLE}) ran out while reading {url}; refusing to wait further"
    )


def describe_location(location: str) -> str:
    """Where a redirect points, without its query string or credentials; never raises.

    A hostile Location may hold an impossible port (99999), broken brackets or control
    characters: it is quoted as text, not parsed into a URL that could fail.
    """
    try:
        parts = urlsplit(location.strip())
    except ValueError:
        return "an unparsable location"
    host = parts.netloc.rsplit("@", 1)[-1]
    if host:
        shown = f"{parts.scheme}://{host}" if parts.scheme else f"//{host}"
    else:
        shown = f"the path {parts.path}" if parts.path else "an empty location"
    return shown if len(shown) <= 120 else shown[:119] + "…"
