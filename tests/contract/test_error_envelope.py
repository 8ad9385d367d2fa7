"""The error class follows the envelope's `error.code` first and the HTTP status second.

A small service on 127.0.0.1 answers every request with one fixed status and envelope, as a
hostile or unusual deployment might; the real TitanClient must raise the class the code names.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from titan_gitops.client import TitanClient
from titan_gitops.errors import (
    ApiError,
    ApiUnavailable,
    AuthError,
    BadRequest,
    NotFound,
    RateLimited,
)

TOKEN = "envelope-token-5b1c"
TASK_ID = "7d3f4a52-2b1e-4f0a-9a57-0f8e0c9d1e21"


class _FixedAnswer(BaseHTTPRequestHandler):
    """Answers every request with the status and body the test set on the server."""

    answer: ClassVar[tuple[int, dict[str, Any]]] = (200, {})

    def _reply(self) -> None:
        status, payload = self.answer
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_DELETE = do_POST = do_PATCH = do_PUT = _reply

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def answering() -> Iterator[tuple[type[_FixedAnswer], str]]:
    handler = type("Answer", (_FixedAnswer,), {})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield handler, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _refusal(code: str) -> dict[str, Any]:
    return {"success": False, "error": {"code": code, "message": f"refused as {code}"}}


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (200, "NOT_FOUND", NotFound),
        (200, "BAD_REQUEST", BadRequest),
        (200, "UNAUTHORIZED", AuthError),
        (200, "FORBIDDEN", AuthError),
        (200, "TOO_MANY_REQUESTS", RateLimited),
        (200, "INTERNAL_SERVER_ERROR", ApiUnavailable),
        (400, "NOT_FOUND", NotFound),
        (404, "BAD_REQUEST", BadRequest),
        (403, "NOT_FOUND", NotFound),
        (404, "SOMETHING_NEW", NotFound),
        (400, "SOMETHING_NEW", BadRequest),
    ],
)
def test_the_error_class_follows_the_code_then_the_status(
    answering: tuple[type[_FixedAnswer], str], status: int, code: str, expected: type[ApiError]
) -> None:
    handler, url = answering
    handler.answer = (status, _refusal(code))
    with TitanClient(url, TOKEN, max_retries=0) as client, pytest.raises(ApiError) as caught:
        client.get_task(TASK_ID)
    assert type(caught.value) is expected
    assert caught.value.code == code
    assert caught.value.status == status
    assert f"refused as {code}" in str(caught.value)
    assert TOKEN not in str(caught.value)


def test_a_success_false_without_a_code_stays_a_plain_api_error(
    answering: tuple[type[_FixedAnswer], str],
) -> None:
    handler, url = answering
    handler.answer = (200, {"success": False, "error": {"message": "no code given"}})
    with TitanClient(url, TOKEN, max_retries=0) as client, pytest.raises(ApiError) as caught:
        client.get_task(TASK_ID)
    assert type(caught.value) is ApiError
    assert "no code given" in str(caught.value)


def test_a_forbidden_code_names_the_missing_scope(
    answering: tuple[type[_FixedAnswer], str],
) -> None:
    handler, url = answering
    payload = {"success": False, "error": {"code": "FORBIDDEN", "message": "needs tasks:read"}}
    handler.answer = (200, payload)
    with TitanClient(url, TOKEN, max_retries=0) as client, pytest.raises(AuthError) as caught:
        client.get_task(TASK_ID)
    assert caught.value.scope == "tasks:read"
