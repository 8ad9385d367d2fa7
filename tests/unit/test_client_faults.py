"""TitanClient against scripted servers (httpx.MockTransport): errors, retries, limits, secrets."""

from __future__ import annotations

import email.utils
import json
import logging
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import httpx
import pytest

from titan_gitops._http import classify_failure
from titan_gitops.client import ExecutionTimeout, TitanClient
from titan_gitops.client.retry import (
    RateLimiter,
    compute_backoff,
    parse_reset,
    parse_retry_after,
)
from titan_gitops.errors import (
    ApiError,
    ApiUnavailable,
    AuthError,
    BadRequest,
    ConfigError,
    NotFound,
    OutcomeUnknown,
    RateLimited,
)

ORIGIN = "https://api.titan.test"
TOKEN = "tok-7f3a9c"
NOW = 1_800_000_000.0

Reply = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


class FakeTime:
    """A clock that only moves when the client sleeps."""

    def __init__(self) -> None:
        self.now = NOW
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class Script:
    """Answers requests from a queue (the last reply repeats) and records what it received."""

    def __init__(self, *replies: Reply) -> None:
        self.replies = list(replies)
        self.requests: list[httpx.Request] = []
        self.lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            self.requests.append(request)
            reply = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
        if isinstance(reply, Exception):
            raise reply
        if callable(reply):
            return reply(request)
        return reply


def ok(data: Any, status: int = 200, **extra: Any) -> httpx.Response:
    return httpx.Response(status, json={"success": True, "data": data, **extra})


def fail(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> httpx.Response:
    body = {"success": False, "error": {"code": code, "message": message}}
    return httpx.Response(status, json=body, headers=headers)


TASK = {"id": "t-1", "name": "shop/prices", "status": "active", "urls": ["https://x.test"]}


def make_client(
    handler: Callable[[httpx.Request], httpx.Response],
    fake: FakeTime | None = None,
    **kwargs: Any,
) -> TitanClient:
    fake = fake or FakeTime()
    options: dict[str, Any] = {
        "transport": httpx.MockTransport(handler),
        "sleep": fake.sleep,
        "clock": fake.clock,
        "rand": lambda: 0.0,
    }
    options.update(kwargs)
    return TitanClient(ORIGIN, TOKEN, **options)


# -- envelope, records, headers ----------------------------------------------------------------


def test_get_task_unwraps_the_envelope_and_keeps_every_field() -> None:
    script = Script(ok({**TASK, "future_field": {"a": [1, 2]}}))
    record = make_client(script).get_task("t-1")
    assert record.id == "t-1"
    assert record.body() == {**TASK, "future_field": {"a": [1, 2]}}
    request = script.requests[0]
    assert request.method == "GET"
    assert str(request.url) == f"{ORIGIN}/api/v1/tasks/t-1"
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["user-agent"].startswith("titan-gitops/")


def test_x_api_key_mode_sends_the_key_in_its_own_header() -> None:
    script = Script(ok(TASK))
    make_client(script, auth_header="x-api-key").get_task("t-1")
    assert script.requests[0].headers["x-api-key"] == TOKEN
    assert "authorization" not in script.requests[0].headers


def test_ids_are_escaped_so_they_cannot_reach_another_route() -> None:
    script = Script(ok(TASK))
    make_client(script).get_task("../executions")
    assert script.requests[0].url.raw_path == b"/api/v1/tasks/..%2Fexecutions"


@pytest.mark.parametrize(
    ("method", "call", "status"),
    [
        ("POST", lambda c: c.create_task({"name": "n"}), 201),
        ("PATCH", lambda c: c.update_task("t-1", {"name": "n"}), 200),
        ("PUT", lambda c: c.update_task("t-1", {"name": "n"}, replace=True), 200),
    ],
)
def test_writes_send_json_with_the_right_method(method: str, call: Any, status: int) -> None:
    script = Script(ok(TASK, status=status))
    record = call(make_client(script))
    assert record.name == "shop/prices"
    assert script.requests[0].method == method
    assert json.loads(script.requests[0].content) == {"name": "n"}


@pytest.mark.parametrize("reply", [httpx.Response(204), ok(None), ok({"id": "t-1"})])
def test_delete_accepts_204_and_an_envelope(reply: httpx.Response) -> None:
    script = Script(reply)
    make_client(script).delete_task("t-1")
    assert script.requests[0].method == "DELETE"


# -- typed errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code", "error_type"),
    [
        (401, "UNAUTHORIZED", AuthError),
        (403, "FORBIDDEN", AuthError),
        (404, "NOT_FOUND", NotFound),
        (400, "BAD_REQUEST", BadRequest),
        (409, "CONFLICT", ApiError),
        (501, "NOT_IMPLEMENTED", ApiUnavailable),
    ],
)
def test_statuses_map_to_typed_errors(status: int, code: str, error_type: type) -> None:
    script = Script(fail(status, code, "the server says no"))
    with pytest.raises(ApiError) as caught:
        make_client(script, max_retries=0).get_task("t-1")
    error = caught.value
    assert type(error) is error_type
    assert (error.method, error.path, error.status, error.code) == (
        "GET",
        "/api/v1/tasks/t-1",
        status,
        code,
    )
    assert "the server says no" in str(error)


