"""GitHub's rate-limit signals: how long an answer asks the client to wait, or that it is none.

A 429, or a 403 that carries `Retry-After`, or `x-ratelimit-remaining: 0` with
`x-ratelimit-reset`, or says "rate limit". `Retry-After` is seconds or, as RFC 9110 allows, an HTTP
date, read against the answer's `Date` header (else the runner's clock).
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from email.utils import parsedate_to_datetime

# GitHub: a secondary rate limit without `Retry-After` asks for at least a minute.
_SECONDARY_WAIT = 60.0
# Added to a wait until `x-ratelimit-reset`: the runner's clock and GitHub's may differ.
_RESET_SKEW = 1.0


def _seconds(text: str | None) -> float | None:
    try:
        value = float(text) if text is not None else None
    except ValueError:
        return None
    return value if value is not None and 0 <= value < 10**10 else None


def _epoch(text: str | None) -> float | None:
    """An HTTP date as seconds since the epoch, or None when it is not one."""
    if not text:
        return None
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    # HTTP dates are GMT; a "-0000" zone comes back without tzinfo.
    return moment.replace(tzinfo=moment.tzinfo or datetime.UTC).timestamp()


def retry_after_wait(headers: Mapping[str, str], now: float) -> float | None:
    """`Retry-After` in seconds: a number of seconds, or an HTTP date counted from the answer's
    `Date` (from `now`, the runner's clock, when it has none); None when absent or unreadable."""
    value = headers.get("retry-after")
    seconds = _seconds(value)
    if seconds is not None:
        return seconds
    when = _epoch(value)
    if when is None:
        return None
    sent = _epoch(headers.get("date"))
    return max(when - (sent if sent is not None else now), 0.0)


def rate_limit_wait(
    status: int, headers: Mapping[str, str], message: str, now: float
) -> float | None:
    """The seconds GitHub asks to wait before retrying, or None when this is no rate limit.

    `headers` are lower-cased, as `HttpSession` gives them.
    """
    if status not in (403, 429):
        return None
    retry_after = retry_after_wait(headers, now)
    if retry_after is not None:
        return retry_after
    reset = _seconds(headers.get("x-ratelimit-reset"))
    if headers.get("x-ratelimit-remaining", "").strip() == "0" and reset is not None:
        return max(reset - now, 0.0) + _RESET_SKEW
    if status == 429 or "rate limit" in message.lower():
        return _SECONDARY_WAIT
    return None
