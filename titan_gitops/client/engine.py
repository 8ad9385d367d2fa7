"""The request loop behind TitanClient: pacing, sending, retrying, and what each failure means.

Retry rules (DESIGN.md, reliability.md §2B):
- GET, PUT, PATCH and DELETE are retried on 429, 500/502/503/504, timeouts and broken connections,
  with capped, jittered exponential backoff (429 honours X-RateLimit-Reset and Retry-After).
- POST is never sent twice unless the first attempt certainly did not create anything: a 429
  (refused before processing) or a connection that was never opened. A POST that may have reached
  the server and got no clear answer (timeout, dropped connection, 5xx) raises OutcomeUnknown.
- A DELETE retried after an attempt that may have committed treats 404 as success: the earlier
  attempt deleted the task.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import IO, Any

from titan_gitops._http import HttpResponse, HttpSession, SinkWriteError, TransportFailure
from titan_gitops.client.retry import (
    RETRYABLE_STATUSES,
    RateLimiter,
    compute_backoff,
    compute_rate_limit_wait,
)
from titan_gitops.client.wire import build_error, scrub_text
from titan_gitops.errors import (
    ApiError,
    ApiUnavailable,
    ConfigError,
    OutcomeUnknown,
    RateLimited,
)

logger = logging.getLogger("titan_gitops.client")

_SAFE_METHODS = frozenset({"GET", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry."""

    max_retries: int = 4
    backoff_base: float = 0.5
    backoff_cap: float = 30.0


class RequestEngine:
    """Sends requests through one HttpSession; thread-safe, counts what it sends."""

    def __init__(
        self,
        session: HttpSession,
        *,
        auth_headers: Mapping[str, str],
        policy: RetryPolicy,
        sleep: Callable[[float], None],
        clock: Callable[[], float],
        rand: Callable[[], float],
        secrets: Iterable[str],
    ) -> None:
        self._session = session
        self._auth_headers = dict(auth_headers)
        self._policy = policy
        self._sleep = sleep
        self._clock = clock
        self._rand = rand
        self._secrets = tuple(s for s in secrets if s)
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
    def secrets(self) -> tuple[str, ...]:
        """What must never appear in error text."""
        return self._secrets

    def close(self) -> None:
        """Release the session's connections."""
        self._session.close()

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
    ) -> HttpResponse:
        """Send until a final answer; return a 2xx response, or raise the typed error.

        `path` is what errors and logs show (never a host or query string); `url` overrides what
        is requested (an absolute media URL). `sink_factory` gives a fresh file for each attempt's
        streamed body.

        Raises:
            ApiError: and its subclasses, as the module docstring describes.
            ConfigError: the streamed body could not be written locally.
        """
        method = method.upper()
        secrets = self._secrets + tuple(s for s in extra_secrets if s)
        headers = self._auth_headers if with_auth else {}
        attempt = 0
        maybe_committed = False
        while True:
            waited = self._limiter.acquire()
            if waited > 0:
                logger.debug("rate limit: held %s %s for %.2fs", method, path, waited)
            sink = sink_factory() if sink_factory is not None else None
            with self._lock:
                self._sent += 1
            try:
                response = self._session.send(
                    method,
                    url or path,
                    params=params,
                    json_body=json_body,
                    headers=headers,
                    sink=sink,
                )
            except TransportFailure as failure:
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
                    raise ApiUnavailable(
                        f"{failure.reason} (gave up after {attempt + 1} attempts)",
                        method=method,
                        path=path,
                    ) from None
                maybe_committed = maybe_committed or failure.maybe_sent
                self._pause(method, path, attempt, self._backoff(attempt), failure.reason)
                attempt += 1
                continue
            except SinkWriteError as exc:
                raise ConfigError(f"cannot write the downloaded body: {exc}") from None
            self._limiter.observe(response.headers)
            status = response.status
            logger.debug("%s %s -> %d (attempt %d)", method, path, status, attempt + 1)
            if 200 <= status < 300:
                return response
            if 300 <= status < 400:
                raise self._redirect_error(response, method, path)
            if status == 404 and method == "DELETE" and maybe_committed:
                # An earlier attempt may have deleted it before its answer was lost.
                logger.debug("%s %s: 404 after a lost answer counts as deleted", method, path)
                return HttpResponse(status=204, headers=response.headers)
            error = build_error(status, response.content, method=method, path=path, secrets=secrets)
            if status == 429:
                if attempt >= self._policy.max_retries:
                    raise RateLimited(
                        f"{error.detail} (gave up after {attempt + 1} attempts)",
                        method=method,
                        path=path,
                        status=status,
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
                self._pause(method, path, attempt, wait, "429")
                attempt += 1
                continue
            if status in RETRYABLE_STATUSES:
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
                maybe_committed = True
                self._pause(method, path, attempt, self._backoff(attempt), str(status))
                attempt += 1
                continue
            raise error

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
            self._sleep(wait)

    def _redirect_error(self, response: HttpResponse, method: str, path: str) -> ApiError:
        location = response.header("location") or ""
        target = _describe_location(location)
        return ApiError(
            f"the service redirected to {scrub_text(target, self._secrets)}; redirects are not "
            "followed (the token would travel with them): point TITAN_API_URL at the final origin",
            method=method,
            path=path,
            status=response.status,
        )


def _describe_location(location: str) -> str:
    """Where a redirect points, without its query string (which may carry credentials)."""
    from urllib.parse import urlsplit

    parts = urlsplit(location)
    if parts.hostname:
        return f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return parts.path[:80] or "an unnamed location"
