"""The emulator's notion of "now": system time plus an offset that tests and admin routes move."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


class Clock:
    """Tells the backend what time it is; `advance` moves it forward without sleeping.

    `Clock()` follows the system clock. `Clock(frozen_at=...)` stands still until advanced, which
    makes rate-limit windows and timestamps deterministic in tests.
    """

    def __init__(self, frozen_at: datetime | None = None) -> None:
        if frozen_at is not None and frozen_at.tzinfo is None:
            raise ValueError("frozen_at must be timezone-aware")
        self._frozen_at = frozen_at.astimezone(UTC) if frozen_at is not None else None
        self._offset = timedelta(0)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """The current emulated time, timezone-aware UTC."""
        with self._lock:
            base = self._frozen_at if self._frozen_at is not None else datetime.now(UTC)
            return base + self._offset

    def time(self) -> float:
        """The current emulated time as epoch seconds."""
        return self.now().timestamp()

    def advance(self, seconds: float) -> datetime:
        """Move the clock forward by `seconds` (never backwards) and return the new now."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._offset += timedelta(seconds=seconds)
        return self.now()


def format_timestamp(moment: datetime) -> str:
    """RFC 3339 UTC with microseconds and a `Z`, e.g. 2026-11-28T21:52:27.123456Z."""
    return moment.astimezone(UTC).strftime(TIMESTAMP_FORMAT)


def parse_timestamp(text: str) -> datetime:
    """Read back a timestamp written by `format_timestamp`."""
    return datetime.strptime(text, TIMESTAMP_FORMAT).replace(tzinfo=UTC)
