"""The route table: (method, path template) -> handler and the scope it needs; request and reply.

Later routes (executions, results, `/_emulator/` admin) register into the same table.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from titan_gitops.emulator.errors import BadRequest, MethodNotAllowed, NotFound

# Deeper bodies are refused: validation, JSON Schema checks and storage all recurse.
MAX_JSON_DEPTH = 64


@dataclass
class Request:
    """One parsed HTTP request, as handlers see it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    remote_addr: str = ""
    params: dict[str, str] = field(default_factory=dict)
    # Who asks, for per-caller budgets: "token:<token>", or "addr:<address>" without a known one.
    caller: str = ""

    def json_object(self, *, required: bool) -> dict[str, Any]:
        """The body as a JSON object; {} for an empty optional body."""
        if not self.body.strip():
            if required:
                raise BadRequest("body: a JSON object is required")
            return {}
        try:
            value = json.loads(self.body, parse_constant=_refuse_constant)
        except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
            raise BadRequest("body: not valid JSON") from None
        except RecursionError:
            raise BadRequest(f"body: nested deeper than {MAX_JSON_DEPTH} levels") from None
        if not isinstance(value, dict):
            raise BadRequest("body: must be a JSON object")
        if measure_depth(value) > MAX_JSON_DEPTH:
            raise BadRequest(f"body: nested deeper than {MAX_JSON_DEPTH} levels")
        return value


def _refuse_constant(name: str) -> Any:
    # NaN and Infinity are not JSON; accepting them would store values no strict client reads.
    raise ValueError(name)


def measure_depth(value: Any) -> int:
    """How deeply containers nest in a JSON value (iteratively, so any depth is safe)."""
    deepest = 0
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict):
            children: Iterable[Any] = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        pending.extend((child, depth + 1) for child in children)
    return deepest


@dataclass
class Reply:
    """What a handler answers: enveloped `data` (and `meta`), or a raw body when `raw` is set."""

    data: Any = None
    status: int = 200
    meta: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None
    content_type: str = "application/json"


Handler = Callable[[Request], Reply]


@dataclass(frozen=True)
class Route:
    """One method on one path template; `scope` None means any authenticated caller."""

    method: str
    template: str
    pattern: re.Pattern[str]
    handler: Handler
    scope: str | None
    # Counted against the caller's rate-limit budget (admin routes will opt out).
    metered: bool = True
    # Served without a Titan token (admin routes check their own credential).
    needs_token: bool = True


def compile_template(template: str) -> re.Pattern[str]:
    """`/api/v1/tasks/{task_id}` -> a regex with one named group per `{name}` segment."""
    parts = []
    for piece in re.split(r"(\{\w+\})", template):
        if piece.startswith("{") and piece.endswith("}"):
            parts.append(f"(?P<{piece[1:-1]}>[^/]+)")
        else:
            parts.append(re.escape(piece))
    # A trailing slash is tolerated, as most HTTP frameworks do.
    return re.compile("".join(parts) + r"/?\Z")


class RouteTable:
    """Routes in registration order; resolving a path gives its route or a 404/405 error."""

    def __init__(self) -> None:
        self.routes: list[Route] = []

    def add(
        self,
        method: str,
        template: str,
        handler: Handler,
        *,
        scope: str | None,
        metered: bool = True,
        needs_token: bool = True,
    ) -> None:
        """Register `handler` for `method` on `template`."""
        self.routes.append(
            Route(
                method.upper(),
                template,
                compile_template(template),
                handler,
                scope,
                metered,
                needs_token,
            )
        )

    def resolve(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        """The route for this request and its path parameters; NotFound or MethodNotAllowed."""
        allowed: list[str] = []
        for route in self.routes:
            match = route.pattern.match(path)
            if match is None:
                continue
            if route.method == method:
                return route, match.groupdict()
            allowed.append(route.method)
        if allowed:
            raise MethodNotAllowed(
                f"{method} is not allowed on {path} (allowed: {', '.join(sorted(set(allowed)))})",
                headers={"Allow": ", ".join(sorted(set(allowed)))},
            )
        raise NotFound(f"no route {path}")
