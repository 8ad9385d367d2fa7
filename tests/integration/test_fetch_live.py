"""Reading the live state: the task listing, then the template catalogue.

The emulator is served on loopback behind the fault injector (a server error for the catalogue
or the listing), a service without a templates route, and a request counter in front of them:
what a plan makes of each.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from testing.counting import RequestCounter
from testing.emulator import start_background_server
from titan_gitops.client import TitanClient
from titan_gitops.emulator import EmulatorConfig, create_app
from titan_gitops.emulator.faults import FaultInjector, FaultRule
from titan_gitops.errors import ApiError
from titan_gitops.fetch import fetch_live_state

from .conftest import TOKEN

TASKS = "/api/v1/tasks"
TEMPLATES = "/api/v1/templates"


StartResponse = Callable[..., Any]
App = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


@dataclass
class WithoutTemplates:
    """The service, with or without a templates route (404 there, as Titan might answer)."""

    app: App
    offered: bool = True

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if self.offered or not str(environ.get("PATH_INFO", "")).startswith(TEMPLATES):
            return self.app(environ, start_response)
        body = json.dumps({"detail": "Not Found"}).encode()
        start_response(
            "404 Not Found",
            [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
        )
        return [body]


@dataclass
class Service:
    url: str
    injector: FaultInjector
    routes: WithoutTemplates
    counter: RequestCounter

    def fail(self, path: str) -> None:
        """Answer every GET of `path` with a server error from now on."""
        self.injector.add(FaultRule(kind="status", method="GET", path=path, status=500))

    def client(self) -> TitanClient:
        return TitanClient(self.url, TOKEN, max_retries=0)


@pytest.fixture
def service() -> Iterator[Service]:
    app = create_app(EmulatorConfig(db_path=":memory:", tokens={TOKEN: None}))
    injector = FaultInjector(seed=7)
    routes = WithoutTemplates(injector.wrap(app))
    counter = RequestCounter(routes)
    server, url = start_background_server(counter)
    try:
        yield Service(url, injector, routes, counter)
    finally:
        server.shutdown()


def add_tasks(service: Service, count: int) -> None:
    with service.client() as client:
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


def test_the_live_state_holds_the_tasks_and_the_catalogue(service: Service) -> None:
    add_tasks(service, 3)
    with service.client() as client:
        live = fetch_live_state(client)
    assert sorted(t.name for t in live.tasks) == ["live-0", "live-1", "live-2"]
    assert live.template_slugs is not None
    assert "carrier-quote-json" in live.template_slugs
    assert live.warnings == ()


def test_a_service_without_a_templates_route_leaves_references_unchecked(
    service: Service,
) -> None:
    add_tasks(service, 2)
    service.routes.offered = False
    with service.client() as client:
        live = fetch_live_state(client)
    assert [t.name for t in live.tasks] == ["live-0", "live-1"]
    assert live.template_ids is None
    assert live.template_slugs is None
    assert live.warnings == (
        "the service has no templates route (404): template references were not checked",
    )


def test_a_failing_catalogue_fails_the_read(service: Service) -> None:
    service.fail(TEMPLATES)
    with service.client() as client, pytest.raises(ApiError) as caught:
        fetch_live_state(client)
    assert TEMPLATES in str(caught.value)


def test_nothing_more_is_read_after_the_task_listing_fails(service: Service) -> None:
    # A service that refuses the listing (or a hostile one that pages without end) is not asked
    # for anything else.
    service.fail(TASKS)
    service.counter.take()
    with service.client() as client, pytest.raises(ApiError) as caught:
        fetch_live_state(client)
    assert TASKS in str(caught.value)
    assert service.counter.take() == {f"GET {TASKS}": 1}
