"""One listing reader serves the client and the fetch stage: pages, concurrency, and the checks
that a listing held still while it was read, against the in-process emulator."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import pytest

from titan_gitops._http import make_wsgi_transport
from titan_gitops.client import TitanClient
from titan_gitops.emulator import EmulatorConfig, create_app
from titan_gitops.errors import ApiError
from titan_gitops.fetch import fetch_tasks

TOKEN = "listing-token"
ORIGIN = "http://titan.listing"
TASKS = "/api/v1/tasks"


def task_body(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "urls": ["https://shop.example/products"],
        "objective": "Extract product names and prices",
        "output_schema": {"type": "object", "properties": {"name": {"type": "string"}}},
        "execution_type": "single",
    }


class ListingTap:
    """WSGI middleware over the emulator: counts task listings, runs `before` ahead of the
    listing numbered `at` (from 1), and can make the service ignore `offset`."""

    def __init__(self, app: Any, *, ignore_offset: bool = False) -> None:
        self.app = app
        self.ignore_offset = ignore_offset
        self.listings = 0
        self.at = 0
        self.before: Callable[[], None] = lambda: None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") == "GET" and environ.get("PATH_INFO") == TASKS:
            self.listings += 1
            if self.listings == self.at:
                self.before()
            if self.ignore_offset:
                query = str(environ.get("QUERY_STRING", ""))
                kept = [p for p in query.split("&") if not p.startswith("offset=")]
                environ["QUERY_STRING"] = "&".join(kept)
        result: Iterable[bytes] = self.app(environ, start_response)
        return result


def create_later(client: TitanClient, name: str) -> Callable[[], None]:
    """Creates one task when called: another writer moving the listing mid-read."""

    def create() -> None:
        client.create_task(task_body(name))

    return create


def make_service(count: int, **tap: Any) -> tuple[ListingTap, Callable[[], TitanClient]]:
    app = create_app(EmulatorConfig(db_path=":memory:", tokens={TOKEN: None}))
    tapped = ListingTap(app, **tap)

    def connect() -> TitanClient:
        return TitanClient(ORIGIN, TOKEN, transport=make_wsgi_transport(tapped))

    with connect() as seeder:
        for i in range(count):
            seeder.create_task(task_body(f"listing/t{i:03d}"))
    tapped.listings = 0
    return tapped, connect


@pytest.mark.parametrize("parallelism", [1, 4])
def test_one_read_gives_every_task_in_order(parallelism: int) -> None:
    _, connect = make_service(250)
    with connect() as client:
        listing = client.read_task_listing(parallelism=parallelism)
        assert listing.problem is None
        assert listing.announced == 250
        assert [r.name for r in listing.records] == [f"listing/t{i:03d}" for i in range(250)]
        assert client.request_count == 3


@pytest.mark.parametrize("parallelism", [1, 4])
def test_a_task_created_between_pages_is_reported_not_read_again(parallelism: int) -> None:
    tap, connect = make_service(150)
    with connect() as outsider:
        tap.at, tap.before = 2, create_later(outsider, "listing/late")
        with connect() as client:
            listing = client.read_task_listing(parallelism=parallelism)
            assert client.request_count == 2
    assert listing.problem is not None
    assert (listing.problem.kind, listing.problem.announced) == ("changed size", 150)
    assert listing.problem.later_total == 151


def test_the_fetch_stage_refuses_a_listing_that_changed_and_the_client_reads_it_again() -> None:
    tap, connect = make_service(150)
    with connect() as outsider, connect() as client:
        tap.at, tap.before = 2, create_later(outsider, "listing/late")
        with pytest.raises(ApiError, match=r"changed while it was read \(150 then 151 tasks\)"):
            fetch_tasks(client)
        tap.listings, tap.before = 0, create_later(outsider, "listing/later")
        assert len(client.list_tasks()) == 152  # the second read held still
        assert tap.listings == 4


def test_a_service_that_ignores_offset_repeats_items() -> None:
    _, connect = make_service(120, ignore_offset=True)
    with connect() as client:
        listing = client.read_task_listing(parallelism=4)
        assert listing.problem is not None
        assert (listing.problem.kind, listing.problem.read) == ("repeated an item", 200)
        assert listing.problem.repeated == 100
        with pytest.raises(ApiError, match=r"inconsistent \(200 read, 120 announced, 100 rep"):
            fetch_tasks(client)
        # One page at a time, the second page equal to the first shows the walk cannot advance.
        with pytest.raises(ApiError, match=r"same page twice .* does not advance"):
            client.list_tasks()
