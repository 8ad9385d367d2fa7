"""The WSGI app: turns HTTP into route calls, applying auth, scopes, rate limits and the envelope.

Per request, in this order: find the caller's credential; count it against the rate limit (when
on); 401 for no or an unknown token; 404/405 for an unknown route or method; 403 when the token
lacks the route's scope; then the handler. Success is `{"success": true, "data": ...}` (plus
`meta` on lists); errors are `{"success": false, "error": {"code", "message"}}`.

Choices where the docs are silent:
- A credential is `Authorization: Bearer <token>` or `X-API-Key: <token>`; when both are sent,
  the Authorization header wins. In open-access mode any or no credential gets every scope.
- Authentication comes before routing, so an unauthenticated caller learns nothing of routes.
- A wrong method on a known route is 405 with code METHOD_NOT_ALLOWED and an Allow header.
- The body is read as JSON whatever the Content-Type (curl users often forget it); bodies over
  MAX_BODY_BYTES are refused with 400.
- Previews (task and template) share a per-caller daily quota answered with
  `preview_limit_exceeded`; the task preview is `POST /api/v1/tasks/preview` (see previews.py).
- An unexpected failure is a 500 INTERNAL_SERVER_ERROR with a fixed message; the traceback only
  goes to the `titan_gitops.emulator` logger at DEBUG level.

Fault injection (faults.py) wraps all of this: a rule can answer before the app runs or replace
its answer after it ran. The `/_emulator/` admin routes (admin.py) exist only with an admin token.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

from titan_gitops.emulator.admin import AdminHooks, register_admin_routes
from titan_gitops.emulator.backend import TitanBackend
from titan_gitops.emulator.clock import Clock
from titan_gitops.emulator.config import KNOWN_SCOPES, EmulatorConfig
from titan_gitops.emulator.counts import RequestCounts
from titan_gitops.emulator.errors import (
    BadRequest,
    DropConnection,
    Forbidden,
    InternalError,
    TooManyRequests,
    Unauthorized,
    WireError,
)
from titan_gitops.emulator.faults import FaultInjector
from titan_gitops.emulator.handlers import register_task_routes
from titan_gitops.emulator.previews import PreviewQuota, register_preview_routes
from titan_gitops.emulator.ratelimit import RateDecision, RateLimiter
from titan_gitops.emulator.routes import Reply, Request, Route, RouteTable
from titan_gitops.emulator.templates import TemplateCatalog, load_templates_file

MAX_BODY_BYTES = 1024 * 1024
logger = logging.getLogger("titan_gitops.emulator")

StartResponse = Callable[..., Any]
_REASONS = {
    200: "OK",
    201: "Created",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    429: "Too Many Requests",
    500: "Internal Server Error",
}


class EmulatorApp:
    """A WSGI callable serving one emulated Titan Task Service.

    `backend` holds the state, `routes` the table later features register into, `clock` the
    time every rule reads, `limiter` the rate limiter (None when limiting is off), and `faults`
    the fault injector in front of it all (tests may add rules to it directly).
    """

    def __init__(self, config: EmulatorConfig, *, clock: Clock | None = None) -> None:
        self.config = config
        self.clock = clock or Clock()
        extra = load_templates_file(config.templates_file) if config.templates_file else []
        self.backend = TitanBackend(
            config.db_path,
            TemplateCatalog(extra),
            self.clock,
            execution_seconds=config.execution_seconds,
        )
        self.routes = RouteTable()
        register_task_routes(self.routes, self.backend)
        self.previews = PreviewQuota(config.preview_quota, self.clock)
        register_preview_routes(self.routes, self.backend, self.previews)
        self.limiter = (
            RateLimiter(config.rate_limit, self.clock) if config.rate_limit is not None else None
        )
        self.faults = FaultInjector(config.faults, seed=config.fault_seed, clock=self.clock.time)
        self._faulty = self.faults.wrap(self.serve_request)
        # Requests received per route, before faults (read through GET /_emulator/requests).
        self.requests = RequestCounts(self.routes)
        if config.admin_token is not None:
            hooks = AdminHooks(
                config.admin_token, self.faults, self.clock, self.reset, self.requests
            )
            register_admin_routes(self.routes, hooks)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        self.requests.record(
            str(environ.get("REQUEST_METHOD", "GET")).upper(), environ.get("PATH_INFO", "") or "/"
        )
        return self._faulty(environ, start_response)

    def reset(self) -> dict[str, Any]:
        """Back to how it started: no tasks, the configured fault rules, fresh rate windows,
        preview quotas and request counts."""
        self.backend.reset()
        self.requests.clear()
        self.faults.reset(self.config.faults)
        self.previews.reset()
        if self.config.rate_limit is not None:
            self.limiter = RateLimiter(self.config.rate_limit, self.clock)
        return {"reset": True, "faults": len(self.config.faults)}

    def serve_request(
        self, environ: dict[str, Any], start_response: StartResponse
    ) -> Iterable[bytes]:
        """The app without faults: one request through dispatch, answered in the envelope."""
        request = read_request(environ)
        rate_headers: dict[str, str] = {}
        try:
            reply = self.dispatch(request, rate_headers)
        except DropConnection:
            raise
        except WireError as error:
            reply = build_error_reply(error)
        except Exception:
            logger.debug("%s %s failed", request.method, request.path, exc_info=True)
            reply = build_error_reply(InternalError("the emulator failed to handle the request"))
        reply.headers.update(rate_headers)
        logger.info("%s %s -> %s", request.method, request.path, reply.status)
        body = reply.raw if reply.raw is not None else encode_envelope(reply)
        headers = [
            ("Content-Type", reply.content_type),
            ("Content-Length", str(len(body))),
            *reply.headers.items(),
        ]
        start_response(f"{reply.status} {_REASONS.get(reply.status, 'Unknown')}", headers)
        return [body]

    def dispatch(self, request: Request, rate_headers: dict[str, str]) -> Reply:
        """Run one request through rate limit, auth, routing, scope and handler."""
        credential = read_credential(request)
        scopes = self.resolve_scopes(credential)
        route: Route | None = None
        params: dict[str, str] = {}
        route_error: WireError | None = None
        try:
            route, params = self.routes.resolve(request.method, request.path)
        except WireError as error:
            # Answered only after authentication, so strangers learn nothing about routes.
            route_error = error
        known = credential is not None and scopes is not None
        request.caller = f"token:{credential}" if known else f"addr:{request.remote_addr}"
        if self.limiter is not None and (route is None or route.metered):
            decision = self.limiter.check(request.caller)
            rate_headers.update(decision.headers())
            if not decision.allowed:
                raise_rate_limited(decision)
        if scopes is None and (route is None or route.needs_token):
            if credential is None:
                raise Unauthorized("missing credential: send Authorization: Bearer <token>")
            raise Unauthorized("unknown or invalid token")
        if route_error is not None:
            raise route_error
        assert route is not None
        check_scope(route, scopes)
        if len(request.body) > MAX_BODY_BYTES:
            raise BadRequest(f"body: larger than {MAX_BODY_BYTES} bytes")
        request.params = params
        return route.handler(request)

    def resolve_scopes(self, credential: str | None) -> frozenset[str] | None:
        """The scopes a credential grants; None when it is missing or unknown."""
        if self.config.open_access:
            return KNOWN_SCOPES
        if credential is None:
            return None
        return self.config.scopes_of(credential)


def create_app(config: EmulatorConfig, *, clock: Clock | None = None) -> EmulatorApp:
    """Build the WSGI app for `config` (state opened, templates loaded, routes registered)."""
    return EmulatorApp(config, clock=clock)


def read_request(environ: dict[str, Any]) -> Request:
    """A Request from a WSGI environ (body read up to MAX_BODY_BYTES + 1)."""
    raw_path = environ.get("PATH_INFO", "") or "/"
    # PEP 3333 hands the path over as latin-1 text; the URL itself is UTF-8.
    path = raw_path.encode("latin-1", "replace").decode("utf-8", "replace")
    headers = {
        key[5:].replace("_", "-").lower(): str(value)
        for key, value in environ.items()
        if key.startswith("HTTP_")
    }
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            headers[key.replace("_", "-").lower()] = str(environ[key])
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    body = b""
    if length > 0:
        body = environ["wsgi.input"].read(min(length, MAX_BODY_BYTES + 1))
    return Request(
        method=str(environ.get("REQUEST_METHOD", "GET")).upper(),
        path=path,
        query=parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True),
        headers=headers,
        body=body,
        remote_addr=str(environ.get("REMOTE_ADDR", "")),
    )


def read_credential(request: Request) -> str | None:
    """The token from `Authorization: Bearer` or `X-API-Key`, if any; never logged."""
    authorization = request.headers.get("authorization", "").strip()
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    api_key = request.headers.get("x-api-key", "").strip()
    return api_key or None


def check_scope(route: Route, scopes: frozenset[str] | None) -> None:
    """Refuse with 403 naming the scope when the caller lacks the route's scope."""
    if route.scope is not None and (scopes is None or route.scope not in scopes):
        raise Forbidden(f"token lacks the {route.scope!r} scope")


def raise_rate_limited(decision: RateDecision) -> None:
    """The 429 answer for a spent budget."""
    raise TooManyRequests(
        f"rate limit of {decision.limit} requests per minute reached; "
        f"the window resets at {decision.reset} (epoch seconds)"
    )


def build_error_reply(error: WireError) -> Reply:
    """The error envelope for `error`, with its status and headers."""
    return Reply(
        data={"code": error.code, "message": error.message},
        status=error.status,
        headers=dict(error.headers),
    )


def encode_envelope(reply: Reply) -> bytes:
    """Serialise a reply in Titan's envelope."""
    envelope: dict[str, Any]
    if reply.status >= 400:
        envelope = {"success": False, "error": reply.data}
    else:
        envelope = {"success": True, "data": reply.data}
        if reply.meta is not None:
            envelope["meta"] = reply.meta
    return json.dumps(envelope, ensure_ascii=False).encode("utf-8")
