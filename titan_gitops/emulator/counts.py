"""How many requests the emulator received, per method and route template (an admin figure).

Counted as the server sees them, before fault injection: a request answered by an injected fault,
a 401 or a 429 counts too. The key is the method and the route's template
(`PATCH /api/v1/tasks/{task_id}`); a path no route matches counts under `<method> <unmatched>`.
Requests to the `/_emulator/` admin routes are not counted.
"""

from __future__ import annotations

import threading

from titan_gitops.emulator.errors import WireError
from titan_gitops.emulator.faults import ADMIN_PREFIX
from titan_gitops.emulator.routes import RouteTable

UNMATCHED = "<unmatched>"


class RequestCounts:
    """Thread-safe counts of requests per `METHOD template`."""

    def __init__(self, routes: RouteTable) -> None:
        self._routes = routes
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()

    def record(self, method: str, path: str) -> None:
        """Count one request (admin paths are skipped)."""
        if path.startswith(ADMIN_PREFIX) or path == ADMIN_PREFIX.rstrip("/"):
            return
        try:
            route, _ = self._routes.resolve(method, path)
            template = route.template
        except WireError:
            template = UNMATCHED
        key = f"{method} {template}"
        with self._lock:
            self._counts[key] = self._counts.get(key, 0) + 1

    def snapshot(self) -> dict[str, int]:
        """The counts so far, keys sorted."""
        with self._lock:
            return dict(sorted(self._counts.items()))

    def clear(self) -> int:
        """Forget every count; returns how many requests had been counted."""
        with self._lock:
            total = sum(self._counts.values())
            self._counts.clear()
        return total
