"""The one module that imports httpx: building the HTTP session, sending, and mapping its failures.

Everything else speaks in `HttpResponse` and `TransportFailure`, so swapping the HTTP library later
touches this file only. Nothing here knows the Titan API: no envelope, no retries, no paths.

Every answer is read within bounds: its size as sent and once decompressed (inflated here, step by
step, so a gzip bomb stops at the cap) and a wall-clock deadline from sending to the last byte,
which every socket read and write is clamped to, headers included.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import IO, Any, TypeAlias

import httpcore
import httpx

from titan_gitops.errors import describe_os_cause
from titan_gitops.settings import MAX_BODY_BYTES, MAX_DECODED_BYTES, REQUEST_DEADLINE

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

    def __init__(
        self, reason: str, *, maybe_sent: bool, timed_out: bool = False, cause: str = ""
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.maybe_sent = maybe_sent
        self.timed_out = timed_out
        self.cause = cause  # the system's words (errors.describe_os_cause), never the library's


class ResponseRefused(TransportFailure):
    """An answer was cut off at a bound: `kind` is "body" (bytes as sent), "decoded" (bytes once
    decompressed), "deadline" (seconds from sending) or "encoding" (a Content-Encoding we do not
    inflate); `limit` is the figure passed and `status` the answer's, when its headers came."""

    def __init__(self, kind: str, limit: float, status: int | None) -> None:
        reasons = {
            "body": f"the answer passed {limit:,.0f} bytes as sent",
            "decoded": f"the answer passed {limit:,.0f} bytes once decompressed",
            "deadline": f"the answer took longer than {limit:g} seconds",
        }
        reason = reasons.get(kind, "the answer used a Content-Encoding that was not asked for")
        super().__init__(reason, maybe_sent=True)
        self.kind = kind
        self.limit = limit
        self.status = status
        self.timed_out = kind == "deadline"


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
            return TransportFailure(
                reason, maybe_sent=False, timed_out=timed_out, cause=describe_os_cause(exc)
            )
    if isinstance(exc, zlib.error):
        return TransportFailure("the response body could not be decompressed", maybe_sent=True)
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


# -- the wall-clock deadline: every socket operation of the thread's request is clamped to it ------

_DEADLINE = threading.local()


