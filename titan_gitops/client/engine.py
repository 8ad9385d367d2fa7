"""The request loop behind TitanClient: pacing, sending, retrying, and what each failure means.

Retry rules (DESIGN.md, reliability.md §2B):
- GET, PUT, PATCH and DELETE are retried on 429, 500/502/503/504, timeouts and broken connections,
  with capped, jittered exponential backoff (429 honours X-RateLimit-Reset and Retry-After).
- POST is never sent twice unless the first attempt certainly did not create anything: a 429
  (refused before processing) or a connection that was never opened. A POST that may have reached
  the server and got no clear answer (timeout, dropped connection, 5xx) raises OutcomeUnknown.
- A DELETE retried after an attempt that may have committed treats 404 as success: the earlier
  attempt deleted the task.

Bounds (settings.ReadLimits): every attempt must finish within the request deadline (downloads
within what is left of the command's), and no attempt starts, and no pause runs, past the command
deadline. An answer cut off at a bound is never retried (the same request meets the same answer):
a read fails with ReadLimitExceeded, a write with OutcomeUnknown, since it may have acted.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import IO, Any
from urllib.parse import urlsplit

from titan_gitops._http import (
    HttpResponse,
    HttpSession,
    ResponseRefused,
    SinkWriteError,
    TransportFailure,
)
from titan_gitops.client.limits import (
    ReadLimitExceeded,
    describe_location,
    describe_refusal,
    describe_seconds,
    describe_url,
)
from titan_gitops.client.retry import (
    RETRYABLE_STATUSES,
    RateLimiter,
    compute_backoff,
    compute_rate_limit_wait,
    parse_quota_reset,
)
from titan_gitops.client.wire import build_error, scrub_text
from titan_gitops.errors import (
    ApiError,
    ApiUnavailable,
    ConfigError,
    OutcomeUnknown,
    PreviewQuotaExceeded,
    RateLimited,
)
from titan_gitops.secrets import SecretSet
from titan_gitops.settings import COMMAND_DEADLINE_VARIABLE, ReadLimits

logger = logging.getLogger("titan_gitops.client")

_SAFE_METHODS = frozenset({"GET", "PUT", "PATCH", "DELETE"})


def _token_header(headers: Mapping[str, str]) -> str | None:
    """The header the token went in, as messages name it (never its value)."""
    if "Authorization" in headers:
        return "Authorization: Bearer"
    return "X-API-Key" if "X-API-Key" in headers else None


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry."""

    max_retries: int = 4
    backoff_base: float = 0.5
    backoff_cap: float = 30.0


@dataclass(frozen=True)
class _Request:
    """One call as every attempt sends it; `path` is what errors and logs show."""

    method: str
    path: str
    target: str
    params: Mapping[str, str] | None
    json_body: Any
    headers: Mapping[str, str]
    sink_factory: Callable[[], IO[bytes]] | None
    secrets: SecretSet
    max_bytes: int | None = None


@dataclass(frozen=True)
class _Retry:
    """Send again after `wait` seconds; `maybe_committed` when the failed attempt may have acted."""

    wait: float
    why: str
    maybe_committed: bool


