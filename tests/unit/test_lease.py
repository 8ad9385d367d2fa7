"""Leases over a real socket to an in-thread emulator: taking, conflicting, renewing, losing."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from testing.emulator import start_background_server
from titan_gitops.client import TitanClient
from titan_gitops.emulator import EmulatorConfig, create_app
from titan_gitops.emulator.clock import Clock
from titan_gitops.errors import ConfigError, LeaseError
from titan_gitops.fetch import fetch_tasks
from titan_gitops.lease import (
    DEFAULT_WAIT_SECONDS,
    LEASE_TTL_SECONDS,
    LeaseOwner,
    acquire_lease,
    hold_lease,
    lease_body,
    lease_name,
    lease_wait_from,
    read_leases,
    release_lease,
)

TOKEN = "lease-unit-token"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def client(clock: Clock) -> Iterator[TitanClient]:
    app = create_app(EmulatorConfig(db_path=":memory:", tokens={TOKEN: None}), clock=clock)
    server, url = start_background_server(app)
    try:
        with TitanClient(url, TOKEN) as c:
            yield c
    finally:
        server.shutdown()


def other_owner(host: str = "runner-2", pid: int = 31337) -> LeaseOwner:
    return LeaseOwner(owner_id=f"owner-{host}", host=host, pid=pid, machine=f"{host}|elsewhere")


def test_a_held_lease_refuses_a_second_run_naming_the_holder(client: TitanClient) -> None:
    held = acquire_lease(client, "shop-", owner=other_owner(), wait_seconds=0)
    with pytest.raises(LeaseError) as err:
        acquire_lease(client, "shop-", wait_seconds=0.3)
    message = str(err.value)
    assert "host 'runner-2', pid 31337, since " in message
    assert "waited 0." in message
    assert [lease.task_id for lease in read_leases(client) or ()] == [held.task_id]
    release_lease(client, held)
    mine = acquire_lease(client, "shop-", wait_seconds=0)
    release_lease(client, mine)
    assert read_leases(client) == ()


@pytest.mark.parametrize(
    ("first", "second", "conflict"),
    [("shop", "shop-eu-", True), ("shop-", "team-", False), (None, "team-", True)],
)
def test_overlapping_namespaces_conflict_and_separate_ones_do_not(
    client: TitanClient, first: str | None, second: str, conflict: bool
) -> None:
    held = acquire_lease(client, first, owner=other_owner(), wait_seconds=0)
    if conflict:
        with pytest.raises(LeaseError, match="another apply holds the lease"):
            acquire_lease(client, second, wait_seconds=0)
    else:
        release_lease(client, acquire_lease(client, second, wait_seconds=0))
    release_lease(client, held)


def test_an_expired_lease_is_deleted_by_whoever_finds_it(client: TitanClient, clock: Clock) -> None:
    acquire_lease(client, "shop-", owner=other_owner(), wait_seconds=0)
    clock.advance(LEASE_TTL_SECONDS + 1)
    mine = acquire_lease(client, "shop-", wait_seconds=0)
    assert [lease.task_id for lease in read_leases(client) or ()] == [mine.task_id]


def test_an_unreadable_lease_blocks_and_hostile_text_is_escaped(client: TitanClient) -> None:
    # Our mark, but no owner: a lease whose holder cannot be told conflicts with every run.
    record = '{"titan_gitops_lease": 1, "host": "\\u001b]0;pwned\\u0007"}'
    client.create_task(lease_body(other_owner(), "shop-") | {"objective": record})
    with pytest.raises(LeaseError, match="an unreadable lease"):
        acquire_lease(client, "team-", wait_seconds=0)
    for lease in read_leases(client) or ():
        client.delete_task(lease.task_id)
    client.create_task(lease_body(other_owner(host="evil\x1b[2J\u202ehost"), "shop-"))
    with pytest.raises(LeaseError) as err:
        acquire_lease(client, "shop-", wait_seconds=0)
    assert "\x1b" not in str(err.value)
    assert "\u202e" not in str(err.value)
    assert "evil\\x1b[2J<U+202E>host" in str(err.value)


def test_a_task_named_like_a_lease_that_is_no_lease_stays_visible_and_never_blocks(
    client: TitanClient,
) -> None:
    job = lease_body(other_owner(), "shop-") | {
        "objective": "Scrape every minute.",
        "urls": ["https://victim.example/"],
        "execution_type": "scheduled",
        "schedule": "* * * * *",
    }
    made = client.create_task(job).body()
    with hold_lease(client, "shop-", wait_seconds=0) as lease:
        assert lease.task_id != made["id"]
    assert [t.task_id for t in fetch_tasks(client)] == [made["id"]]
    assert read_leases(client) == ()


def test_the_heartbeat_renews_the_lease(client: TitanClient) -> None:
    with hold_lease(client, "shop-", wait_seconds=0, renew_every=0.05) as lease:
        time.sleep(0.4)
        body = client.get_task(lease.task_id).body()
        assert body["updated_at"] > body["created_at"]
    assert read_leases(client) == ()


def test_a_lost_lease_stops_new_changes_and_says_so(client: TitanClient) -> None:
    stop = threading.Event()
    heard: list[str] = []
    with hold_lease(
        client, "shop-", wait_seconds=0, stop=stop, announce=heard.append, renew_every=0.05
    ) as lease:
        client.delete_task(lease.task_id)
        assert stop.wait(5)
    assert "removed by another run" in heard[0]


def test_an_interrupt_while_waiting_gives_up_at_once(client: TitanClient) -> None:
    acquire_lease(client, "shop-", owner=other_owner(), wait_seconds=0)
    stop = threading.Event()
    stop.set()
    started = time.monotonic()
    with pytest.raises(LeaseError, match="interrupted while waiting"):
        acquire_lease(client, "shop-", wait_seconds=30, stop=stop)
    assert time.monotonic() - started < 5


def test_fetch_never_returns_a_lease_and_lists_oldest_first(client: TitanClient) -> None:
    client.create_task(lease_body(other_owner(), "shop-"))
    body = {
        "urls": ["https://shop.example/"],
        "objective": "x",
        "output_schema": {"type": "object"},
        "execution_type": "single",
    }
    for name in ("shop-b", "shop-a", "shop-b"):
        client.create_task({"name": name, **body})
    tasks = fetch_tasks(client)
    assert [t.name for t in tasks] == ["shop-b", "shop-a", "shop-b"]
    stamps = [datetime.fromisoformat(t.body["created_at"]) for t in tasks]
    assert stamps == sorted(stamps)
    assert all(s.tzinfo == UTC for s in stamps)


def test_lease_names_stay_short_and_printable() -> None:
    assert lease_name("shop-") == ".titan-gitops-lease/shop-"
    assert lease_name(None) == ".titan-gitops-lease/(account)"
    assert lease_name("x" * 500).startswith(".titan-gitops-lease/sha256-")
    assert lease_name("a\nb").startswith(".titan-gitops-lease/sha256-")


@pytest.mark.parametrize(
    ("raw", "expected"), [("", DEFAULT_WAIT_SECONDS), ("0", 0.0), (" 12.5 ", 12.5)]
)
def test_the_lease_wait_setting(raw: str, expected: float) -> None:
    assert lease_wait_from({"TITAN_GITOPS_LEASE_WAIT": raw}) == expected


@pytest.mark.parametrize("raw", ["soon", "-1", "nan", "1e9", "inf"])
def test_a_bad_lease_wait_setting_is_refused_naming_it(raw: str) -> None:
    with pytest.raises(ConfigError, match="TITAN_GITOPS_LEASE_WAIT must be a number of seconds"):
        lease_wait_from({"TITAN_GITOPS_LEASE_WAIT": raw})


def test_the_held_lease_carries_the_live_tasks_its_own_listing_read(client: TitanClient) -> None:
    # Another namespace's lease stands beside a task: the lease is taken, and left out of `live`.
    client.create_task(lease_body(other_owner(), "team-"))
    made = client.create_task(
        {
            "name": "shop-a",
            "urls": ["https://shop.example/"],
            "objective": "x",
            "output_schema": {"type": "object"},
            "execution_type": "single",
        }
    ).body()
    held = acquire_lease(client, "shop-", wait_seconds=0)
    assert [t.task_id for t in held.live] == [made["id"]]
    assert held.live == fetch_tasks(client)
