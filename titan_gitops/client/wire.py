"""The Task Service envelope: unwrapping `success`/`data`, and turning failures into typed errors.

Error text is built from the method, the path, the status and the server's own code and message
only, and every known secret (the token, a secret payload) is scrubbed from the server's words,
because a server may echo what it was sent.
"""

from __future__ import annotations

import json
import re
from typing import Any

from titan_gitops.errors import (
    ApiError,
    ApiUnavailable,
    AuthError,
    BadRequest,
    NotFound,
    PreviewQuotaExceeded,
    RateLimited,
)
from titan_gitops.secrets import SecretSet

MESSAGE_LIMIT = 300
PREFIX_LIMIT = 80
_SCOPE = re.compile(r"\b([a-z][a-z_]*:(?:read|write|admin))\b")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def scrub_text(text: str, secrets: SecretSet) -> str:
    """`text` with every secret (in every form) masked and control characters dropped."""
    return _CONTROL.sub("", secrets.mask(text))


def shorten(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, marked with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def quote_prefix(content: bytes, secrets: SecretSet) -> str:
    """A short, safe quotation of a body we could not understand."""
    text = content[: PREFIX_LIMIT * 4].decode("utf-8", errors="replace").strip()
    text = shorten(scrub_text(" ".join(text.split()), secrets), PREFIX_LIMIT)
    return repr(text) if text else "an empty body"


class JsonTooDeep(ValueError):
    """A JSON body nested deeper than the parser can follow."""


def parse_json(content: bytes) -> Any:
    """The JSON value of a body, or raise ValueError (JsonTooDeep for too deep a nesting)."""
    try:
        return json.loads(content.decode("utf-8"))
    except RecursionError:
        # A few kilobytes of '[' exhaust the parser's recursion: as unreadable as any non-JSON.
        raise JsonTooDeep("nested too deeply") from None


def describe_unreadable(exc: ValueError) -> str:
    """What was wrong with a body `parse_json` refused, as the start of a message."""
    if isinstance(exc, JsonTooDeep):
        return "the service answered with JSON nested too deeply to read"
    return "the service answered with a non-JSON body"


# The documented `error.code` values and the class each names. The class follows the code first
# and the HTTP status second: a 200 that says `success: false, NOT_FOUND` is a NotFound. Retries
# and "outcome unknown" stay with the status (engine.py): they are about what the transport did.
_CODE_CLASSES: dict[str, type[ApiError]] = {
    "BAD_REQUEST": BadRequest,
    "UNAUTHORIZED": AuthError,
    "FORBIDDEN": AuthError,
    "NOT_FOUND": NotFound,
    "TOO_MANY_REQUESTS": RateLimited,
    "INTERNAL_SERVER_ERROR": ApiUnavailable,
    "NOT_IMPLEMENTED": ApiUnavailable,
}
# Not in the documented list: the docs name it, in lower case, for the daily preview quota.
PREVIEW_QUOTA_CODE = "preview_limit_exceeded"


def error_class(status: int, code: str | None = None) -> type[ApiError]:
    """The error type for an envelope's `error.code` (when documented), else the HTTP status."""
    if code is not None and code.strip().lower() == PREVIEW_QUOTA_CODE:
        return PreviewQuotaExceeded
    by_code = _CODE_CLASSES.get(code) if code is not None else None
    if by_code is not None:
        return by_code
    if status in (401, 403):
        return AuthError
    if status == 404:
        return NotFound
    if status == 400:
        return BadRequest
    if status == 429:
        return RateLimited
    if status >= 500:
        return ApiUnavailable
    return ApiError


def read_error(content: bytes, secrets: SecretSet) -> tuple[str | None, str]:
    """The (code, message) the server gave for a failure, from either error shape it uses.

    The standard envelope is `{"success": false, "error": {"code", "message"}}`; the media route
    answers `{"error": "<message>"}`. Anything else is quoted briefly.
    """
    try:
        payload = parse_json(content)
    except ValueError as exc:
        return None, f"{describe_unreadable(exc)}: {quote_prefix(content, secrets)}"
    if isinstance(payload, dict):
        error = payload.get("error")
        if isinstance(error, dict):
            code = error.get("code")
            message = error.get("message")
            code_text = scrub_text(str(code), secrets)[:60] if code is not None else None
            text = scrub_text(str(message), secrets) if message is not None else "(no message)"
            return code_text, shorten(text, MESSAGE_LIMIT)
        if isinstance(error, str):
            return None, shorten(scrub_text(error, secrets), MESSAGE_LIMIT)
    return None, f"the service answered with an unexpected body: {quote_prefix(content, secrets)}"


def build_error(
    status: int,
    content: bytes,
    *,
    method: str,
    path: str,
    secrets: SecretSet,
    sent_as: str | None = None,
) -> ApiError:
    """The typed error for a non-2xx answer; `sent_as` names the header the token went in."""
    code, message = read_error(content, secrets)
    return typed_error(status, code, message, method=method, path=path, sent_as=sent_as)


def typed_error(
    status: int,
    code: str | None,
    message: str,
    *,
    method: str,
    path: str,
    sent_as: str | None = None,
) -> ApiError:
    """The error of the class `code` (then `status`) names; a refused scope is named.

    A 401 says how the token was sent (`sent_as`, a header name; None when none was) and what to
    check; a 403 keeps the service's words, which name the scope, and says what to do once.
    """
    cls = error_class(status, code)
    if status == 429 and message.strip().lower() == PREVIEW_QUOTA_CODE:
        # The quota's answer in the media route's shape, `{"error": "preview_limit_exceeded"}`.
        cls = PreviewQuotaExceeded
    if cls is AuthError:
        forbidden = status == 403 or code == "FORBIDDEN"
        found = _SCOPE.search(message) if forbidden else None
        scope = found.group(1) if found else None
        if scope:
            message = f"{message}; use a token that has it"
        elif status == 401:
            message = f"{message}; {_check_token(sent_as)}"
        return AuthError(message, scope=scope, method=method, path=path, status=status, code=code)
    return cls(message, method=method, path=path, status=status, code=code)


def _check_token(sent_as: str | None) -> str:
    """What to check after a 401, for the header the token went in."""
    if sent_as is None:
        return "no token was sent: set TITAN_TOKEN"
    other = (
        "TITAN_AUTH_HEADER=x-api-key if the service expects X-API-Key"
        if sent_as.startswith("Authorization")
        else "unset TITAN_AUTH_HEADER if the service expects Authorization: Bearer"
    )
    return f"the token was sent as {sent_as}: check TITAN_TOKEN, or {other}"


def unwrap_envelope(
    content: bytes,
    *,
    status: int,
    method: str,
    path: str,
    secrets: SecretSet,
    require_data: bool = True,
) -> tuple[Any, dict[str, Any]]:
    """The `data` and the whole envelope of a 2xx answer.

    Raises:
        ApiError: the body is not JSON, not an envelope, says `success: false`, or lacks `data`.
    """

    def malformed(what: str) -> ApiError:
        return ApiError(
            f"{what}: {quote_prefix(content, secrets)}", method=method, path=path, status=status
        )

    try:
        payload = parse_json(content)
    except ValueError as exc:
        raise malformed(describe_unreadable(exc)) from None
    if not isinstance(payload, dict) or not isinstance(payload.get("success"), bool):
        raise malformed("the service answered without the success envelope")
    if payload["success"] is not True:
        code, message = read_error(content, secrets)
        raise typed_error(status, code, message, method=method, path=path)
    if require_data and "data" not in payload:
        raise malformed("the service's envelope has no data")
    return payload.get("data"), payload
