"""Per-caller request budgets: a one-minute window of N requests on the emulator's clock.

Choices where the docs are silent:
- A caller's window opens with its first request and lasts 60 seconds (not aligned to clock
  minutes, so N quick requests always exhaust one window, however close to a minute boundary
  they run); the first request after it ends opens the next window.
- A caller is its token, or its client address when it has no known token.
- Every counted response carries X-RateLimit-Limit and X-RateLimit-Remaining; a blocked one
  (429) also X-RateLimit-Reset in epoch seconds (rounded up). Blocked requests spend nothing.
- No Retry-After is sent, as the docs say it is not reliable on control-plane 429s.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

from titan_gitops.emulator.clock import Clock

WINDOW_SECONDS = 60
# Forget callers of old windows once this many are tracked, so memory stays bounded.
_PRUNE_AT = 10_000


@dataclass(frozen=True)
class RateDecision:
    """Whether one request may pass, and the headers that describe the caller's budget."""

    allowed: bool
    limit: int
    remaining: int
    reset: int

    def headers(self) -> dict[str, str]:
        """X-RateLimit-* headers for the response (Reset only on a blocked request)."""
        headers = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
        }
        if not self.allowed:
            headers["X-RateLimit-Reset"] = str(self.reset)
        return headers


class RateLimiter:
    """Counts requests per caller in the current minute window."""

    def __init__(self, per_minute: int, clock: Clock) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[float, int]] = {}

    def check(self, caller: str) -> RateDecision:
        """Count one request of `caller` unless its budget for the current window is spent."""
        now = self._clock.time()
        with self._lock:
            start, used = self._windows.get(caller, (now, 0))
            if now >= start + WINDOW_SECONDS:
                start, used = now, 0
            reset = math.ceil(start + WINDOW_SECONDS)
            if used >= self.per_minute:
                return RateDecision(False, self.per_minute, 0, reset)
            used += 1
            if len(self._windows) >= _PRUNE_AT:
                self._windows = {
                    key: value
                    for key, value in self._windows.items()
                    if now < value[0] + WINDOW_SECONDS
                }
            self._windows[caller] = (start, used)
        return RateDecision(True, self.per_minute, self.per_minute - used, reset)
