"""Raw exchanges with the service for the selftest: every status, header and body as it came.

The selftest judges answers the client would turn into errors (a 401, a 400, an envelope missing),
so it speaks through `_http.HttpSession` directly, never through TitanClient's typed calls. It
still keeps within the service's budget with the client's own rules: the shared rate limiter
paces requests by the X-RateLimit-* headers, and a 429 is waited out and sent again (at most
`MAX_RATE_RETRIES` times), except a spent daily preview quota (`preview_limit_exceeded`).
Every exchange is kept, and handed to `on_exchange` (the recorder).
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from titan_gitops._http import HttpSession, ResponseRefused, TransportFailure
from titan_gitops.client.retry import RateLimiter, compute_rate_limit_wait
from titan_gitops.errors import ApiUnavailable

MAX_RATE_RETRIES = 4
RATE_WAIT_CAP = 60.0
# What a request carries to authenticate: the configured way, another, or none at all.
AUTH_CONFIGURED = "configured"
AUTH_NONE = "none"
# The 429 of a spent daily preview quota, which no retry within the run can get past.
PREVIEW_QUOTA_CODE = "preview_limit_exceeded"


@dataclass(frozen=True)
class Exchange:
    """One request and the answer it got, for checks and for `--record`."""

    expectation: str
    method: str
    path: str
    params: Mapping[str, str]
    request_headers: Mapping[str, str]
    request_body: Any
    status: int
    headers: Mapping[str, str]
    content: bytes = field(repr=False)

    def header(self, name: str) -> str | None:
        """One answer header, looked up case-insensitively."""
        return self.headers.get(name.lower())

    def json(self) -> Any:
        """The answer's JSON value, or None when it is not JSON."""
        try:
            return json.loads(self.content.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return None

    def envelope_data(self) -> Any:
        """`data` of a success envelope, or None when the answer is not one."""
        payload = self.json()
        if isinstance(payload, dict) and payload.get("success") is True:
            return payload.get("data")
        return None

    def error_code(self) -> str | None:
        """`error.code` of an error envelope (`success: false`), or None."""
        payload = self.json()
        if isinstance(payload, dict) and payload.get("success") is False:
            error = payload.get("error")
            if isinstance(error, dict) and isinstance(error.get("code"), str):
                return str(error["code"])
        return None

    def error_message(self) -> str:
        """`error.message` of an error envelope, or ""."""
        payload = self.json()
        error = payload.get("error") if isinstance(payload, dict) else None
        message = error.get("message") if isinstance(error, dict) else None
        return message if isinstance(message, str) else ""


class Probe:
    """Sends requests to one origin and keeps what came back; `expectation` labels them."""

    def __init__(
        self,
        session: HttpSession,
        origin: str,
        auth_headers: Mapping[str, str],
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        on_exchange: Callable[[Exchange], None] | None = None,
    ) -> None:
        self._session = session
        self._origin = origin
        self._auth = dict(auth_headers)
        self._sleep = sleep
        self._clock = clock
        self._limiter = RateLimiter(clock=clock, sleep=sleep, max_wait=RATE_WAIT_CAP)
        self._on_exchange = on_exchange
        self.expectation = ""
        self.exchanges: list[Exchange] = []

    @property
    def header_name(self) -> str:
        """The header the token goes in: Authorization, or X-API-Key."""
        return "X-API-Key" if "X-API-Key" in self._auth else "Authorization"

    def close(self) -> None:
        """Release the session's connections."""
        self._session.close()

    @property
    def origin(self) -> str:
        """The service's origin, as messages name it."""
        return self._origin

    def send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        auth: str | Mapping[str, str] = AUTH_CONFIGURED,
    ) -> Exchange:
        """One request, sent again after a 429 as the service asks; returns the final exchange.

        `auth` is AUTH_CONFIGURED (the target's token as configured), AUTH_NONE, or headers.

        Raises:
            ApiUnavailable: the service could not be reached or its answer was cut off; the
                message names the host and the route.
        """
        headers = self._headers_for(auth)
        attempt = 0
        while True:
            self._limiter.acquire()
            exchange = self._send_once(method, path, params or {}, body, headers)
            self._limiter.observe(exchange.headers)
            if exchange.status != 429 or attempt >= MAX_RATE_RETRIES:
                return exchange
            if exchange.error_code() == PREVIEW_QUOTA_CODE:
                return exchange  # the daily preview quota: waiting a minute does not help
            wait = compute_rate_limit_wait(
                exchange.headers,
                attempt,
                now=self._clock(),
                base=0.5,
                cap=RATE_WAIT_CAP,
                rand=random.random,
            )
            self._sleep(wait)
            attempt += 1

    def _headers_for(self, auth: str | Mapping[str, str]) -> dict[str, str]:
        if auth == AUTH_CONFIGURED:
            return dict(self._auth)
        if auth == AUTH_NONE or isinstance(auth, str):
            return {}
        return dict(auth)

    def _send_once(
        self,
        method: str,
        path: str,
        params: Mapping[str, str],
        body: Any,
        headers: dict[str, str],
    ) -> Exchange:
        try:
            response = self._session.send(
                method, path, params=params or None, json_body=body, headers=headers
            )
        except TransportFailure as failure:
            cause = f": {failure.cause}" if failure.cause else ""
            if isinstance(failure, ResponseRefused):
                reason = f"{failure.reason} ({self._origin}{path})"
            else:
                reason = f"{failure.reason} to {urlsplit(self._origin).netloc}{cause}"
            raise ApiUnavailable(
                f"{reason}; the selftest needs a service it can reach",
                method=method,
                path=path,
            ) from None
        exchange = Exchange(
            expectation=self.expectation,
            method=method,
            path=path,
            params=dict(params),
            request_headers=headers,
            request_body=body,
            status=response.status,
            headers=dict(response.headers),
            content=response.content,
        )
        self.exchanges.append(exchange)
        if self._on_exchange is not None:
            self._on_exchange(exchange)
        return exchange