def test_a_403_names_the_missing_scope() -> None:
    script = Script(fail(403, "FORBIDDEN", "token lacks scope tasks:write"))
    with pytest.raises(AuthError) as caught:
        make_client(script).create_task({"name": "n"})
    assert caught.value.scope == "tasks:write"
    assert "tasks:write" in str(caught.value)
    assert len(script.requests) == 1


def test_a_401_is_not_retried_and_has_no_scope() -> None:
    script = Script(fail(401, "UNAUTHORIZED", "missing credentials"))
    with pytest.raises(AuthError) as caught:
        make_client(script).list_tasks()
    assert caught.value.scope is None
    assert len(script.requests) == 1


def test_a_long_server_message_is_truncated() -> None:
    script = Script(fail(400, "BAD_REQUEST", "x" * 5000))
    with pytest.raises(BadRequest) as caught:
        make_client(script).get_task("t-1")
    assert 250 <= len(caught.value.detail) <= 300


@pytest.mark.parametrize(
    "reply",
    [
        httpx.Response(
            200, content=b"<html><body>" + b"proxy says hello " * 50 + b"</body></html>"
        ),
        httpx.Response(200, content=b'{"success": true, "data": '),
        httpx.Response(200, json={"data": TASK}),
        httpx.Response(200, json=[TASK]),
        httpx.Response(200, json={"success": "yes", "data": TASK}),
        httpx.Response(200, json={"success": True}),
        httpx.Response(200, json={"success": True, "data": {"name": "no id"}}),
        httpx.Response(200, json={"success": True, "data": ["not an object"]}),
        httpx.Response(200, content=b""),
    ],
)
def test_a_malformed_success_body_is_an_api_error_quoting_a_short_prefix(
    reply: httpx.Response,
) -> None:
    with pytest.raises(ApiError) as caught:
        make_client(Script(reply)).get_task("t-1")
    assert type(caught.value) is ApiError
    assert len(str(caught.value)) < 200
    assert "proxy says hello " * 6 not in str(caught.value)


def test_success_false_with_200_is_an_error() -> None:
    script = Script(
        httpx.Response(200, json={"success": False, "error": {"code": "X", "message": "nope"}})
    )
    with pytest.raises(ApiError, match="nope") as caught:
        make_client(script).get_task("t-1")
    assert caught.value.code == "X"


def test_a_non_json_error_page_is_quoted_briefly() -> None:
    script = Script(httpx.Response(502, content=b"<html>Bad gateway from the edge</html>" * 20))
    with pytest.raises(ApiUnavailable) as caught:
        make_client(script, max_retries=1).get_task("t-1")
    assert "Bad gateway from the edge" in str(caught.value)
    assert len(str(caught.value)) < 250
    assert caught.value.status == 502


def test_an_empty_listing_must_still_be_a_list() -> None:
    script = Script(httpx.Response(200, json={"success": True, "data": None}))
    with pytest.raises(ApiError, match="expected a list"):
        make_client(script).list_tasks()


# -- retries -----------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_get_is_retried_on_5xx_then_succeeds(status: int) -> None:
    fake = FakeTime()
    script = Script(fail(status, "INTERNAL_SERVER_ERROR", "boom"), ok(TASK))
    client = make_client(script, fake)
    assert client.get_task("t-1").id == "t-1"
    assert client.request_count == 2
    assert client.retry_count == 1
    assert len(fake.sleeps) == 1


def test_persistent_5xx_gives_up_after_the_budget_with_the_last_status() -> None:
    fake = FakeTime()
    script = Script(fail(503, "UNAVAILABLE", "down"))
    with pytest.raises(ApiUnavailable) as caught:
        make_client(script, fake, max_retries=3).list_tasks()
    assert len(script.requests) == 4
    assert caught.value.status == 503
    assert "4 attempts" in str(caught.value)


def test_backoff_grows_exponentially_and_is_capped() -> None:
    fake = FakeTime()
    script = Script(fail(500, "E", "down"))
    with pytest.raises(ApiUnavailable):
        make_client(script, fake, max_retries=6, backoff_base=1.0, backoff_cap=8.0).get_task("t")
    # rand() == 0: half of min(cap, base * 2**attempt)
    assert fake.sleeps == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]


def test_backoff_jitter_stays_between_half_and_the_full_step() -> None:
    for attempt in range(10):
        low = compute_backoff(attempt, base=0.5, cap=30.0, rand=lambda: 0.0)
        high = compute_backoff(attempt, base=0.5, cap=30.0, rand=lambda: 1.0)
        assert low == pytest.approx(high / 2)
        assert high <= 30.0


@pytest.mark.parametrize(
    "failure",
    [
        httpx.ConnectError("refused"),
        httpx.ReadTimeout("slow"),
        httpx.RemoteProtocolError("closed"),
        httpx.ReadError("reset"),
    ],
)
def test_get_is_retried_after_connection_failures(failure: Exception) -> None:
    script = Script(failure, ok(TASK))
    client = make_client(script)
    assert client.get_task("t-1").id == "t-1"
    assert client.request_count == 2


