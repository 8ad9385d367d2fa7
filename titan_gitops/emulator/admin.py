"""The emulator-only admin routes under `/_emulator/`: faults, the clock, request counts, reset.

They are not part of Titan's API. They exist only when an admin token is configured
(`EmulatorConfig.admin_token`, `serve --admin-token`); without one every `/_emulator/` path is an
unknown route (404), so nothing emulator-specific is reachable unless asked for.

Choices where nothing is documented:
- The admin token travels as `Authorization: Bearer <admin token>` (or `X-API-Key`, like Titan
  tokens). It is separate from the Titan tokens: a Titan token does not open the admin routes, and
  the admin token does not open Titan's. A missing or wrong admin token is a 401.
- Admin routes are never rate limited and never faulted, so a broad fault rule cannot lock out
  the route that clears it.
- `GET /_emulator/faults` lists the armed rules (each `count` is what is left of it); `POST` adds
  one rule, a list, or `{"faults": [...]}` (all or none, 201); `DELETE` clears them all.
- `GET /_emulator/clock` tells the emulated time; `POST /_emulator/clock` with
  `{"advance_seconds": N}` moves it forward (never back) without sleeping.
- `POST /_emulator/reset` returns the emulator to how it started: every task deleted, the fault
  rules it was started with re-armed (and their draws re-seeded), rate-limit windows forgotten.
  The clock keeps its time, as it only moves forward. It also clears the request counts.
- `GET /_emulator/requests` tells how many requests the emulator received since it started (or
  since the last reset), per method and route template:
  `{"total": 3, "routes": {"GET /api/v1/tasks": 2, "POST /api/v1/tasks": 1}}`. Requests are
  counted as received, before faults, auth and rate limits (see counts.py); admin requests are
  not counted. `DELETE /_emulator/requests` clears the counts (`{"cleared": N}`).
"""

from __future__ import annotations

import hmac
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from titan_gitops.emulator.clock import Clock, format_timestamp
from titan_gitops.emulator.counts import RequestCounts
from titan_gitops.emulator.errors import BadRequest, Unauthorized
from titan_gitops.emulator.faults import FaultInjector, handle_admin_faults
from titan_gitops.emulator.routes import Reply, Request, RouteTable

ADMIN_PREFIX = "/_emulator"


@dataclass(frozen=True)
class AdminHooks:
    """What the admin routes act on: the token they require and the parts of the app they move."""

    token: str
    faults: FaultInjector
    clock: Clock
    reset: Callable[[], dict[str, Any]]
    requests: RequestCounts


def register_admin_routes(routes: RouteTable, hooks: AdminHooks) -> None:
    """Add the `/_emulator/` routes, each guarded by the admin token."""

    def guarded(handler: Callable[[Request], Reply]) -> Callable[[Request], Reply]:
        def checked(request: Request) -> Reply:
            check_admin_token(request, hooks.token)
            return handler(request)

        return checked

    def serve_faults(request: Request) -> Reply:
        body = read_json(request) if request.method == "POST" else None
        status, envelope = handle_admin_faults(hooks.faults, request.method, body)
        if status >= 400:
            return Reply(data=envelope["error"], status=status)
        return Reply(data=envelope["data"], status=status)

    def read_clock(_request: Request) -> Reply:
        return Reply(data=describe_clock(hooks.clock))

    def advance_clock(request: Request) -> Reply:
        hooks.clock.advance(read_advance_seconds(request))
        return Reply(data=describe_clock(hooks.clock))

    def reset(_request: Request) -> Reply:
        return Reply(data=hooks.reset())

    def read_requests(_request: Request) -> Reply:
        routes = hooks.requests.snapshot()
        return Reply(data={"total": sum(routes.values()), "routes": routes})

    def clear_requests(_request: Request) -> Reply:
        return Reply(data={"cleared": hooks.requests.clear()})

    table: list[tuple[str, str, Callable[[Request], Reply]]] = [
        ("GET", "/faults", serve_faults),
        ("POST", "/faults", serve_faults),
        ("DELETE", "/faults", serve_faults),
        ("GET", "/clock", read_clock),
        ("POST", "/clock", advance_clock),
        ("POST", "/reset", reset),
        ("GET", "/requests", read_requests),
        ("DELETE", "/requests", clear_requests),
    ]
    for method, path, handler in table:
        routes.add(
            method,
            ADMIN_PREFIX + path,
            guarded(handler),
            scope=None,
            metered=False,
            needs_token=False,
        )


def check_admin_token(request: Request, token: str) -> None:
    """Refuse with 401 unless the request carries the admin token (compared in constant time)."""
    authorization = request.headers.get("authorization", "").strip()
    scheme, _, value = authorization.partition(" ")
    sent = value.strip() if scheme.lower() == "bearer" else ""
    sent = sent or request.headers.get("x-api-key", "").strip()
    if not sent or not hmac.compare_digest(sent.encode(), token.encode()):
        raise Unauthorized("admin routes need the admin token: send Authorization: Bearer <token>")


def read_json(request: Request) -> object:
    """The request body as any JSON value; a 400 when it is missing or not JSON."""
    if not request.body.strip():
        raise BadRequest('body: a fault rule, a list of them, or {"faults": [...]} is required')
    try:
        return json.loads(request.body)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        raise BadRequest("body: not valid JSON") from None


def read_advance_seconds(request: Request) -> float:
    """`advance_seconds` from `{"advance_seconds": N}`: a finite number, not negative."""
    body = request.json_object(required=True)
    unknown = sorted(set(body) - {"advance_seconds"})
    if unknown:
        raise BadRequest(f"{unknown[0]}: unknown field (only advance_seconds is accepted)")
    seconds = body.get("advance_seconds")
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        raise BadRequest("advance_seconds: a number of seconds is required")
    if not math.isfinite(seconds) or seconds < 0:
        raise BadRequest("advance_seconds: must be a finite number, not negative")
    return float(seconds)


def describe_clock(clock: Clock) -> dict[str, Any]:
    """The emulated time as an RFC 3339 stamp and as epoch seconds."""
    now = clock.now()
    return {"now": format_timestamp(now), "epoch": now.timestamp()}