def _clamp(timeout: float | None) -> float | None:
    """`timeout` cut to what is left of this thread's request deadline; past it, a timeout now.

    Every read re-reads the clock, so a drip of one byte a second ends at the deadline."""
    at: float | None = getattr(_DEADLINE, "at", None)
    if at is None:
        return timeout
    left = at - time.monotonic()
    if left <= 0:
        raise httpcore.ReadTimeout("the request deadline passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose reads and writes never outlive the current request's deadline."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _clamp(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _clamp(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        inner = self._inner.start_tls(ssl_context, server_hostname, _clamp(timeout))
        return _DeadlineStream(inner)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    """Opens TCP connections whose every operation is clamped to the request deadline (no unix
    sockets: the session never uses one)."""

    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self._inner = inner

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        stream = self._inner.connect_tcp(host, port, _clamp(timeout), local_address, socket_options)
        return _DeadlineStream(stream)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def _bounded_transport(proxy: str | None) -> Transport:
    """httpx's own transport with its connections opened through the deadline backend.

    httpx offers no public hook for the network backend, so it is swapped on the pool; if a new
    httpx moves it, this fails loudly here rather than silently losing the deadline.
    """
    transport = httpx.HTTPTransport(trust_env=False, proxy=proxy)
    pool = getattr(transport, "_pool", None)
    backend = getattr(pool, "_network_backend", None)
    if not isinstance(backend, httpcore.NetworkBackend):
        raise RuntimeError("this httpx cannot bound a request's time; pin httpx 0.28")
    pool._network_backend = _DeadlineBackend(backend)  # type: ignore[union-attr]
    return transport


# -- decompression, one bounded step at a time -------------------------------------------------

_INFLATE_STEP = 1 << 16
_ENCODINGS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}


class _Inflater:
    """Decodes a body as its Content-Encoding says, never producing more than `limit` bytes.

    `decompress` is given a maximum length, so one hostile chunk cannot expand in one call.
    """

    def __init__(self, content_encoding: str, limit: int, status: int) -> None:
        names = [n.strip().lower() for n in content_encoding.split(",") if n.strip()]
        names = [n for n in names if n != "identity"]
        if len(names) > 1 or (names and names[0] not in _ENCODINGS):
            raise ResponseRefused("encoding", 0, status)
        self._name = names[0] if names else ""
        self._zlib = zlib.decompressobj(_ENCODINGS[self._name]) if self._name else None
        self._limit = limit
        self._status = status
        self._produced = 0
        self._fed = False

    def feed(self, data: bytes) -> Iterator[bytes]:
        """The decoded bytes of the next raw chunk, in steps of at most 64 KiB."""
        if self._zlib is None:
            yield self._count(data)
            return
        if not self._fed and self._name == "deflate":
            self._zlib = self._pick_deflate(data)
        self._fed = True
        pending = data
        while True:
            out = self._zlib.decompress(pending, _INFLATE_STEP)
            pending = self._zlib.unconsumed_tail
            if out:
                yield self._count(out)
            if not pending and len(out) < _INFLATE_STEP:
                return

    def finish(self) -> Iterator[bytes]:
        """Whatever the decoder still holds once the raw body ended."""
        if self._zlib is not None:
            rest = self._zlib.flush()
            if rest:
                yield self._count(rest)

    def _pick_deflate(self, first: bytes) -> Any:
        # "deflate" is meant to be zlib-wrapped, but some servers send the raw stream.
        try:
            zlib.decompressobj(zlib.MAX_WBITS).decompress(first, 1)
        except zlib.error:
            return zlib.decompressobj(-zlib.MAX_WBITS)
        return zlib.decompressobj(zlib.MAX_WBITS)

    def _count(self, data: bytes) -> bytes:
        self._produced += len(data)
        if self._produced > self._limit:
            raise ResponseRefused("decoded", self._limit, self._status)
        return data


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
    (proxy variables, `.netrc`, CA overrides) is ignored unless given here explicitly. Only gzip and
    deflate are asked for, because only those are inflated here within the size bound.
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
        headers = {"Accept": "application/json", "Accept-Encoding": "gzip, deflate"}
        if user_agent:
            headers["User-Agent"] = user_agent
        self._client = httpx.Client(
            base_url=base_url,
            transport=transport if transport is not None else _bounded_transport(proxy),
            timeout=httpx.Timeout(timeout),
            follow_redirects=False,
            trust_env=False,
            headers=headers,
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
        max_bytes: int = MAX_BODY_BYTES,
        max_decoded: int = MAX_DECODED_BYTES,
        deadline: float = REQUEST_DEADLINE,
    ) -> HttpResponse:
        """Send one request; a 2xx body goes to `sink` when given, else into `content`.

        The answer may take at most `deadline` seconds from sending to its last byte, and its body
        at most `max_bytes` as sent and `max_decoded` once decompressed.

        Raises:
            ResponseRefused: a bound was passed (a TransportFailure: nothing usable came back).
            TransportFailure: no complete response was received.
            SinkWriteError: the body could not be written to `sink`.
        """
        kwargs: dict[str, Any] = {"params": params, "headers": headers}
        if json_body is not None:
            kwargs["json"] = json_body
        at = time.monotonic() + deadline
        _DEADLINE.at = at
        answered: int | None = None
        try:
            with self._client.stream(method, url, **kwargs) as response:
                status = answered = response.status_code
                limits = _BodyLimits(max_bytes, max_decoded, at, deadline)
                target = sink if sink is not None and 200 <= status < 300 else None
                content = _read_body(response, limits, target)
                found = {k.lower(): v for k, v in response.headers.items()}
        except (SinkWriteError, ResponseRefused):
            raise
        except Exception as exc:
            if time.monotonic() >= at:
                raise ResponseRefused("deadline", deadline, answered) from None
            raise classify_failure(exc) from None
        finally:
            _DEADLINE.at = None
        return HttpResponse(status=status, headers=found, content=content)

    def close(self) -> None:
        """Release pooled connections."""
        self._client.close()


@dataclass(frozen=True)
class _BodyLimits:
    """The bounds of one answer's body: bytes as sent, bytes decoded, and the monotonic deadline."""

    raw: int
    decoded: int
    deadline_at: float
    seconds: float


def _read_body(response: httpx.Response, limits: _BodyLimits, sink: IO[bytes] | None) -> bytes:
    """The decoded body (or b"" once written to `sink`), refused as soon as a bound is passed."""
    status = response.status_code
    parts: list[bytes] = []
    if response.is_stream_consumed:
        # An in-memory transport handed over a body it had already loaded (and decoded).
        if len(response.content) > min(limits.raw, limits.decoded):
            raise ResponseRefused("body", min(limits.raw, limits.decoded), status)
        _keep(response.content, parts, sink)
        return b"".join(parts)
    inflater = _Inflater(response.headers.get("content-encoding", ""), limits.decoded, status)
    received = 0
    for raw in response.iter_raw(_INFLATE_STEP):
        received += len(raw)
        if received > limits.raw:
            raise ResponseRefused("body", limits.raw, status)
        if time.monotonic() >= limits.deadline_at:
            raise ResponseRefused("deadline", limits.seconds, status)
        for piece in inflater.feed(raw):
            _keep(piece, parts, sink)
    for piece in inflater.finish():
        _keep(piece, parts, sink)
    return b"".join(parts)


def _keep(piece: bytes, parts: list[bytes], sink: IO[bytes] | None) -> None:
    if sink is None:
        parts.append(piece)
        return
    try:
        sink.write(piece)
    except OSError as exc:
        raise SinkWriteError(exc) from None
