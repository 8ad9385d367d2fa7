"""Reading the live state: the task listing, then the template catalogue.

The emulator is served on loopback behind a small WSGI wrapper that answers the catalogue or the
listing with an error status and notes what was asked for: what a plan makes of each.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from testing.emulator import start_background_server
from titan_gitops.client import TitanClient
from titan_gitops.emulator import EmulatorConfig, create_app
from titan_gitops.errors import ApiError
from titan_gitops.fetch import fetch_live_state

from .conftest import TOKEN

TASKS = "/api/v1/tasks"
TEMPLATES = "/api/v1/templates"

StartResponse = Callable[..., Any]
App = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


@dataclass
class Gate:
    """Wraps the emulator: answers the catalogue or the task listing with an error status, and
    notes the path of every GET."""

    app: App
    url: str = ""
    templates_status: int | None = None
    listing_status: int | None = None
    asked: list[str] = field(default_factory=list)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = str(environ.get("PATH_INFO", ""))
        if environ["REQUEST_METHOD"] == "GET":
            self.asked.append(path)
            if path == TEMPLATES and self.templates_status is not None:
                return self._fail(self.templates_status, start_response)
            if path == TASKS and self.listing_status is not None:
                return self._fail(self.listing_status, start_response)
        return self.app(environ, start_response)

    @staticmethod
    def _fail(status: int, start_response: StartResponse) -> Iterable[bytes]:
        body = json.dumps({"detail": "refused by the test"}).encode()
        reason = {404: "Not Found", 400: "Bad Request", 403: "Forbidden"}[status]
        start_response(
            f"{status} {reason}",
            [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
        )
        return [body]


@pytest.fixture
def gate() -> Iterator[Gate]:
    app = create_app(EmulatorConfig(db_path=":memory:", tokens={TOKEN: None}))
    gate = Gate(app)
    server, gate.url = start_background_server(gate)
    try:
        yield gate
    finally:
        server.shutdown()


def client_of(gate: Gate) -> TitanClient:
    return TitanClient(gate.url, TOKEN, max_retries=0)


def add_tasks(gate: Gate, count: int) -> None:
    with client_of(gate) as client:
        for n in range(count):
            client.create_task(
                {
                    "name": f"live-{n}",
                    "urls": ["https://shop.example/"],
                    "objective": "Read the page.",
                    "output_schema": {"type": "object"},
                    "execution_type": "single",
                }
            )


def test_the_live_state_holds_the_tasks_and_the_catalogue(gate: Gate) -> None:
    add_tasks(gate, 3)
    with client_of(gate) as client:
        live = fetch_live_state(client)
    assert sorted(t.name for t in live.tasks) == ["live-0", "live-1", "live-2"]
    assert live.template_slugs is not None
    assert "carrier-quote-json" in live.template_slugs
    assert live.warnings == ()


def test_a_service_without_a_templates_route_leaves_references_unchecked(gate: Gate) -> None:
    add_tasks(gate, 2)
    gate.templates_status = 404
    with client_of(gate) as client:
        live = fetch_live_state(client)
    assert [t.name for t in live.tasks] == ["live-0", "live-1"]
    assert live.template_ids is None
    assert live.template_slugs is None
    assert live.warnings == (
        "the service has no templates route (404): template references were not checked",
    )


def test_a_failing_catalogue_fails_the_read(gate: Gate) -> None:
    gate.templates_status = 403
    with client_of(gate) as client, pytest.raises(ApiError) as caught:
        fetch_live_state(client)
    assert TEMPLATES in str(caught.value)


def test_nothing_more_is_read_after_the_task_listing_fails(gate: Gate) -> None:
    # A service that refuses the listing (or a hostile one that pages without end) is not asked
    # for anything else.
    gate.listing_status = 400
    with client_of(gate) as client, pytest.raises(ApiError) as caught:
        fetch_live_state(client)
    assert TASKS in str(caught.value)
    assert gate.asked == [TASKS]
