"""Counting the requests a service receives: WSGI middleware in front of the emulator."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class RequestCounter:
    """WSGI middleware: counts every request it passes on, by method and path.

    A task's own path (`/api/v1/tasks/42`) is counted as `/api/v1/tasks/{id}`, so the counts of
    two runs compare whatever ids the service gave out.
    """

    def __init__(self, app: WSGIApp) -> None:
        self.app = app
        self._lock = threading.Lock()
        self.counts: Counter[tuple[str, str]] = Counter()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        method = str(environ.get("REQUEST_METHOD", "GET"))
        path = str(environ.get("SCRIPT_NAME", "")) + str(environ.get("PATH_INFO", ""))
        with self._lock:
            self.counts[(method, _pattern(path))] += 1
        return self.app(environ, start_response)

    def take(self) -> dict[str, int]:
        """The counts since the last call, as `METHOD path` keys, and start again from zero."""
        with self._lock:
            taken = {f"{m} {p}": n for (m, p), n in sorted(self.counts.items())}
            self.counts.clear()
        return taken


def _pattern(path: str) -> str:
    parts = path.split("/")
    if len(parts) == 5 and parts[1:4] == ["api", "v1", "tasks"] and parts[4]:
        parts[4] = "{id}"
    return "/".join(parts)


def total(counts: dict[str, int]) -> int:
    """Every request in `counts`."""
    return sum(counts.values())
