"""When to wait and how long: jittered backoff, rate-limit headers, and the shared limiter.

Pure arithmetic on injected clocks and random sources, so every rule is testable without sleeping.
"""

from __future__ import annotations

import email.utils
import math
import random
import threading
from collections.abc import Callable, Mapping

# X-RateLimit-Reset is documented as epoch seconds; a small number can only be a delay in seconds
# (some gateways send that), so values below this threshold are read as "seconds from now".
_EPOCH_THRESHOLD = 1_000_000_000
# The documented budget is per minute: the limiter never waits longer than one window.
LIMITER_WINDOW = 60.0
_PROBE_POLL = 0.02  # how often waiting workers look whether the probe was answered
_PROBE_TIMEOUT = 10.0  # a probe that never answers stops holding the others after this

RETRYABLE_STATUSES = frozenset({500, 502, 503, 504})


def compute_backoff(
    attempt: int, *, base: float, cap: float, rand: Callable[[], float] = random.random
) -> float:
    """Capped exponential backoff with "equal jitter": half fixed, half random, never above cap.

    `attempt` counts from 0 (the wait before the first retry).
    """
    ceiling = min(cap, base * (2.0 ** min(attempt, 32)))
    return min(cap, ceiling / 2 + rand() * ceiling / 2)


def _parse_number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value.strip())
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def parse_retry_after(value: str | None, *, now: float) -> float | None:
    """Seconds to wait from a Retry-After header, in its seconds or HTTP-date form; None if absent
    or unreadable."""
    if value is None or not value.strip():
        return None
    seconds = _parse_number(value)
    if seconds is not None:
        return max(0.0, seconds)
    try:
        when = email.utils.parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        # RFC 9110 dates are always GMT; a naive parse means the zone was written as "-0000".
        return None
    return max(0.0, when.timestamp() - now)


def parse_reset(value: str | None, *, now: float) -> float | None:
    """Seconds until the rate-limit window resets, from X-RateLimit-Reset; None if absent."""
    number = _parse_number(value)
    if number is None:
        return None
    if number < _EPOCH_THRESHOLD:
        return max(0.0, number)
    return max(0.0, number - now)


def parse_quota_reset(headers: Mapping[str, str], *, now: float) -> float | None:
    """Seconds until a spent preview quota renews: X-Preview-Reset, else Retry-After."""
    hinted = parse_reset(headers.get("x-preview-reset"), now=now)
    return hinted if hinted is not None else parse_retry_after(headers.get("retry-after"), now=now)


def compute_rate_limit_wait(
    headers: Mapping[str, str],
    attempt: int,
    *,
    now: float,
    base: float,
    cap: float,
    rand: Callable[[], float] = random.random,
) -> float:
    """How long to wait after a 429: the server's reset time or Retry-After (plus a little jitter
    so parallel workers do not return in lockstep), else backoff; never longer than `cap`."""
    hinted = parse_reset(headers.get("x-ratelimit-reset"), now=now)
    if hinted is None:
        hinted = parse_retry_after(headers.get("retry-after"), now=now)
    if hinted is None:
        return compute_backoff(attempt, base=base, cap=cap, rand=rand)
    return min(cap, hinted + rand() * min(base, 1.0))


class RateLimiter:
    """Client-side pacing shared by every thread using one client.

    It follows X-RateLimit-Limit/-Remaining when the server sends them: it counts down the
    remaining budget locally (so parallel workers do not overshoot it; a late response never
    raises the count within a window) and, once the budget is spent, holds every request until
    the window resets: X-RateLimit-Reset when given, else one minute after the window was seen to
    open (a response with Remaining = Limit - 1), else 60 s / limit. Then a single request probes
    the new budget while the others wait for its answer, so a pool of workers never stampedes
    into a window that has not reset. Without those headers it never waits.
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
        max_wait: float = LIMITER_WINDOW,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self._max_wait = max_wait
        self._lock = threading.Lock()
        self._remaining: int | None = None
        self._limit: int | None = None
        self._blocked_until = 0.0
        self._window_start: float | None = None
        self._probe_due = False  # the budget ran out: the next request goes alone
        self._probe_until = 0.0  # a probe is in flight until its answer, or this time
        self._waited = 0.0

    @property
    def waited(self) -> float:
        """Total seconds this limiter has held requests back."""
        with self._lock:
            return self._waited

    def acquire(self) -> float:
        """Wait for permission to send one request; return the seconds waited."""
        total = 0.0
        while True:
            with self._lock:
                now = self._clock()
                wait = self._blocked_until - now
                if wait <= 0 and self._remaining is not None and self._remaining <= 0:
                    self._blocked_until = now + self._pause_until_reset(now)
                    wait = self._blocked_until - now
                if wait <= 0 and self._remaining is None and now < self._probe_until:
                    wait = _PROBE_POLL  # another request is finding out the new budget
                if wait <= 0:
                    if self._remaining is not None:
                        self._remaining -= 1
                    elif self._probe_due:
                        self._probe_due = False
                        self._probe_until = now + _PROBE_TIMEOUT
                    self._waited += total
                    return total
                if self._remaining is not None and self._remaining <= 0:
                    # Once the window has passed the budget is unknown until the next response.
                    self._remaining = None
                    self._probe_due = True
            self._sleep(wait)
            total += wait

    def observe(self, headers: Mapping[str, str]) -> None:
        """Learn the budget from a response's rate-limit headers (absent headers change nothing)."""
        limit = _parse_number(headers.get("x-ratelimit-limit"))
        remaining = _parse_number(headers.get("x-ratelimit-remaining"))
        if remaining is None:
            return
        with self._lock:
            now = self._clock()
            if limit is not None and limit > 0:
                self._limit = int(limit)
            seen = max(0, int(remaining))
            fresh = self._limit is not None and seen == self._limit - 1
            if fresh:
                self._window_start = now
            if self._remaining is None or fresh:
                self._remaining = seen
            else:
                self._remaining = min(self._remaining, seen)
            self._probe_until = 0.0
            self._probe_due = False
            if self._remaining == 0:
                until = parse_reset(headers.get("x-ratelimit-reset"), now=now)
                pause = self._pause_until_reset(now) if until is None else until
                self._blocked_until = max(self._blocked_until, now + min(pause, self._max_wait))

    def _pause_until_reset(self, now: float) -> float:
        if self._window_start is not None:
            left = self._window_start + LIMITER_WINDOW - now
            if left > 0:
                return min(left, self._max_wait)
        return self._pause_without_reset()

    def _pause_without_reset(self) -> float:
        limit = self._limit or 1
        return min(self._max_wait, LIMITER_WINDOW / limit)
