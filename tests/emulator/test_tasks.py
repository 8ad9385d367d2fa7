"""Tasks: create, read, list and page, PATCH/PUT/DELETE, timestamps, ids, persistence."""

from __future__ import annotations

import itertools
import re
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from testing.emulator import start_background_server
from titan_gitops.emulator import SERVER_DEFAULTS, Clock
from titan_gitops.emulator.app import EmulatorApp
from titan_gitops.emulator.clock import parse_timestamp
from titan_gitops.emulator.routes import Reply, Request

from .conftest import START, WRITER, connect, task_body

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
SERVER_FIELDS = {"id", "status", "created_at", "updated_at"}


def create(client: httpx.Client, **overrides: object) -> dict[str, object]:
    response = client.post("/api/v1/tasks", json=task_body(**overrides))  # type: ignore[arg-type]
    assert response.status_code == 201, response.text
    data: dict[str, object] = response.json()["data"]
    return data


def test_create_answers_201_with_every_sent_field_and_the_server_fields(
    client: httpx.Client,
) -> None:
    body = task_body(proxy_locations=["us", "de"], script_id="s-1", script_version=3)
    response = client.post(
        "/api/v1/tasks", content=httpx.Request("POST", "/", json=body).content,
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    assert response.status_code == 201
    envelope = response.json()
    assert envelope["success"] is True
    task = envelope["data"]
    assert {k: v for k, v in task.items() if k not in SERVER_FIELDS} == body
    assert uuid.UUID(task["id"]).version == 4
    assert task["status"] == "active"
    assert TIMESTAMP.match(task["created_at"])
    assert task["created_at"] == task["updated_at"]


def test_the_server_fills_no_defaults(client: httpx.Client) -> None:
    assert SERVER_DEFAULTS == {}
    task = create(client)
    assert set(task) == set(task_body()) | SERVER_FIELDS


def test_null_fields_in_a_body_count_as_absent(client: httpx.Client) -> None:
    task = create(client, schedule=None, proxy_locations=None)
    assert "schedule" not in task
    body = {**task_body(), "proxy_locations": None}
    created = client.post("/api/v1/tasks", json=body).json()["data"]
    assert "proxy_locations" not in created


def test_get_returns_what_create_returned(client: httpx.Client) -> None:
    task = create(client)
    response = client.get(f"/api/v1/tasks/{task['id']}")
    assert response.status_code == 200
    assert response.json() == {"success": True, "data": task}


def test_unknown_and_malformed_ids_are_not_found(client: httpx.Client) -> None:
    for task_id in (str(uuid.uuid4()), "not-a-uuid"):
        for method in ("GET", "PATCH", "PUT", "DELETE"):
            response = client.request(method, f"/api/v1/tasks/{task_id}", json={"name": "x"})
            assert response.status_code == 404, (method, task_id)
            assert response.json()["error"]["code"] == "NOT_FOUND"


def test_list_pages_with_meta_in_creation_order(client: httpx.Client) -> None:
    ids = [create(client, name=f"t{n}")["id"] for n in range(5)]
    response = client.get("/api/v1/tasks", params={"limit": 2, "offset": 1})
    envelope = response.json()
    assert [t["id"] for t in envelope["data"]] == ids[1:3]
    assert envelope["meta"] == {"total": 5, "limit": 2, "offset": 1}
    everything = client.get("/api/v1/tasks").json()
    assert [t["id"] for t in everything["data"]] == ids
    assert everything["meta"] == {"total": 5, "limit": 20, "offset": 0}
    beyond = client.get("/api/v1/tasks", params={"offset": 9}).json()
    assert beyond["data"] == []
    assert beyond["meta"]["total"] == 5


def test_limit_above_the_maximum_is_clamped(client: httpx.Client) -> None:
    for n in range(102):
        create(client, name=f"t{n}")
    envelope = client.get("/api/v1/tasks", params={"limit": 500}).json()
    assert len(envelope["data"]) == 100
    assert envelope["meta"] == {"total": 102, "limit": 100, "offset": 0}


def test_bad_paging_parameters_are_400_naming_the_parameter(client: httpx.Client) -> None:
    for name, value in (
        ("limit", "-1"), ("limit", "abc"), ("limit", "0"), ("limit", ""), ("limit", "2.5"),
        ("offset", "-3"), ("offset", "x"),
    ):  # fmt: skip
        response = client.get("/api/v1/tasks", params={name: value})
        assert response.status_code == 400, (name, value)
        error = response.json()["error"]
        assert error["code"] == "BAD_REQUEST"
        assert error["message"].startswith(f"{name}:")


def test_order_is_stable_for_tasks_created_in_the_same_microsecond(
    make_app: Callable[..., EmulatorApp],
) -> None:
    app = make_app(clock=Clock(frozen_at=START))
    with connect(app) as client:
        tasks = [create(client, name=f"t{n}") for n in range(4)]
        listed = client.get("/api/v1/tasks").json()["data"]
    assert [t["id"] for t in listed] == [t["id"] for t in tasks]
    stamps = [parse_timestamp(str(t["created_at"])) for t in tasks]
    assert stamps == sorted(set(stamps))


def test_patch_merges_keys_removes_nulls_and_keeps_the_rest(client: httpx.Client) -> None:
    task = create(client, proxy_locations=["us"])
    response = client.patch(
        f"/api/v1/tasks/{task['id']}",
        json={"objective": "Only prices", "proxy_locations": None},
    )
    assert response.status_code == 200
    patched = response.json()["data"]
    assert patched["objective"] == "Only prices"
    assert "proxy_locations" not in patched
    assert patched["urls"] == task["urls"]
    assert patched["id"] == task["id"]
    assert patched["created_at"] == task["created_at"]
    assert client.get(f"/api/v1/tasks/{task['id']}").json()["data"] == patched


def test_patch_validates_the_merged_task_and_leaves_it_unchanged_on_error(
    client: httpx.Client,
) -> None:
    task = create(client)
    response = client.patch(f"/api/v1/tasks/{task['id']}", json={"execution_type": "scheduled"})
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("schedule: required")
    removed = client.patch(f"/api/v1/tasks/{task['id']}", json={"name": None})
    assert removed.status_code == 400
    assert "name: required" in removed.json()["error"]["message"]
    assert client.get(f"/api/v1/tasks/{task['id']}").json()["data"] == task


def test_patch_to_scheduled_with_a_schedule_is_accepted(client: httpx.Client) -> None:
    task = create(client)
    response = client.patch(
        f"/api/v1/tasks/{task['id']}",
        json={"execution_type": "scheduled", "schedule": "*/15 * * * MON-FRI"},
    )
    assert response.status_code == 200
    assert response.json()["data"]["schedule"] == "*/15 * * * MON-FRI"


def test_put_replaces_the_whole_user_part(client: httpx.Client) -> None:
    task = create(client, proxy_locations=["us"], script_id="s-1")
    replacement = task_body(urls=["https://other.example/"])
    response = client.put(f"/api/v1/tasks/{task['id']}", json=replacement)
    assert response.status_code == 200
    replaced = response.json()["data"]
    assert {k: v for k, v in replaced.items() if k not in SERVER_FIELDS} == replacement
    assert replaced["id"] == task["id"]
    assert replaced["created_at"] == task["created_at"]


def test_put_ignores_server_fields_sent_back(client: httpx.Client) -> None:
    task = create(client)
    echoed = {**task, "id": str(uuid.uuid4()), "status": "paused", "objective": "New"}
    replaced = client.put(f"/api/v1/tasks/{task['id']}", json=echoed).json()["data"]
    assert replaced["id"] == task["id"]
    assert replaced["status"] == "active"
    assert replaced["objective"] == "New"


def test_put_with_an_incomplete_body_is_400(client: httpx.Client) -> None:
    task = create(client)
    response = client.put(f"/api/v1/tasks/{task['id']}", json={"name": "only a name"})
    assert response.status_code == 400
    message = response.json()["error"]["message"]
    for field in ("urls", "objective", "output_schema", "execution_type"):
        assert f"{field}: required" in message


def test_updated_at_strictly_increases_even_on_a_frozen_clock(
    make_app: Callable[..., EmulatorApp],
) -> None:
    app = make_app(clock=Clock(frozen_at=START))
    with connect(app) as client:
        task = create(client)
        stamps = [parse_timestamp(str(task["updated_at"]))]
        for n in range(3):
            url = f"/api/v1/tasks/{task['id']}"
            if n % 2:
                answer = client.put(url, json=task_body(objective=f"v{n}"))
            else:
                answer = client.patch(url, json={"objective": f"v{n}"})
            updated = answer.json()["data"]
            assert TIMESTAMP.match(updated["updated_at"])
            assert updated["created_at"] == task["created_at"]
            stamps.append(parse_timestamp(updated["updated_at"]))
    assert all(a < b for a, b in itertools.pairwise(stamps))


def test_timestamps_follow_the_clock(make_app: Callable[..., EmulatorApp]) -> None:
    clock = Clock(frozen_at=START)
    app = make_app(clock=clock)
    with connect(app) as client:
        task = create(client)
        assert task["created_at"] == "2026-11-28T21:52:10.000000Z"
        clock.advance(90.5)
        patched = client.patch(f"/api/v1/tasks/{task['id']}", json={"objective": "later"})
    assert patched.json()["data"]["updated_at"] == "2026-11-28T21:53:40.500000Z"


def test_delete_answers_the_id_then_reads_are_404(client: httpx.Client) -> None:
    task = create(client)
    response = client.delete(f"/api/v1/tasks/{task['id']}")
    assert response.status_code == 200
    assert response.json() == {"success": True, "data": {"id": task["id"], "deleted": True}}
    assert client.get(f"/api/v1/tasks/{task['id']}").status_code == 404
    assert client.delete(f"/api/v1/tasks/{task['id']}").status_code == 404
    assert client.get("/api/v1/tasks").json()["meta"]["total"] == 0


def test_state_persists_across_two_apps_on_one_file(
    make_app: Callable[..., EmulatorApp], tmp_path: Path
) -> None:
    db = tmp_path / "nested" / "state" / "emulator.sqlite3"
    first = make_app(db_path=str(db))
    with connect(first) as client:
        kept = create(client, name="kept")
        gone = create(client, name="gone")
        client.delete(f"/api/v1/tasks/{gone['id']}")
    first.backend.close()
    assert db.is_file()
    second = make_app(db_path=db)
    with connect(second) as client:
        assert client.get("/api/v1/tasks").json()["data"] == [kept]
        patched = client.patch(f"/api/v1/tasks/{kept['id']}", json={"objective": "again"})
    assert patched.json()["data"]["updated_at"] > str(kept["updated_at"])


def test_a_restarted_app_keeps_stamps_increasing_when_its_clock_is_behind(
    make_app: Callable[..., EmulatorApp], tmp_path: Path
) -> None:
    db = tmp_path / "state.sqlite3"
    first = make_app(db_path=db, clock=Clock(frozen_at=START))
    with connect(first) as client:
        task = create(client)
    first.backend.close()
    earlier = Clock(frozen_at=START.replace(year=2020))
    second = make_app(db_path=db, clock=earlier)
    with connect(second) as client:
        patched = client.patch(f"/api/v1/tasks/{task['id']}", json={"objective": "x"})
    assert patched.json()["data"]["updated_at"] > str(task["updated_at"])


def test_body_problems_are_400(client: httpx.Client) -> None:
    cases = {
        b"": "body: a JSON object is required",
        b"{not json": "body: not valid JSON",
        b"[1, 2]": "body: must be a JSON object",
        b"\xff\xfe": "body: not valid JSON",
    }
    for raw, message in cases.items():
        response = client.post(
            "/api/v1/tasks", content=raw, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 400, raw
        assert response.json()["error"] == {"code": "BAD_REQUEST", "message": message}


def test_an_oversized_body_is_400(client: httpx.Client) -> None:
    huge = task_body(objective="x" * (1024 * 1024))
    response = client.post("/api/v1/tasks", json=huge)
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("body: larger than")


def test_a_wrong_method_on_a_known_route_is_405(client: httpx.Client) -> None:
    response = client.delete("/api/v1/tasks")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "METHOD_NOT_ALLOWED"
    assert response.headers["Allow"] == "GET, POST"


def test_unknown_routes_are_404_in_the_envelope(client: httpx.Client) -> None:
    for path in ("/api/v1/nothing", "/", "/api/v2/tasks", "/api/v1/tasks/a/b"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.json()["success"] is False
        assert response.json()["error"]["code"] == "NOT_FOUND"


def test_a_trailing_slash_reaches_the_same_route(client: httpx.Client) -> None:
    task = create(client)
    assert client.get("/api/v1/tasks/").json()["data"][0]["id"] == task["id"]


def test_an_unexpected_failure_is_a_500_envelope_without_a_traceback(app: EmulatorApp) -> None:
    def broken(request: Request) -> Reply:
        raise RuntimeError("secret internals")

    app.routes.add("GET", "/api/v1/broken", broken, scope="tasks:read")
    with connect(app) as client:
        response = client.get("/api/v1/broken")
    assert response.status_code == 500
    assert response.json()["error"] == {
        "code": "INTERNAL_SERVER_ERROR",
        "message": "the emulator failed to handle the request",
    }
    assert "secret internals" not in response.text
    assert "Traceback" not in response.text


def test_concurrent_creates_over_a_socket_get_distinct_ids_and_stamps(app: EmulatorApp) -> None:
    server, base_url = start_background_server(app)
    try:
        headers = {"Authorization": f"Bearer {WRITER}"}

        def create_one(n: int) -> dict[str, Any]:
            with httpx.Client(base_url=base_url, headers=headers) as client:
                answer = client.post("/api/v1/tasks", json=task_body(name=f"t{n}"))
                assert answer.status_code == 201
                created: dict[str, Any] = answer.json()["data"]
                return created

        with ThreadPoolExecutor(max_workers=8) as pool:
            tasks = list(pool.map(create_one, range(24)))
    finally:
        server.shutdown()
    assert len({t["id"] for t in tasks}) == 24
    assert len({t["created_at"] for t in tasks}) == 24
