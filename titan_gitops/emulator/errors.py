"""The emulator's wire errors: one class per Titan `error.code`, plus the dropped-connection hook.

Handlers raise these; the app turns each into the documented envelope
`{"success": false, "error": {"code": ..., "message": ...}}` with its HTTP status. Messages are
written for the caller and never carry a token or a secret value.
"""

from __future__ import annotations


class WireError(Exception):
    """A request the emulator answers with a documented error envelope."""

    status = 500
    reason = "Internal Server Error"
    code = "INTERNAL_SERVER_ERROR"

    def __init__(self, message: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.headers = dict(headers or {})


class BadRequest(WireError):
    """400: the request body or query is invalid; the message names the field."""

    status = 400
    reason = "Bad Request"
    code = "BAD_REQUEST"


class Unauthorized(WireError):
    """401: no credential, or one the emulator does not know."""

    status = 401
    reason = "Unauthorized"
    code = "UNAUTHORIZED"


class Forbidden(WireError):
    """403: a known token that lacks the route's scope; the message names the scope."""

    status = 403
    reason = "Forbidden"
    code = "FORBIDDEN"


class NotFound(WireError):
    """404: an unknown resource, or an unknown route."""

    status = 404
    reason = "Not Found"
    code = "NOT_FOUND"


class MethodNotAllowed(WireError):
    """405: a known route asked with a method it does not serve (emulator's own code)."""

    status = 405
    reason = "Method Not Allowed"
    code = "METHOD_NOT_ALLOWED"


class TooManyRequests(WireError):
    """429: the caller's per-minute budget is spent (carries X-RateLimit-* headers)."""

    status = 429
    reason = "Too Many Requests"
    code = "TOO_MANY_REQUESTS"


class InternalError(WireError):
    """500: the emulator failed; the message never includes a traceback."""


class DropConnection(Exception):
    """Raised by the app to make the HTTP server close the socket without writing a response.

    Only the socket server (`serve.py`) honours it; it is the hook for connection-reset faults.
    """
