"""The one module that imports httpx: building the HTTP session, sending, and mapping its failures.

Everything else speaks in `HttpResponse` and `TransportFailure`, so swapping the HTTP library later
touches this file only. Nothing here knows the Titan API: no envelope, no retries, no paths.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import IO, Any, TypeAlias

import httpx

Transport: TypeAlias = httpx.BaseTransport

# Query parameters that authorise on their own (media links carry `?token=`): never logged.
_SECRET_QUERY = re.compile(
    r"([?&](?:token|access_token|api_key|apikey|key|sig|signature)=)[^&\s\"']+", re.IGNORECASE
)


class _QueryRedactingFilter(logging.Filter):
    """Masks credential-like query values in httpx's own request log lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = _SECRET_QUERY.sub(r"\1***", message)
        if masked != message:
            record.msg = masked
            record.args = None
        return True


_httpx_logger = logging.getLogger("httpx")
if not any(isinstance(f, _QueryRedactingFilter) for f in _httpx_logger.filters):
    _httpx_logger.addFilter(_QueryRedactingFilter())


@dataclass(frozen=True)
class HttpResponse:
    """A finished response: status, lower-cased headers and the body (empty when streamed)."""

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    content: bytes = b""

    def header(self, name: str) -> str | None:
        """One header value, looked up case-insensitively."""
        return self.headers.get(name.lower())


class TransportFailure(Exception):
    """The request got no HTTP response: could not connect, timed out, or the connection broke.

    `maybe_sent` is False only when the request certainly never reached the server (connection
    refused, connect timeout, no free pooled connection): only then may a non-idempotent write be
    sent again. `reason` is a fixed phrase, never the library's message (which may quote URLs).
    """

    def __init__(self, reason: str, *, maybe_sent: bool, timed_out: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.maybe_sent = maybe_sent
        self.timed_out = timed_out


class SinkWriteError(Exception):
    """Writing a streamed body to the caller's file failed (a local problem, not the server's)."""

    def __init__(self, error: OSError) -> None:
        super().__init__(error.strerror or type(error).__name__)
        self.error = error


def classify_failure(exc: BaseException) -> TransportFailure:
    """Map an exception raised while sending into a TransportFailure, most specific first."""
    not_sent: list[tuple[type[BaseException], str, bool]] = [
        (httpx.ConnectTimeout, "timed out while connecting", True),
        (httpx.PoolTimeout, "timed out waiting for a free connection", True),
        (httpx.ConnectError, "could not connect", False),
        (httpx.ProxyError, "the proxy refused the connection", False),
        (httpx.UnsupportedProtocol, "unsupported URL scheme", False),
        (httpx.InvalidURL, "invalid URL", False),
    ]
    for kind, reason, timed_out in not_sent:
        if isinstance(exc, kind):
            return TransportFailure(reason, maybe_sent=False, timed_out=timed_out)
    maybe_sent: list[tuple[type[BaseException], str, bool]] = [
        (httpx.ReadTimeout, "timed out waiting for the response", True),
        (httpx.WriteTimeout, "timed out while sending the request", True),
        (httpx.TimeoutException, "timed out", True),
        (httpx.RemoteProtocolError, "the connection was closed without a complete response", False),
        (httpx.ReadError, "the connection broke while reading the response", False),
        (httpx.WriteError, "the connection broke while sending the request", False),
        (httpx.DecodingError, "the response body could not be decoded", False),
        (httpx.HTTPError, "the HTTP exchange failed", False),
    ]
    for kind, reason, timed_out in maybe_sent:
        if isinstance(exc, kind):
            return TransportFailure(reason, maybe_sent=True, timed_out=timed_out)
    # Any other exception from a transport (a socket error, a custom transport's bug) is a broken
    # exchange too; assume the worst about whether the request left.
    return TransportFailure(
        f"the transport failed ({type(exc).__name__})", maybe_sent=True, timed_out=False
    )


_APP_FAILURE = (
    b'{"success": false, "error": {"code": "INTERNAL_SERVER_ERROR", '
    b'"message": "the in-process service failed"}}'
)


def make_wsgi_transport(app: Callable[..., Any]) -> Transport:
    """A transport that calls a WSGI app in-process (the embedded emulator).

    An exception raised by the app becomes a 500 answer, as a real server would give, instead of
    escaping through the client as a crash.
    """

    def shielded(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        try:
            return app(environ, start_response)
        except Exception as exc:
            logging.getLogger("titan_gitops.client").debug(
                "the in-process service raised %s", type(exc).__name__
            )
            start_response(
                "500 Internal Server Error",
                [("Content-Type", "application/json")],
                sys.exc_info(),
            )
            return [_APP_FAILURE]

    return httpx.WSGITransport(app=shielded, raise_app_exceptions=False)


class HttpSession:
    """A thread-safe HTTP session on one origin: timeouts on every phase, no redirects followed.

    Redirects are never followed, so credentials cannot travel to another host; the environment
    (proxy variables, `.netrc`, CA overrides) is ignored unless given here explicitly.
    """

    def __init__(
        self,
        base_url: str,
        *,
        transport: Transport | None = None,
        timeout: float = 30.0,
        user_agent: str = "",
        proxy: str | None = None,
    ) -> None:
        headers = {"Accept": "application/json"}
        if user_agent:
            headers["User-Agent"] = user_agent
        self._client = httpx.Client(
            base_url=base_url,
            transport=transport,
            timeout=httpx.Timeout(timeout),
            follow_redirects=False,
            trust_env=False,
            headers=headers,
            proxy=proxy if transport is None else None,
        )

    def __repr__(self) -> str:
        return f"HttpSession(base_url={str(self._client.base_url)!r})"

    def send(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
        sink: IO[bytes] | None = None,
    ) -> HttpResponse:
        """Send one request; a 2xx body goes to `sink` when given, else into `content`.

        Raises:
            TransportFailure: no complete response was received.
            SinkWriteError: the body could not be written to `sink`.
        """
        kwargs: dict[str, Any] = {"params": params, "headers": headers}
        if json_body is not None:
            kwargs["json"] = json_body
        try:
            with self._client.stream(method, url, **kwargs) as response:
                status = response.status_code
                if sink is not None and 200 <= status < 300:
                    for chunk in response.iter_bytes():
                        try:
                            sink.write(chunk)
                        except OSError as exc:
                            raise SinkWriteError(exc) from None
                    content = b""
                else:
                    content = response.read()
                found = {k.lower(): v for k, v in response.headers.items()}
        except SinkWriteError:
            raise
        except Exception as exc:
            raise classify_failure(exc) from None
        return HttpResponse(status=status, headers=found, content=content)

    def close(self) -> None:
        """Release pooled connections."""
        self._client.close()
