"""Injected faults over a real loopback socket, as the real TitanClient meets them.

Each fault kind must reach the client as its typed error, or be retried as the client's rules
say: reads are retried on 5xx, 429 and dropped connections; a POST is never re-sent once it may
have reached the service (OutcomeUnknown); "commit then fail" leaves the write done.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from testing.emulator import start_background_server
from titan_gitops.client import TitanClient
from titan_gitops.emulator import Clock, EmulatorConfig, create_app
from titan_gitops.emulator.app import EmulatorApp
from titan_gitops.emulator.faults import FaultRule
from titan_gitops.errors import ApiError, ApiUnavailable, OutcomeUnknown, RateLimited

TOKEN = "faults-contract-token"
ADMIN = "faults-admin-token"
# A whole second, so the injected X-RateLimit-Reset (now + 1, rounded up) is exactly 1 s ahead.
START = datetime(2026, 11, 29, 3, 0, 0, tzinfo=UTC)
MAX_RETRIES = 2
BACKOFF_BASE = 0.01


def task_body(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "urls": ["https://shop.example/products"],
        "objective": "Extract product names and prices",
        "output_schema": {"type": "object", "properties": {"price": {"type": "number"}}},
        "execution_type": "single",
    }


@dataclass
class Served:
    """One emulator on a loopback port, a client to it, and the waits the client asked for."""

    app: EmulatorApp
    base_url: str
    waits: list[float] = field(default_factory=list)
    clients: list[TitanClient] = field(default_factory=list)

    def client(self, **kwargs: Any) -> TitanClient:
        """A TitanClient with short timeouts and retries that record, not spend, their waits."""
        settings: dict[str, Any] = {
            "timeout": 5.0,
            "max_retries": MAX_RETRIES,
            "backoff_base": BACKOFF_BASE,
            "backoff_cap": 30.0,
            "sleep": self.waits.append,
            "clock": self.app.clock.time,
            "rand": lambda: 0.0,
        }
        settings.update(kwargs)
        made = TitanClient(self.base_url, TOKEN, **settings)
        self.clients.append(made)
        return made

    def add_fault(self, **rule: Any) -> None:
        """Arm a rule through the admin route, over the socket like any other caller."""
        response = httpx.post(
            f"{self.base_url}/_emulator/faults",
            json=rule,
            headers={"Authorization": f"Bearer {ADMIN}"},
        )
        assert response.status_code == 201, response.text

    def task_names(self) -> list[str]:
        """What the service holds, read by a fresh client with no faults armed."""
        return sorted(task.name for task in self.client().list_tasks())


@pytest.fixture
def served() -> Iterator[Served]:
    app = create_app(
        EmulatorConfig(db_path=":memory:", tokens={TOKEN: None}, admin_token=ADMIN),
        clock=Clock(frozen_at=START),
    )
    server, base_url = start_background_server(app)
    state = Served(app, base_url)
    try:
        yield state
    finally:
        for made in state.clients:
            made.close()
        server.shutdown()


Call = Callable[[TitanClient], object]


# --- Reads are retried ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "rule",
    [
        {"kind": "status", "status": 500},
        {"kind": "status", "status": 502},
        {"kind": "status", "status": 503},
        {"kind": "status", "status": 504},
        {"kind": "drop"},
        {"kind": "non_json"},
    ],
    ids=["500", "502", "503", "504", "drop", "html-502"],
)
def test_a_read_is_retried_through_transient_faults(served: Served, rule: dict[str, Any]) -> None:
    served.client().create_task(task_body("faults/read"))
    served.add_fault(method="GET", path="/api/v1/tasks", count=MAX_RETRIES, **rule)
    client = served.client()
    assert [task.name for task in client.list_tasks()] == ["faults/read"]
    assert client.retry_count == MAX_RETRIES
    assert client.request_count == MAX_RETRIES + 1


@pytest.mark.parametrize(
    ("rule", "error"),
    [
        ({"kind": "status", "status": 503}, ApiUnavailable),
        ({"kind": "drop"}, ApiUnavailable),
        ({"kind": "rate_limit"}, RateLimited),
    ],
    ids=["503", "drop", "429"],
)
def test_a_read_gives_up_with_the_typed_error(
    served: Served, rule: dict[str, Any], error: type[ApiError]
) -> None:
    served.add_fault(method="GET", path="/api/v1/tasks", **rule)
    client = served.client()
    with pytest.raises(error) as caught:
        client.list_tasks()
    assert type(caught.value) is error
    assert "gave up after 3 attempts" in str(caught.value)
    assert client.request_count == MAX_RETRIES + 1
    assert TOKEN not in str(caught.value)


def test_a_429_with_reset_headers_waits_until_the_reset(served: Served) -> None:
    served.add_fault(kind="rate_limit", with_reset=True, method="GET", count=1)
    client = served.client()
    assert client.list_tasks() == []
    # X-RateLimit-Reset is one second ahead on the shared emulator clock; rand() adds nothing.
    assert served.waits == [1.0]


def test_a_429_without_reset_headers_backs_off(served: Served) -> None:
    served.add_fault(kind="rate_limit", with_reset=False, method="GET", count=1)
    client = served.client()
    assert client.list_tasks() == []
    # Equal-jitter backoff for the first retry with rand() == 0: half the base.
    assert served.waits == [BACKOFF_BASE / 2]


def test_latency_within_the_timeout_is_only_slower(served: Served) -> None:
    served.add_fault(kind="latency", latency_ms=20, method="GET", count=1)
    client = served.client()
    assert client.list_tasks() == []
    assert client.retry_count == 0


def test_latency_past_the_timeout_retries_a_read(served: Served) -> None:
    served.add_fault(kind="latency", latency_ms=600, method="GET", count=1)
    client = served.client(timeout=0.2)
    assert client.list_tasks() == []
    assert client.retry_count == 1


def test_a_truncated_answer_is_an_api_error_not_a_crash(served: Served) -> None:
    served.add_fault(kind="truncate", method="GET", count=1)
    with pytest.raises(ApiError) as caught:
        served.client().list_tasks()
    assert caught.value.method == "GET"


# --- Writes ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "rule",
    [{"kind": "status", "status": 503}, {"kind": "drop"}],
    ids=["503", "drop"],
)
def test_a_create_is_never_re_sent_when_it_may_have_arrived(
    served: Served, rule: dict[str, Any]
) -> None:
    served.add_fault(method="POST", path="/api/v1/tasks", count=1, **rule)
    client = served.client()
    with pytest.raises(OutcomeUnknown) as caught:
        client.create_task(task_body("faults/unknown"))
    assert caught.value.method == "POST"
    assert client.request_count == 1
    # These faults answer before the service runs: nothing was written, and nothing re-sent.
    assert served.task_names() == []


def test_a_create_refused_with_429_is_sent_again(served: Served) -> None:
    served.add_fault(kind="rate_limit", method="POST", count=1)
    client = served.client()
    created = client.create_task(task_body("faults/after-429"))
    assert created.name == "faults/after-429"
    assert client.request_count == 2
    assert served.task_names() == ["faults/after-429"]


def test_a_create_timing_out_is_outcome_unknown(served: Served) -> None:
    served.add_fault(kind="latency", latency_ms=600, method="POST", count=1)
    client = served.client(timeout=0.2)
    with pytest.raises(OutcomeUnknown):
        client.create_task(task_body("faults/slow"))
    assert client.request_count == 1


@pytest.mark.parametrize("after", ["status", "drop"])
def test_commit_then_fail_on_create_leaves_the_task_created(served: Served, after: str) -> None:
    served.add_fault(kind="commit_then_fail", after=after, method="POST", count=1)
    client = served.client()
    with pytest.raises(OutcomeUnknown):
        client.create_task(task_body("faults/committed"))
    assert client.request_count == 1
    assert served.task_names() == ["faults/committed"]


@pytest.mark.parametrize("after", ["status", "drop"])
def test_commit_then_fail_on_update_is_retried_and_lands_once(served: Served, after: str) -> None:
    created = served.client().create_task(task_body("faults/update"))
    served.add_fault(kind="commit_then_fail", after=after, method="PATCH", count=1)
    client = served.client()
    updated = client.update_task(created.id, {"objective": "Only prices"})
    assert updated.body()["objective"] == "Only prices"
    assert client.retry_count == 1
    assert served.client().get_task(created.id).body()["objective"] == "Only prices"


def test_commit_then_fail_on_delete_counts_the_404_as_deleted(served: Served) -> None:
    created = served.client().create_task(task_body("faults/delete"))
    served.add_fault(kind="commit_then_fail", method="DELETE", count=1)
    client = served.client()
    client.delete_task(created.id)
    assert client.request_count == 2
    assert served.task_names() == []


# --- Rules added in-process, fraction, reset ------------------------------------------------


def test_rules_added_on_the_app_apply_over_the_socket(served: Served) -> None:
    served.app.faults.add(FaultRule(kind="status", status=503, method="GET", count=1))
    client = served.client()
    assert client.list_tasks() == []
    assert client.retry_count == 1


def test_a_fraction_of_reads_fails_and_the_client_rides_through(served: Served) -> None:
    served.add_fault(kind="status", status=503, method="GET", fraction=0.5)
    client = served.client(max_retries=20)
    for _ in range(8):
        assert client.list_tasks() == []
    # Some reads were faulted, not all: with seed 0 and 0.5 both outcomes occur in 8+ draws.
    assert 0 < client.retry_count < client.request_count


def test_the_admin_clock_and_reset_work_over_the_socket(served: Served) -> None:
    served.client().create_task(task_body("faults/before-reset"))
    auth = {"Authorization": f"Bearer {ADMIN}"}
    moved = httpx.post(
        f"{served.base_url}/_emulator/clock", json={"advance_seconds": 3600}, headers=auth
    )
    assert moved.json()["data"]["now"] == "2026-11-29T04:00:00.000000Z"
    assert httpx.post(f"{served.base_url}/_emulator/reset", headers=auth).status_code == 200
    assert served.task_names() == []
    created = served.client().create_task(task_body("faults/after-reset"))
    assert created.body()["created_at"] == "2026-11-29T04:00:00.000000Z"