def test_connection_failures_end_as_api_unavailable_never_an_httpx_error() -> None:
    script = Script(httpx.ConnectError("[Errno 111] Connection refused"))
    with pytest.raises(ApiUnavailable) as caught:
        make_client(script, max_retries=2).get_task("t-1")
    assert not isinstance(caught.value, httpx.HTTPError)
    assert caught.value.__cause__ is None
    assert "could not connect" in str(caught.value)
    assert len(script.requests) == 3


def test_any_exception_from_a_transport_is_wrapped() -> None:
    script = Script(RuntimeError("transport bug"))
    with pytest.raises(ApiUnavailable, match="RuntimeError"):
        make_client(script, max_retries=1).get_task("t-1")


@pytest.mark.parametrize(
    "reply",
    [
        fail(500, "INTERNAL_SERVER_ERROR", "boom"),
        fail(503, "UNAVAILABLE", "down"),
        httpx.ReadTimeout("no answer"),
        httpx.ReadError("connection reset"),
        httpx.RemoteProtocolError("server disconnected"),
    ],
)
def test_post_is_never_blindly_retried(reply: Reply) -> None:
    script = Script(reply, ok(TASK, status=201))
    with pytest.raises(OutcomeUnknown, match="re-list before retrying") as caught:
        make_client(script).create_task({"name": "n"})
    assert len(script.requests) == 1
    assert caught.value.method == "POST"
    assert caught.value.path == "/api/v1/tasks"


def test_post_is_retried_when_the_connection_was_never_opened() -> None:
    script = Script(httpx.ConnectError("refused"), httpx.ConnectTimeout("slow"), ok(TASK, 201))
    client = make_client(script)
    assert client.create_task({"name": "n"}).id == "t-1"
    assert client.request_count == 3


def test_post_is_retried_after_a_429() -> None:
    script = Script(fail(429, "TOO_MANY_REQUESTS", "slow down"), ok(TASK, 201))
    assert make_client(script).create_task({"name": "n"}).id == "t-1"
    assert len(script.requests) == 2


def test_post_that_can_never_connect_is_unavailable_not_unknown() -> None:
    script = Script(httpx.ConnectError("refused"))
    with pytest.raises(ApiUnavailable):
        make_client(script, max_retries=1).create_task({"name": "n"})


def test_put_and_patch_are_retried_on_5xx() -> None:
    script = Script(fail(502, "BAD_GATEWAY", "x"), ok(TASK), fail(504, "GW", "y"), ok(TASK))
    client = make_client(script)
    client.update_task("t-1", {"name": "a"})
    client.update_task("t-1", {"name": "a"}, replace=True)
    assert [r.method for r in script.requests] == ["PATCH", "PATCH", "PUT", "PUT"]


def test_a_retried_delete_that_finds_404_counts_as_done() -> None:
    script = Script(httpx.ReadTimeout("answer lost"), fail(404, "NOT_FOUND", "no such task"))
    client = make_client(script)
    client.delete_task("t-1")
    assert client.request_count == 2


def test_a_delete_after_a_5xx_that_finds_404_counts_as_done() -> None:
    script = Script(fail(500, "E", "boom"), fail(404, "NOT_FOUND", "no such task"))
    make_client(script).delete_task("t-1")


def test_a_first_delete_that_finds_404_is_not_found() -> None:
    script = Script(fail(404, "NOT_FOUND", "no such task"))
    with pytest.raises(NotFound):
        make_client(script).delete_task("t-1")


def test_a_delete_whose_connection_never_opened_then_404_is_not_found() -> None:
    script = Script(httpx.ConnectError("refused"), fail(404, "NOT_FOUND", "gone"))
    with pytest.raises(NotFound):
        make_client(script).delete_task("t-1")


# -- rate limiting -----------------------------------------------------------------------------


def test_429_honours_x_ratelimit_reset_epoch_seconds() -> None:
    fake = FakeTime()
    reset = str(int(NOW) + 7)
    script = Script(fail(429, "TOO_MANY_REQUESTS", "slow", {"X-RateLimit-Reset": reset}), ok(TASK))
    make_client(script, fake).get_task("t-1")
    assert fake.sleeps == [pytest.approx(7.0)]


def test_429_honours_retry_after_seconds() -> None:
    fake = FakeTime()
    script = Script(fail(429, "TOO_MANY_REQUESTS", "slow", {"Retry-After": "12"}), ok(TASK))
    make_client(script, fake).get_task("t-1")
    assert fake.sleeps == [pytest.approx(12.0)]


def test_429_honours_retry_after_as_an_http_date() -> None:
    fake = FakeTime()
    when = email.utils.formatdate(NOW + 9, usegmt=True)
    script = Script(fail(429, "TOO_MANY_REQUESTS", "slow", {"Retry-After": when}), ok(TASK))
    make_client(script, fake).get_task("t-1")
    assert fake.sleeps == [pytest.approx(9.0)]


def test_429_adds_jitter_to_the_servers_hint() -> None:
    fake = FakeTime()
    script = Script(fail(429, "TOO_MANY_REQUESTS", "slow", {"Retry-After": "3"}), ok(TASK))
    make_client(script, fake, rand=lambda: 1.0, backoff_base=0.5).get_task("t-1")
    assert fake.sleeps == [pytest.approx(3.5)]


