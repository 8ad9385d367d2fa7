"""`/_emulator/requests`: the emulator's own count of the requests it received, per route."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest

from titan_gitops.emulator import Clock
from titan_gitops.emulator.app import EmulatorApp

from .conftest import START, WRITER, connect, task_body

ADMIN = "admin-secret-token"
AppFactory = Callable[..., EmulatorApp]


@pytest.fixture
def admin_app(make_app: AppFactory) -> EmulatorApp:
    return make_app(admin_token=ADMIN, clock=Clock(frozen_at=START))


@pytest.fixture
def admin(admin_app: EmulatorApp) -> Iterator[httpx.Client]:
    with connect(admin_app, ADMIN) as http:
        yield http


@pytest.fixture
def titan(admin_app: EmulatorApp) -> Iterator[httpx.Client]:
    with connect(admin_app) as http:
        yield http


def counted(admin: httpx.Client) -> dict[str, object]:
    response = admin.get("/_emulator/requests")
    assert response.status_code == 200
    data: dict[str, object] = response.json()["data"]
    return data


def test_a_fresh_emulator_has_counted_nothing(admin: httpx.Client) -> None:
    assert counted(admin) == {"total": 0, "routes": {}}


def test_requests_are_counted_per_method_and_route_template(
    admin: httpx.Client, titan: httpx.Client
) -> None:
    first = titan.post("/api/v1/tasks", json=task_body("a")).json()["data"]
    titan.post("/api/v1/tasks", json=task_body("b"))
    titan.get("/api/v1/tasks", params={"limit": 100, "offset": 0})
    titan.get("/api/v1/tasks", params={"limit": 100, "offset": 100})
    titan.patch(f"/api/v1/tasks/{first['id']}", json={"objective": "Extract prices"})
    titan.get("/api/v1/no-such-route")
    assert counted(admin) == {
        "total": 6,
        "routes": {
            "GET /api/v1/tasks": 2,
            "GET <unmatched>": 1,
            "PATCH /api/v1/tasks/{task_id}": 1,
            "POST /api/v1/tasks": 2,
        },
    }


def test_admin_requests_are_not_counted(admin: httpx.Client) -> None:
    admin.get("/_emulator/faults")
    admin.get("/_emulator/clock")
    counted(admin)
    assert counted(admin)["total"] == 0


def test_refused_and_faulted_requests_count_as_received(
    admin_app: EmulatorApp, admin: httpx.Client
) -> None:
    admin.post("/_emulator/faults", json={"kind": "status", "status": 503, "count": 1})
    with connect(admin_app, WRITER) as titan, connect(admin_app, "unknown-token") as stranger:
        assert titan.get("/api/v1/tasks").status_code == 503
        assert stranger.get("/api/v1/tasks").status_code == 401
    assert counted(admin) == {"total": 2, "routes": {"GET /api/v1/tasks": 2}}


def test_delete_clears_the_counts(admin: httpx.Client, titan: httpx.Client) -> None:
    titan.get("/api/v1/tasks")
    titan.get("/api/v1/templates")
    cleared = admin.delete("/_emulator/requests")
    assert cleared.status_code == 200
    assert cleared.json()["data"] == {"cleared": 2}
    assert counted(admin) == {"total": 0, "routes": {}}


def test_reset_clears_the_counts(admin: httpx.Client, titan: httpx.Client) -> None:
    titan.post("/api/v1/tasks", json=task_body())
    assert admin.post("/_emulator/reset").status_code == 200
    assert counted(admin) == {"total": 0, "routes": {}}


@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_the_counts_need_the_admin_token(admin_app: EmulatorApp, method: str) -> None:
    with connect(admin_app, WRITER) as titan:
        assert titan.request(method, "/_emulator/requests").status_code == 401


def test_without_an_admin_token_the_route_does_not_exist(make_app: AppFactory) -> None:
    with connect(make_app()) as titan:
        assert titan.get("/_emulator/requests").status_code == 404