class RequestEngine:
    """Sends requests through one HttpSession; thread-safe, counts what it sends.

    The command deadline runs from the engine's creation, on the real monotonic clock (an injected
    `clock` paces retries and may be a test's fake).
    """

    def __init__(
        self,
        session: HttpSession,
        *,
        auth_headers: Mapping[str, str],
        policy: RetryPolicy,
        sleep: Callable[[float], None],
        clock: Callable[[], float],
        rand: Callable[[], float],
        secrets: SecretSet,
        origin: str = "",
        limits: ReadLimits | None = None,
    ) -> None:
        self._session = session
        self._origin = origin
        self.limits = limits or ReadLimits()
        self._deadline_at = time.monotonic() + self.limits.command_deadline
        self._auth_headers = dict(auth_headers)
        self._policy = policy
        self._sleep = sleep
        self._clock = clock
        self._rand = rand
        self._secrets = secrets
        self._limiter = RateLimiter(
            clock=clock, sleep=sleep, max_wait=max(60.0, policy.backoff_cap)
        )
        self._lock = threading.Lock()
        self._sent = 0
        self._retries = 0

    @property
    def request_count(self) -> int:
        """Requests handed to the transport so far (retries included)."""
        with self._lock:
            return self._sent

    @property
    def retry_count(self) -> int:
        """Retries made so far."""
        with self._lock:
            return self._retries

    @property
    def secrets(self) -> SecretSet:
        """What must never appear in error text."""
        return self._secrets

    def close(self) -> None:
        """Release the session's connections."""
        self._session.close()

    def describe(self, path: str, target: str | None = None) -> str:
        """The URL a request for `path` reads (origin and route, never a query string)."""
        return describe_url(self._origin, target or path, path)

    def send(
        self,
        method: str,
        path: str,
        *,
        url: str | None = None,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        with_auth: bool = True,
        sink_factory: Callable[[], IO[bytes]] | None = None,
        extra_secrets: Iterable[str] = (),
        max_bytes: int | None = None,
    ) -> HttpResponse:
        """Send until a final answer; return a 2xx response, or raise the typed error.

        `path` is what errors and logs show (never a host or query string); `url` overrides what
        is requested (an absolute media URL). `sink_factory` gives a fresh file for each attempt's
        streamed body. `max_bytes` lowers the body bound for this call (a media file's listed size).

        Raises:
            ApiError: and its subclasses, as the module docstring describes.
            ConfigError: the streamed body could not be written locally.
        """
        request = _Request(
            method=method.upper(),
            path=path,
            target=url or path,
            params=params,
            json_body=json_body,
            headers=self._auth_headers if with_auth else {},
            sink_factory=sink_factory,
            secrets=self._secrets.with_values(extra_secrets),
            max_bytes=max_bytes,
        )
        attempt = 0
        maybe_committed = False
        while True:
            try:
                response = self._send_once(request)
            except ResponseRefused as refused:
                raise self._refused_error(request, refused) from None
            except TransportFailure as failure:
                retry = self._retry_after_failure(request, failure, attempt)
            else:
                answer = self._classify_answer(request, response, attempt, maybe_committed)
                if isinstance(answer, HttpResponse):
                    return answer
                retry = answer
            maybe_committed = maybe_committed or retry.maybe_committed
            self._pause(request.method, request.path, attempt, retry.wait, retry.why)
            attempt += 1

    def _send_once(self, request: _Request) -> HttpResponse:
        """One attempt, paced by the rate limiter, within the bounds; a transport failure
        propagates as it is."""
        waited = self._limiter.acquire()
        if waited > 0:
            logger.debug("rate limit: held %s %s for %.2fs", request.method, request.path, waited)
        seconds = self._attempt_seconds(request)
        sink = request.sink_factory() if request.sink_factory is not None else None
        with self._lock:
            self._sent += 1
        size = self.limits.download_bytes if sink is not None else None
        if request.max_bytes is not None:
            size = request.max_bytes
        try:
            return self._session.send(
                request.method,
                request.target,
                params=request.params,
                json_body=request.json_body,
                headers=request.headers,
                sink=sink,
                max_bytes=self.limits.body_bytes if size is None else size,
                max_decoded=self.limits.decoded_bytes if size is None else size,
                deadline=seconds,
            )
        except SinkWriteError as exc:
            raise ConfigError(f"cannot write the downloaded body: {exc}") from None

    def _retry_after_failure(
        self, request: _Request, failure: TransportFailure, attempt: int
    ) -> _Retry:
        """The retry after a broken connection or timeout, or the error that ends the call."""
        method, path = request.method, request.path
        logger.debug("%s %s -> %s (attempt %d)", method, path, failure.reason, attempt + 1)
        if method == "POST" and failure.maybe_sent:
            raise OutcomeUnknown(
                f"{failure.reason}; the request may have been processed, so the outcome "
                "is unknown: re-list before retrying",
                method=method,
                path=path,
                may_still_land=failure.timed_out,
            ) from None
        if attempt >= self._policy.max_retries:
            # The host actually tried: a media link may point away from the API's origin.
            host = urlsplit(request.target).netloc or urlsplit(self._origin).netloc
            host = host.rsplit("@", 1)[-1]
            reason = (
                f"{failure.reason} to {host}"
                if host and not failure.maybe_sent
                else (failure.reason)
            )
            cause = f": {failure.cause}" if failure.cause else ""
            raise ApiUnavailable(
                f"{reason}{cause} (gave up after {attempt + 1} attempts)",
                method=method,
                path=path,
            ) from None
        return _Retry(self._backoff(attempt), failure.reason, failure.maybe_sent)

    def _classify_answer(
        self, request: _Request, response: HttpResponse, attempt: int, maybe_committed: bool
    ) -> HttpResponse | _Retry:
        """The final response, a retry, or (raised) the typed error the answer means."""
        method, path = request.method, request.path
        self._limiter.observe(response.headers)
        status = response.status
        logger.debug("%s %s -> %d (attempt %d)", method, path, status, attempt + 1)
        if 200 <= status < 300:
            return response
        if 300 <= status < 400:
            raise self._redirect_error(response, request)
        if status == 404 and method == "DELETE" and maybe_committed:
            # An earlier attempt may have deleted it before its answer was lost.
            logger.debug("%s %s: 404 after a lost answer counts as deleted", method, path)
            return HttpResponse(status=204, headers=response.headers)
        error = build_error(
            status,
            response.content,
            method=method,
            path=path,
            secrets=request.secrets,
            sent_as=_token_header(request.headers),
        )
        if isinstance(error, PreviewQuotaExceeded):
            # A daily quota: a retry within the minute meets the same answer and spends budget.
            error.resets_in = parse_quota_reset(response.headers, now=self._clock())
            raise error
        if status == 429:
            return self._retry_rate_limited(request, response, error, attempt)
        if status in RETRYABLE_STATUSES:
            return self._retry_server_error(request, error, attempt)
        raise error

    def _retry_rate_limited(
        self, request: _Request, response: HttpResponse, error: ApiError, attempt: int
    ) -> _Retry:
        """A 429 was refused before processing: wait as the service asks, within the retries."""
        if attempt >= self._policy.max_retries:
            raise RateLimited(
                f"{error.detail} (gave up after {attempt + 1} attempts)",
                method=request.method,
                path=request.path,
                status=response.status,
                code=error.code,
            )
        wait = compute_rate_limit_wait(
            response.headers,
            attempt,
            now=self._clock(),
            base=self._policy.backoff_base,
            cap=self._policy.backoff_cap,
            rand=self._rand,
        )
        return _Retry(wait, "429", maybe_committed=False)

    def _retry_server_error(self, request: _Request, error: ApiError, attempt: int) -> _Retry:
        """A 5xx may follow a commit: only idempotent methods are sent again."""
        method, path, status = request.method, request.path, error.status
        if method not in _SAFE_METHODS:
            raise OutcomeUnknown(
                f"{error.detail}; the service failed after receiving the request, so "
                "the outcome is unknown: re-list before retrying",
                method=method,
                path=path,
                status=status,
                code=error.code,
            )
        if attempt >= self._policy.max_retries:
            raise ApiUnavailable(
                f"{error.detail} (gave up after {attempt + 1} attempts)",
                method=method,
                path=path,
                status=status,
                code=error.code,
            )
        return _Retry(self._backoff(attempt), str(status), maybe_committed=True)

    def _backoff(self, attempt: int) -> float:
        return compute_backoff(
            attempt, base=self._policy.backoff_base, cap=self._policy.backoff_cap, rand=self._rand
        )

    def _pause(self, method: str, path: str, attempt: int, wait: float, why: str) -> None:
        with self._lock:
            self._retries += 1
        logger.info(
            "retrying %s %s after %s in %.2fs (attempt %d of %d)",
            method,
            path,
            why,
            wait,
            attempt + 2,
            self._policy.max_retries + 1,
        )
        if wait > 0:
            if time.monotonic() + wait >= self._deadline_at:
                before = f"waiting {describe_seconds(wait)} to retry {method} {self.describe(path)}"
                raise self._deadline_error(method, path, before)
            self._sleep(wait)

    def _attempt_seconds(self, request: _Request) -> float:
        """How long this attempt may take: the request deadline, or less when the command's
        deadline comes first (downloads run on the command's alone)."""
        left = self._deadline_at - time.monotonic()
        if left <= 0:
            described = f"{request.method} {self.describe(request.path, request.target)}"
            raise self._deadline_error(request.method, request.path, described)
        if request.sink_factory is not None:
            return left
        return min(self.limits.request_deadline, left)

    def _deadline_error(self, method: str, path: str, before: str) -> ReadLimitExceeded:
        seconds = describe_seconds(self.limits.command_deadline)
        return ReadLimitExceeded(
            f"the command's deadline of {seconds} ({COMMAND_DEADLINE_VARIABLE}) ran out before "
            f"{before}; stopping (raise {COMMAND_DEADLINE_VARIABLE} for a larger run)",
            bound="command deadline",
            method=method,
            path=path,
        )

    def _refused_error(self, request: _Request, refused: ResponseRefused) -> ApiError:
        """A cut-off answer: a read's ReadLimitExceeded, or OutcomeUnknown for a write."""
        method, path = request.method, request.path
        url = self.describe(path, request.target)
        reason = describe_refusal(refused.kind, refused.limit, url, self.limits)
        refused_before_acting = refused.status is not None and 400 <= refused.status < 500
        if method != "GET" and not refused_before_acting:
            return OutcomeUnknown(
                f"{reason}; the request may have been processed, so the outcome is unknown: "
                "re-list before retrying",
                method=method,
                path=path,
                status=refused.status,
                may_still_land=refused.timed_out,
            )
        return ReadLimitExceeded(
            reason, bound=refused.kind, method=method, path=path, status=refused.status
        )

    def _redirect_error(self, response: HttpResponse, request: _Request) -> ApiError:
        where = describe_location(response.header("location") or "")
        url = self.describe(request.path, request.target)
        return ReadLimitExceeded(
            f"the service answered {url} with a redirect to {scrub_text(where, self._secrets)}; "
            "redirects are not followed, so the token never travels to another origin: point "
            "TITAN_API_URL at the final origin",
            bound="redirect",
            method=request.method,
            path=request.path,
            status=response.status,
        )