def test_429_waits_are_capped() -> None:
    fake = FakeTime()
    reset = str(int(NOW) + 3600)
    script = Script(fail(429, "TOO_MANY_REQUESTS", "slow", {"X-RateLimit-Reset": reset}), ok(TASK))
    make_client(script, fake, backoff_cap=20.0).get_task("t-1")
    assert fake.sleeps == [20.0]


def test_429_without_hints_uses_backoff_and_ends_as_rate_limited() -> None:
    fake = FakeTime()
    script = Script(fail(429, "TOO_MANY_REQUESTS", "slow"))
    with pytest.raises(RateLimited) as caught:
        make_client(script, fake, max_retries=2, backoff_base=1.0).list_tasks()
    assert fake.sleeps == [0.5, 1.0]
    assert len(script.requests) == 3
    assert caught.value.status == 429
    assert caught.value.code == "TOO_MANY_REQUESTS"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("5", 5.0),
        ("0", 0.0),
        ("-3", 0.0),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),  # in the past
        ("soon", None),
        ("", None),
        (None, None),
        ("nan", None),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, now=NOW) == expected


def test_parse_reset_reads_epoch_seconds_and_small_deltas() -> None:
    assert parse_reset(str(int(NOW) + 30), now=NOW) == pytest.approx(30.0)
    assert parse_reset(str(int(NOW) - 30), now=NOW) == 0.0
    assert parse_reset("15", now=NOW) == 15.0
    assert parse_reset("never", now=NOW) is None


class BudgetServer:
    """A server with a per-window budget that answers 429 when it is exceeded."""

    def __init__(self, fake: FakeTime, budget: int, window: float = 60.0) -> None:
        self.fake = fake
        self.budget = budget
        self.window = window
        self.window_start = fake.now
        self.used = 0
        self.statuses: list[int] = []
        self.lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            if self.fake.now >= self.window_start + self.window:
                self.window_start = self.fake.now
                self.used = 0
            reset = str(int(self.window_start + self.window))
            if self.used >= self.budget:
                self.statuses.append(429)
                return fail(429, "TOO_MANY_REQUESTS", "over", {"X-RateLimit-Reset": reset})
            self.used += 1
            self.statuses.append(200)
            headers = {
                "X-RateLimit-Limit": str(self.budget),
                "X-RateLimit-Remaining": str(self.budget - self.used),
                "X-RateLimit-Reset": reset,
            }
            return httpx.Response(200, json={"success": True, "data": TASK}, headers=headers)


def test_the_limiter_keeps_a_run_under_the_servers_budget() -> None:
    fake = FakeTime()
    server = BudgetServer(fake, budget=3)
    client = make_client(server, fake)
    for _ in range(10):
        client.get_task("t-1")
    assert server.statuses == [200] * 10
    assert client.request_count == 10
    assert sum(fake.sleeps) >= 3 * 60.0 - 1


def test_the_limiter_is_shared_between_threads() -> None:
    fake = FakeTime()
    server = BudgetServer(fake, budget=5)
    client = make_client(server, fake, max_retries=8)

    def work() -> None:
        for _ in range(5):
            client.get_task("t-1")

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert server.statuses.count(200) == 20
    assert client.request_count == len(server.statuses)


def test_the_limiter_paces_by_limit_when_no_reset_is_given() -> None:
    fake = FakeTime()
    limiter = RateLimiter(clock=fake.clock, sleep=fake.sleep)
    limiter.observe({"x-ratelimit-limit": "120", "x-ratelimit-remaining": "0"})
    assert limiter.acquire() == pytest.approx(0.5)  # then one request probes the new budget
    limiter.observe({"x-ratelimit-limit": "120", "x-ratelimit-remaining": "119"})
    assert limiter.acquire() == 0.0


def test_after_the_budget_ran_out_one_probe_goes_first() -> None:
    fake = FakeTime()
    limiter = RateLimiter(clock=fake.clock, sleep=fake.sleep)
    limiter.observe({"x-ratelimit-limit": "120", "x-ratelimit-remaining": "119"})  # window opens
    for _ in range(119):
        assert limiter.acquire() == 0.0
    # Spent: held until a minute after the window opened, not 60 s / limit.
    assert limiter.acquire() == pytest.approx(60.0)
    # The probe's answer has not come: the next request waits for it (here it never comes).
    assert limiter.acquire() == pytest.approx(10.0, abs=0.05)


def test_a_late_answer_never_raises_the_budget_within_a_window() -> None:
    fake = FakeTime()
    limiter = RateLimiter(clock=fake.clock, sleep=fake.sleep)
    limiter.observe({"x-ratelimit-limit": "10", "x-ratelimit-remaining": "9"})
    for _ in range(9):
        limiter.acquire()
    limiter.observe({"x-ratelimit-limit": "10", "x-ratelimit-remaining": "5"})  # sent earlier
    assert limiter.acquire() > 0.0


def test_the_limiter_does_nothing_without_headers() -> None:
    fake = FakeTime()
    limiter = RateLimiter(clock=fake.clock, sleep=fake.sleep)
    limiter.observe({})
    assert [limiter.acquire() for _ in range(50)] == [0.0] * 50
    assert fake.sleeps == []


