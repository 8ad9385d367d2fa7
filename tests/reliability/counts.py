"""The figures the reliability suites collect for bench/report.py's report card."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

# Written to this file at the end of a pytest session when the variable is set.
REPORT_ENV = "TITAN_RELIABILITY_JSON"

COUNTS: dict[str, float] = {}
_LOCK = threading.Lock()


def add_count(key: str, amount: float = 1) -> None:
    """Add `amount` to the figure `key` (thread-safe)."""
    with _LOCK:
        COUNTS[key] = COUNTS.get(key, 0) + amount


def raise_peak(key: str, value: float) -> None:
    """Keep the largest value seen for `key`."""
    with _LOCK:
        COUNTS[key] = max(COUNTS.get(key, value), value)


def write_counts() -> None:
    """Dump the figures as JSON to the file named by TITAN_RELIABILITY_JSON, if any."""
    target = os.environ.get(REPORT_ENV)
    if not target:
        return
    with _LOCK:
        Path(target).write_text(json.dumps(COUNTS, indent=2, sort_keys=True), encoding="utf-8")