# -- paging ------------------------------------------------------------------------------------


class PagedServer:
    """Serves `count` tasks with limit/offset and meta, clamping limit at 100."""

    def __init__(self, count: int, *, with_meta: bool = True) -> None:
        self.tasks = [{"id": f"t-{i:05d}", "name": f"task {i}"} for i in range(count)]
        self.with_meta = with_meta
        self.queries: list[tuple[int, int]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        limit = min(100, int(request.url.params.get("limit", "20")))
        offset = int(request.url.params.get("offset", "0"))
        self.queries.append((limit, offset))
        body: dict[str, Any] = {"success": True, "data": self.tasks[offset : offset + limit]}
        if self.with_meta:
            body["meta"] = {"total": len(self.tasks), "limit": limit, "offset": offset}
        return httpx.Response(200, json=body)


@pytest.mark.parametrize(("count", "requests"), [(0, 1), (1, 1), (100, 1), (250, 3), (1000, 10)])
def test_list_tasks_follows_offsets_with_ceil_n_over_100_requests(
    count: int, requests: int
) -> None:
    server = PagedServer(count)
    client = make_client(server)
    tasks = client.list_tasks()
    assert [t.id for t in tasks] == [t["id"] for t in server.tasks]
    assert client.request_count == requests


def test_list_tasks_page_returns_one_page_with_its_meta() -> None:
    server = PagedServer(250)
    page = make_client(server).list_tasks_page(limit=100, offset=200)
    assert (len(page.items), page.total, page.limit, page.offset) == (50, 250, 100, 200)


def test_page_size_is_clamped_to_the_maximum() -> None:
    server = PagedServer(30)
    make_client(server).list_tasks(page_size=5000)
    assert server.queries == [(100, 0)]


def test_listing_without_meta_stops_at_a_short_page() -> None:
    server = PagedServer(130, with_meta=False)
    client = make_client(server)
    assert len(client.list_tasks()) == 130
    assert server.queries == [(100, 0), (100, 100)]


def test_a_listing_that_returns_the_same_page_again_is_refused_at_once() -> None:
    # Reading it again would meet the same page again: the service ignores the offset.
    page = {
        "success": True,
        "data": [{"id": f"t-{i}", "name": "n"} for i in range(100)],
        "meta": {"total": 300, "limit": 100, "offset": 0},
    }
    script = Script(httpx.Response(200, json=page))
    client = make_client(script)
    with pytest.raises(ApiError, match=r"same page twice .* does not advance"):
        client.list_tasks()
    assert client.request_count == 2


def test_a_listing_that_repeats_an_item_is_refused_after_one_fresh_read() -> None:
    first = [{"id": f"t-{i}", "name": "n"} for i in range(100)]
    second = [{"id": f"t-{i}", "name": "n"} for i in range(99, 199)]
    replies = [
        httpx.Response(200, json={"success": True, "data": data, "meta": {"total": 200}})
        for data in (first, second, first, second)
    ]
    client = make_client(Script(*replies))
    with pytest.raises(ApiError, match="repeated an item while it was read, twice"):
        client.list_tasks()
    assert client.request_count == 4


def test_a_listing_whose_total_changes_is_read_again() -> None:
    server = PagedServer(150)
    calls = {"n": 0}

    def shifting(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] == 2:
            server.tasks.append({"id": "t-new", "name": "late"})
        return server(request)

    tasks = make_client(shifting).list_tasks()
    assert len(tasks) == 151
    assert calls["n"] == 4


def test_a_listing_that_ends_before_its_total_is_refused() -> None:
    def short(request: httpx.Request) -> httpx.Response:
        offset = int(request.url.params["offset"])
        data = [{"id": "a", "name": "a"}] if offset == 0 else []
        return httpx.Response(
            200, json={"success": True, "data": data, "meta": {"total": 5, "limit": 1}}
        )

    with pytest.raises(ApiError, match="ended early"):
        make_client(short).list_tasks()


def test_list_templates_and_get_by_slug() -> None:
    templates = [{"id": "tp-1", "slug": "carrier-quote-json", "name": "Quote", "x": 1}]
    script = Script(
        ok(templates, meta={"total": 1, "limit": 100, "offset": 0}),
        ok(templates[0]),
        ok({"preview": [1]}),
    )
    client = make_client(script)
    assert [t.slug for t in client.list_templates()] == ["carrier-quote-json"]
    assert client.get_template("carrier-quote-json").body()["x"] == 1
    assert client.preview_template("carrier-quote-json", {"payload": {}}) == {"preview": [1]}
    assert [r.url.path for r in script.requests] == [
        "/api/v1/templates",
        "/api/v1/templates/carrier-quote-json",
        "/api/v1/templates/carrier-quote-json/preview",
    ]


def test_the_client_is_safe_to_share_between_threads() -> None:
    server = PagedServer(250)
    client = make_client(server)
    results: list[int] = []

    def work() -> None:
        for _ in range(5):
            results.append(len(client.list_tasks()))

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [250] * 40
    assert client.request_count == 40 * 3


# -- redirects, configuration ------------------------------------------------------------------


def test_redirects_are_not_followed_and_name_the_host() -> None:
    script = Script(
        httpx.Response(302, headers={"Location": "https://evil.test/steal?x=1"}), ok(TASK)
    )
    with pytest.raises(ApiError, match=r"evil\.test") as caught:
        make_client(script).get_task("t-1")
    assert len(script.requests) == 1
    assert caught.value.status == 302
    assert "x=1" not in str(caught.value)


@pytest.mark.parametrize(
    "url",
    [
        "https://api.titan.test/api/v1",
        "https://api.titan.test/api/v1/",
        "ftp://api.titan.test",
        "api.titan.test",
        "https://user:pw@api.titan.test",
        "https://api.titan.test/?q=1",
    ],
)
def test_bad_base_urls_are_config_errors(url: str) -> None:
    with pytest.raises(ConfigError):
        TitanClient(url, TOKEN)


def test_a_base_url_keeps_its_path_prefix() -> None:
    script = Script(ok(TASK))
    TitanClient("https://gw.test/titan/", TOKEN, transport=httpx.MockTransport(script)).get_task(
        "t"
    )
    assert str(script.requests[0].url) == "https://gw.test/titan/api/v1/tasks/t"


@pytest.mark.parametrize("kwargs", [{"auth_header": "basic"}, {"timeout": 0}, {"max_retries": -1}])
def test_bad_options_are_config_errors(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        TitanClient(ORIGIN, TOKEN, **kwargs)


def test_a_token_that_cannot_be_a_header_is_refused_without_echoing_it() -> None:
    with pytest.raises(ConfigError) as caught:
        TitanClient(ORIGIN, "abc\ndef-secret")
    assert "def-secret" not in str(caught.value)


def test_no_token_sends_no_auth_header() -> None:
    script = Script(ok(TASK))
    TitanClient(ORIGIN, None, transport=httpx.MockTransport(script)).get_task("t-1")
    assert "authorization" not in script.requests[0].headers


def test_the_client_is_a_context_manager_with_a_safe_repr() -> None:
    with make_client(Script(ok(TASK))) as client:
        assert TOKEN not in repr(client)
        assert ORIGIN in repr(client)


# -- the token never leaks ---------------------------------------------------------------------

CANARY = "canary-9d81e2b7c4"


def _echo(status: int, code: str) -> Callable[[httpx.Request], httpx.Response]:
    """A server that (badly) echoes the credential it was sent in its error message."""

    def reply(request: httpx.Request) -> httpx.Response:
        sent = request.headers.get("authorization", "")
        return fail(status, code, f"rejected credential {sent} for tasks:write")

    return reply


CANARY_PATHS: list[tuple[str, Reply]] = [
    ("401", _echo(401, "UNAUTHORIZED")),
    ("403", _echo(403, "FORBIDDEN")),
    ("404", _echo(404, "NOT_FOUND")),
    ("400", _echo(400, "BAD_REQUEST")),
    ("429", _echo(429, "TOO_MANY_REQUESTS")),
    ("500", _echo(500, "INTERNAL_SERVER_ERROR")),
    ("timeout", httpx.ReadTimeout(f"timed out, token {CANARY}")),
    ("connect", httpx.ConnectError(f"refused, token {CANARY}")),
    ("malformed", httpx.Response(200, content=f"<html>token={CANARY}</html>".encode())),
    ("bad-envelope", httpx.Response(200, json={"ok": CANARY})),
    ("redirect", httpx.Response(302, headers={"Location": f"https://x.test/?t={CANARY}"})),
    ("transport-bug", RuntimeError(f"bug holding {CANARY}")),
]


def _all_calls(client: TitanClient) -> Iterable[Callable[[], Any]]:
    yield lambda: client.get_task("t-1")
    yield lambda: client.create_task({"name": "n"})
    yield lambda: client.update_task("t-1", {"name": "n"})
    yield lambda: client.delete_task("t-1")
    yield client.list_tasks


@pytest.mark.parametrize(("label", "reply"), CANARY_PATHS, ids=[p[0] for p in CANARY_PATHS])
def test_the_token_never_appears_in_errors_or_logs(
    label: str, reply: Reply, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client = TitanClient(
        ORIGIN,
        CANARY,
        transport=httpx.MockTransport(Script(reply)),
        sleep=lambda s: None,
        max_retries=1,
    )
    failures = 0
    for call in _all_calls(client):
        with pytest.raises(ApiError) as caught:
            call()
        failures += 1
        error = caught.value
        for text in (str(error), repr(error), error.detail, str(error.args)):
            assert CANARY not in text
    assert failures == 5
    assert caplog.records, "the client logs its requests at DEBUG"
    assert CANARY not in caplog.text
    assert CANARY not in repr(client)


# -- runtime: executions, results, media -------------------------------------------------------

EXECUTION = {"id": "e-1", "task_id": "t-1", "status": "queued"}


def test_run_task_sends_an_empty_body_or_the_secret_payload() -> None:
    script = Script(ok(EXECUTION, 201))
    client = make_client(script)
    assert client.run_task("t-1").id == "e-1"
    client.run_task("t-1", secret_payload={"api_key": "sk-hidden-1234"})
    assert script.requests[0].url.path == "/api/v1/tasks/t-1/run"
    assert json.loads(script.requests[0].content) == {}
    assert json.loads(script.requests[1].content) == {
        "secret_payload": {"api_key": "sk-hidden-1234"}
    }


def test_a_secret_payload_echoed_by_the_server_is_scrubbed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)

    def echo(request: httpx.Request) -> httpx.Response:
        return fail(400, "BAD_REQUEST", f"bad payload {request.content.decode()}")

    with pytest.raises(BadRequest) as caught:
        make_client(echo).run_task("t-1", secret_payload={"api_key": "sk-hidden-1234"})
    assert "sk-hidden-1234" not in str(caught.value)
    assert "sk-hidden-1234" not in caplog.text


def test_run_task_is_not_retried_after_a_dropped_connection() -> None:
    script = Script(httpx.ReadError("reset"), ok(EXECUTION))
    with pytest.raises(OutcomeUnknown):
        make_client(script).run_task("t-1")
    assert len(script.requests) == 1


@pytest.mark.parametrize("action", ["pause", "resume", "stop"])
def test_execution_controls_post_to_their_routes(action: str) -> None:
    script = Script(ok({**EXECUTION, "status": "paused"}))
    record = getattr(make_client(script), f"{action}_execution")("e-1")
    assert record.status == "paused"
    assert script.requests[0].method == "POST"
    assert script.requests[0].url.path == f"/api/v1/executions/e-1/{action}"


def test_an_illegal_transition_is_a_bad_request() -> None:
    script = Script(fail(400, "BAD_REQUEST", "cannot resume a running execution"))
    with pytest.raises(BadRequest, match="cannot resume"):
        make_client(script).resume_execution("e-1")


def test_execution_listings_and_filters() -> None:
    page = ok([EXECUTION], meta={"total": 1, "limit": 100, "offset": 0})
    script = Script(page, page, ok(EXECUTION))
    client = make_client(script)
    assert [e.id for e in client.list_task_executions("t-1")] == ["e-1"]
    assert [e.id for e in client.list_executions(task_id="t-1", status="running")] == ["e-1"]
    assert client.get_execution("e-1").task_id == "t-1"
    assert script.requests[0].url.path == "/api/v1/tasks/t-1/executions"
    params = script.requests[1].url.params
    assert (params["task_id"], params["status"], params["limit"]) == ("t-1", "running", "100")


def test_wait_for_execution_polls_with_backoff_until_terminal() -> None:
    fake = FakeTime()
    statuses = ["queued", "running", "running", "running", "completed"]
    script = Script(*[ok({**EXECUTION, "status": s}) for s in statuses])
    seen: list[str | None] = []
    record = make_client(script, fake).wait_for_execution(
        "e-1", timeout=100, interval=2.0, on_poll=lambda r: seen.append(r.status)
    )
    assert record.status == "completed"
    assert seen == statuses
    assert fake.sleeps == [2.0, 3.0, 4.5, 6.75]


@pytest.mark.parametrize("terminal", ["completed_with_errors", "failed", "cancelled"])
def test_every_terminal_status_ends_the_wait(terminal: str) -> None:
    script = Script(ok({**EXECUTION, "status": terminal}))
    assert make_client(script).wait_for_execution("e-1").status == terminal


def test_wait_for_execution_times_out_clearly() -> None:
    fake = FakeTime()
    script = Script(ok({**EXECUTION, "status": "running"}))
    with pytest.raises(ExecutionTimeout) as caught:
        make_client(script, fake).wait_for_execution("e-1", timeout=10, interval=3.0)
    assert caught.value.last_status == "running"
    assert "e-1" in str(caught.value)
    assert "running" in str(caught.value)
    assert fake.now - NOW == pytest.approx(10.0)


def test_results_metadata_and_datasets() -> None:
    script = Script(
        ok({"has_output": True, "format": "json"}),
        ok([{"id": "d-1", "rows": 3}]),
        ok([{"id": "d-1"}, {"id": "d-2"}], meta={"total": 2, "limit": 100, "offset": 0}),
    )
    client = make_client(script)
    assert client.get_results("e-1")["has_output"] is True
    assert client.list_execution_datasets("e-1")[0].body() == {"id": "d-1", "rows": 3}
    assert len(client.list_task_datasets("t-1")) == 2
    assert [r.url.path for r in script.requests] == [
        "/api/v1/executions/e-1/results",
        "/api/v1/executions/e-1/datasets",
        "/api/v1/tasks/t-1/datasets",
    ]


def test_export_returns_the_raw_body_and_selects_the_format() -> None:
    body = json.dumps([{"name": "a", "price": 1}]).encode()
    script = Script(httpx.Response(200, content=body), httpx.Response(200, content=b"a,b\n1,2\n"))
    client = make_client(script)
    assert client.export_results("e-1") == body
    assert client.export_results("e-1", fmt="csv") == b"a,b\n1,2\n"
    assert [r.url.params["format"] for r in script.requests] == ["json", "csv"]
    assert script.requests[0].url.path == "/api/v1/executions/e-1/results/export"


def test_export_refuses_an_unknown_format() -> None:
    with pytest.raises(ConfigError):
        make_client(Script(ok(None))).export_results("e-1", fmt="xml")


def test_export_streams_to_a_file(tmp_path: Path) -> None:
    body = b'{"records": [' + b'{"n": 1},' * 20000 + b'{"n": 2}]}'
    script = Script(httpx.Response(200, content=body))
    dest = tmp_path / "results.json"
    assert make_client(script).export_results("e-1", dest=dest) == dest
    assert dest.read_bytes() == body
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]


def test_a_failed_export_is_a_typed_error_and_leaves_no_file(tmp_path: Path) -> None:
    script = Script(fail(404, "NOT_FOUND", "no results yet"))
    dest = tmp_path / "results.json"
    with pytest.raises(NotFound, match="no results yet"):
        make_client(script).export_results("e-1", dest=dest)
    assert list(tmp_path.iterdir()) == []


def test_an_error_envelope_answered_with_200_is_an_error(tmp_path: Path) -> None:
    envelope = {"success": False, "error": {"code": "NOT_READY", "message": "still ingesting"}}
    script = Script(httpx.Response(200, json=envelope))
    with pytest.raises(ApiError, match="still ingesting"):
        make_client(script).download_results_csv("e-1")
    with pytest.raises(ApiError, match="still ingesting"):
        make_client(script).export_results("e-1", dest=tmp_path / "r.json")
    assert list(tmp_path.iterdir()) == []


def test_a_download_broken_midway_is_retried_from_scratch(tmp_path: Path) -> None:
    class Broken(httpx.SyncByteStream):
        def __iter__(self) -> Any:
            yield b"partial,"
            raise httpx.ReadError("reset mid-body")

    script = Script(httpx.Response(200, stream=Broken()), httpx.Response(200, content=b"a,b\n"))
    dest = tmp_path / "r.csv"
    make_client(script).download_results_csv("e-1", dest=dest)
    assert dest.read_bytes() == b"a,b\n"
    assert script.requests[0].url.path == "/api/v1/executions/e-1/results/download"


def test_a_download_into_a_missing_directory_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        make_client(Script(httpx.Response(200))).download_results_csv(
            "e-1", dest=tmp_path / "no" / "r.csv"
        )


def test_media_on_the_api_origin_is_fetched_with_the_token(tmp_path: Path) -> None:
    script = Script(httpx.Response(200, content=b"\x89PNG..."))
    dest = tmp_path / "img.png"
    make_client(script).download_media("/media/abc.png?token=m-secret-77", dest)
    assert dest.read_bytes() == b"\x89PNG..."
    request = script.requests[0]
    assert request.url.params["token"] == "m-secret-77"
    assert request.headers["authorization"] == f"Bearer {TOKEN}"


def test_media_on_another_origin_never_gets_the_api_token(tmp_path: Path) -> None:
    script = Script(httpx.Response(200, content=b"bytes"))
    make_client(script).download_media("https://cdn.test/media/a.png?token=m1", tmp_path / "a")
    assert script.requests[0].url.host == "cdn.test"
    assert "authorization" not in script.requests[0].headers


def test_media_errors_without_the_envelope_are_typed_and_hide_the_link_token(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    script = Script(httpx.Response(403, json={"error": "token m-secret-77 expired"}))
    with pytest.raises(AuthError, match="expired") as caught:
        make_client(script).download_media("/media/a.png?token=m-secret-77", tmp_path / "a")
    assert "m-secret-77" not in str(caught.value)
    assert caught.value.path == "/media/a.png"
    assert "m-secret-77" not in caplog.text


@pytest.mark.parametrize("link", ["ftp://x.test/media/a", "media/a.png", "javascript:x"])
def test_media_links_must_be_http_or_a_path(link: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        make_client(Script(httpx.Response(200))).download_media(link, tmp_path / "a")


@pytest.mark.parametrize(
    ("exc", "maybe_sent"),
    [
        (httpx.ConnectError("detail-from-the-library"), False),
        (httpx.ConnectTimeout("detail-from-the-library"), False),
        (httpx.PoolTimeout("detail-from-the-library"), False),
        (httpx.ReadTimeout("detail-from-the-library"), True),
        (httpx.WriteTimeout("detail-from-the-library"), True),
        (httpx.ReadError("detail-from-the-library"), True),
        (httpx.WriteError("detail-from-the-library"), True),
        (httpx.RemoteProtocolError("detail-from-the-library"), True),
        (ConnectionResetError("detail-from-the-library"), True),
        (RuntimeError("detail-from-the-library"), True),
    ],
)
def test_failures_say_whether_the_request_may_have_been_sent(
    exc: Exception, maybe_sent: bool
) -> None:
    failure = classify_failure(exc)
    assert failure.maybe_sent is maybe_sent
    assert str(exc) not in failure.reason


def test_every_request_carries_a_timeout_on_each_phase() -> None:
    script = Script(ok(TASK))
    make_client(script, timeout=7.5).get_task("t-1")
    assert script.requests[0].extensions["timeout"] == {
        "connect": 7.5,
        "read": 7.5,
        "write": 7.5,
        "pool": 7.5,
    }
