"""Executions in the emulator: run, lifecycle on the clock, controls, listing, scopes, scheduler."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from titan_gitops.emulator import Clock
from titan_gitops.emulator.app import EmulatorApp
from titan_gitops.emulator.clock import format_timestamp
from titan_gitops.emulator.executions import SCHEDULE_CATCH_UP, list_fire_times

from .conftest import READER, START, WRITER, connect, task_body

AppFactory = Callable[..., EmulatorApp]
API = "/api/v1"
SECRET = "sk-live-very-secret-value-81f2"


@pytest.fixture
def clock() -> Clock:
    return Clock(frozen_at=START)


@pytest.fixture
def app(make_app: AppFactory, clock: Clock) -> EmulatorApp:
    return make_app(
        clock=clock,
        tokens={
            WRITER: None,
            READER: ["tasks:read"],
            "exec-reader": ["executions:read"],
            "runner-only": ["tasks:write", "executions:read"],
        },
    )


def create_task(client: httpx.Client, **overrides: Any) -> dict[str, Any]:
    response = client.post(f"{API}/tasks", json=task_body(**overrides))
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def run(client: httpx.Client, task_id: str, body: Any = None) -> httpx.Response:
    if body is None:
        return client.post(f"{API}/tasks/{task_id}/run")
    return client.post(f"{API}/tasks/{task_id}/run", json=body)


def status_of(client: httpx.Client, execution_id: str) -> str:
    response = client.get(f"{API}/executions/{execution_id}")
    assert response.status_code == 200, response.text
    return str(response.json()["data"]["status"])


def test_run_with_an_empty_body_returns_the_queued_execution(client: httpx.Client) -> None:
    task = create_task(client)
    response = run(client, task["id"])
    assert response.status_code == 201
    execution = response.json()["data"]
    assert response.json()["success"] is True
    assert execution["task_id"] == task["id"]
    assert execution["status"] == "queued"
    assert execution["results_ready"] is False
    assert execution["trigger"] == "manual"
    # Stamps are strictly increasing: the run is a microsecond after its task on a frozen clock.
    assert execution["created_at"] == format_timestamp(START + timedelta(microseconds=1))
    assert client.get(f"{API}/executions/{execution['id']}").json()["data"] == execution


def test_status_moves_queued_running_completed_on_the_clock(
    client: httpx.Client, clock: Clock
) -> None:
    execution = run(client, create_task(client)["id"]).json()["data"]
    seen = [status_of(client, execution["id"])]
    for step in (0.1, 0.4, 0.49, 0.02):
        clock.advance(step)
        seen.append(status_of(client, execution["id"]))
    assert seen == ["queued", "queued", "running", "running", "completed"]
    final = client.get(f"{API}/executions/{execution['id']}").json()["data"]
    assert final["results_ready"] is True
    queued_at = datetime.fromisoformat(execution["created_at"])
    assert final["finished_at"] == format_timestamp(queued_at + timedelta(seconds=1))
    assert final["updated_at"] == final["finished_at"]
    assert final["record_count"] >= 1


def test_configured_execution_seconds_set_the_run_time(make_app: AppFactory, clock: Clock) -> None:
    app = make_app(clock=clock, execution_seconds=10.0)
    with connect(app) as client:
        execution = run(client, create_task(client)["id"]).json()["data"]
        clock.advance(5)
        assert status_of(client, execution["id"]) == "running"
        clock.advance(5.01)
        assert status_of(client, execution["id"]) == "completed"


def test_post_executions_with_a_task_id_starts_a_run(client: httpx.Client) -> None:
    task = create_task(client)
    response = client.post(f"{API}/executions", json={"task_id": task["id"]})
    assert response.status_code == 201
    assert response.json()["data"]["task_id"] == task["id"]
    missing = client.post(f"{API}/executions", json={})
    assert missing.status_code == 400
    assert missing.json()["error"]["message"].startswith("task_id:")


@pytest.mark.parametrize(
    ("body", "start"),
    [
        ({"priority": 1}, "priority: unknown field"),
        ({"secret_payload": "text"}, "secret_payload: must be a JSON object"),
    ],
)
def test_a_bad_run_body_is_a_400_naming_the_field(
    client: httpx.Client, body: dict[str, Any], start: str
) -> None:
    response = run(client, create_task(client)["id"], body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "BAD_REQUEST"
    assert response.json()["error"]["message"].startswith(start)


def test_running_an_unknown_task_is_not_found(client: httpx.Client) -> None:
    assert run(client, "00000000-0000-4000-8000-000000000000").status_code == 404
    assert client.post(f"{API}/executions", json={"task_id": "nope"}).status_code == 404


def test_secret_payload_is_accepted_and_never_echoed(client: httpx.Client, clock: Clock) -> None:
    task = create_task(client)
    response = run(client, task["id"], {"secret_payload": {"api_key": SECRET}})
    assert response.status_code == 201
    execution = response.json()["data"]
    assert execution["secret_payload"] is True
    clock.advance(2)
    answers = [
        response.text,
        client.get(f"{API}/executions/{execution['id']}").text,
        client.get(f"{API}/executions").text,
        client.get(f"{API}/executions/{execution['id']}/results/export").text,
        client.get(f"{API}/executions/{execution['id']}/results").text,
    ]
    assert all(SECRET not in text for text in answers)


def test_pause_resume_stop_follow_the_lifecycle(client: httpx.Client, clock: Clock) -> None:
    execution_id = run(client, create_task(client)["id"]).json()["data"]["id"]
    early = client.post(f"{API}/executions/{execution_id}/pause")
    assert early.status_code == 400
    assert early.json()["error"]["message"] == (
        "cannot pause an execution that is queued (pause needs running)"
    )
    clock.advance(0.5)
    paused = client.post(f"{API}/executions/{execution_id}/pause")
    assert paused.status_code == 200
    assert paused.json()["data"]["status"] == "paused"
    clock.advance(60)
    assert status_of(client, execution_id) == "paused"
    resumed = client.post(f"{API}/executions/{execution_id}/resume")
    assert resumed.json()["data"]["status"] == "running"
    # 0.5 s of the 1 s run is left: time spent paused does not count.
    clock.advance(0.4)
    assert status_of(client, execution_id) == "running"
    clock.advance(0.11)
    assert status_of(client, execution_id) == "completed"
    late = client.post(f"{API}/executions/{execution_id}/stop")
    assert late.status_code == 400
    assert "is completed" in late.json()["error"]["message"]


def test_stop_cancels_and_a_second_stop_is_refused(client: httpx.Client, clock: Clock) -> None:
    execution_id = run(client, create_task(client)["id"]).json()["data"]["id"]
    stopped = client.post(f"{API}/executions/{execution_id}/stop")
    assert stopped.status_code == 200
    assert stopped.json()["data"]["status"] == "cancelled"
    clock.advance(10)
    assert status_of(client, execution_id) == "cancelled"
    again = client.post(f"{API}/executions/{execution_id}/stop")
    assert again.status_code == 400
    assert again.json()["error"]["message"] == (
        "cannot stop an execution that is cancelled (stop needs queued or running or paused)"
    )
    resume = client.post(f"{API}/executions/{execution_id}/resume")
    assert "resume needs paused" in resume.json()["error"]["message"]


def test_controls_on_an_unknown_execution_are_not_found(client: httpx.Client) -> None:
    for action in ("pause", "resume", "stop"):
        response = client.post(f"{API}/executions/not-an-id/{action}")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "NOT_FOUND"


def test_lists_page_and_filter(client: httpx.Client, clock: Clock) -> None:
    first = create_task(client, name="a")
    second = create_task(client, name="b")
    ids = [run(client, first["id"]).json()["data"]["id"] for _ in range(3)]
    clock.advance(5)
    other = run(client, second["id"]).json()["data"]["id"]
    listing = client.get(f"{API}/executions", params={"limit": 2, "offset": 1}).json()
    assert listing["meta"] == {"total": 4, "limit": 2, "offset": 1}
    assert [e["id"] for e in listing["data"]] == ids[1:3]
    of_task = client.get(f"{API}/tasks/{first['id']}/executions").json()
    assert [e["id"] for e in of_task["data"]] == ids
    by_query = client.get(f"{API}/executions", params={"task_id": second["id"]}).json()
    assert [e["id"] for e in by_query["data"]] == [other]
    queued = client.get(f"{API}/executions", params={"status": "queued"}).json()
    assert [e["id"] for e in queued["data"]] == [other]
    assert client.get(f"{API}/executions", params={"status": "done"}).status_code == 400


def test_executions_outlive_their_task(client: httpx.Client) -> None:
    task = create_task(client)
    execution_id = run(client, task["id"]).json()["data"]["id"]
    assert client.delete(f"{API}/tasks/{task['id']}").status_code == 200
    assert client.get(f"{API}/executions/{execution_id}").status_code == 200
    assert client.get(f"{API}/tasks/{task['id']}/executions").status_code == 404


@pytest.mark.parametrize(
    ("token", "method", "path", "scope"),
    [
        ("exec-reader", "POST", "/run", "executions:write"),
        ("runner-only", "POST", "/run", "executions:write"),
        ("exec-reader", "POST", "/stop", "executions:write"),
        (READER, "GET", "/list", "executions:read"),
    ],
)
def test_routes_need_their_scope(
    app: EmulatorApp, client: httpx.Client, token: str, method: str, path: str, scope: str
) -> None:
    task = create_task(client)
    execution_id = run(client, task["id"]).json()["data"]["id"]
    url = {
        "/run": f"{API}/tasks/{task['id']}/run",
        "/stop": f"{API}/executions/{execution_id}/stop",
        "/list": f"{API}/executions",
    }[path]
    with connect(app, token) as limited:
        response = limited.request(method, url)
    assert response.status_code == 403
    assert response.json()["error"]["message"] == f"token lacks the {scope!r} scope"


def test_a_failure_outcome_ends_the_run_failed(
    app: EmulatorApp, client: httpx.Client, clock: Clock
) -> None:
    app.backend.executions.queue_outcome("failed", "the target site answered 503")
    task = create_task(client)
    failed = run(client, task["id"]).json()["data"]["id"]
    fine = run(client, task["id"]).json()["data"]["id"]
    clock.advance(2)
    record = client.get(f"{API}/executions/{failed}").json()["data"]
    assert record["status"] == "failed"
    assert record["error"] == "the target site answered 503"
    assert record["results_ready"] is False
    assert status_of(client, fine) == "completed"


def test_reset_deletes_tasks_and_executions_and_keeps_templates(
    app: EmulatorApp, client: httpx.Client
) -> None:
    templates = client.get(f"{API}/templates").json()["data"]
    execution_id = run(client, create_task(client)["id"]).json()["data"]["id"]
    app.backend.reset()
    assert client.get(f"{API}/tasks").json()["meta"]["total"] == 0
    assert client.get(f"{API}/executions").json()["meta"]["total"] == 0
    assert client.get(f"{API}/executions/{execution_id}").status_code == 404
    assert client.get(f"{API}/templates").json()["data"] == templates


def test_executions_persist_in_the_database_file(
    make_app: AppFactory, clock: Clock, tmp_path: Path
) -> None:
    db = tmp_path / "state.sqlite3"
    first = make_app(clock=clock, db_path=db)
    with connect(first) as client:
        execution_id = run(client, create_task(client)["id"]).json()["data"]["id"]
    first.backend.close()
    clock.advance(3)
    second = make_app(clock=clock, db_path=db)
    with connect(second) as client:
        assert status_of(client, execution_id) == "completed"
        export = client.get(f"{API}/executions/{execution_id}/results/export")
        assert export.status_code == 200


# --- scheduler ------------------------------------------------------------------------------


def scheduled(client: httpx.Client, cron: str) -> dict[str, Any]:
    return create_task(client, execution_type="scheduled", schedule=cron)


def test_a_schedule_fires_as_the_clock_passes_it(client: httpx.Client, clock: Clock) -> None:
    task = scheduled(client, "*/15 * * * *")  # created at 21:52:10
    assert client.get(f"{API}/executions").json()["meta"]["total"] == 0
    clock.advance(39 * 60)  # 22:31:10
    listing = client.get(f"{API}/tasks/{task['id']}/executions").json()["data"]
    assert [e["created_at"][11:19] for e in listing] == ["22:00:00", "22:15:00", "22:30:00"]
    assert {e["trigger"] for e in listing} == {"schedule"}
    assert {e["status"] for e in listing} == {"completed"}
    # Reading again without time passing creates nothing more.
    assert client.get(f"{API}/executions").json()["meta"]["total"] == 3
    clock.advance(15 * 60)
    assert client.get(f"{API}/executions").json()["meta"]["total"] == 4


def test_a_long_gap_creates_only_the_latest_runs(client: httpx.Client, clock: Clock) -> None:
    scheduled(client, "* * * * *")
    clock.advance(24 * 3600)
    listing = client.get(f"{API}/executions", params={"limit": 100}).json()
    assert listing["meta"]["total"] == SCHEDULE_CATCH_UP
    last = (START + timedelta(days=1)).replace(second=0, microsecond=0)
    assert listing["data"][-1]["created_at"] == format_timestamp(last)


def test_a_deleted_scheduled_task_stops_firing(client: httpx.Client, clock: Clock) -> None:
    task = scheduled(client, "0 * * * *")
    clock.advance(3600)
    assert client.get(f"{API}/executions").json()["meta"]["total"] == 1
    client.delete(f"{API}/tasks/{task['id']}")
    clock.advance(5 * 3600)
    assert client.get(f"{API}/executions").json()["meta"]["total"] == 1


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("cron", "after", "until", "expected"),
    [
        # Day of month and day of week both restricted: either one fires (1 Mar is a Sunday).
        ("0 9 1 * MON", "2026-02-28T10:00", "2026-03-03T00:00",
         ["2026-03-01T09:00", "2026-03-02T09:00"]),
        # Only day of week restricted; 7 is Sunday as well as 0.
        ("30 6 * * 7", "2026-02-27T00:00", "2026-03-09T00:00",
         ["2026-03-01T06:30", "2026-03-08T06:30"]),
        # The window is half open: a fire time equal to `after` is not due again.
        ("0 12 * * *", "2026-03-01T12:00", "2026-03-02T12:00", ["2026-03-02T12:00"]),
        # A date that never comes fires never.
        ("0 0 30 2 *", "2026-01-01T00:00", "2026-12-31T00:00", []),
        ("not a cron", "2026-01-01T00:00", "2026-12-31T00:00", []),
    ],
)  # fmt: skip
def test_list_fire_times(cron: str, after: str, until: str, expected: list[str]) -> None:
    assert list_fire_times(cron, at(after), at(until)) == [at(t) for t in expected]


def test_completed_with_errors_still_has_results(
    app: EmulatorApp, client: httpx.Client, clock: Clock
) -> None:
    app.backend.executions.queue_outcome("completed_with_errors")
    execution_id = run(client, create_task(client)["id"]).json()["data"]["id"]
    clock.advance(2)
    record = client.get(f"{API}/executions/{execution_id}").json()["data"]
    assert record["status"] == "completed_with_errors"
    assert record["results_ready"] is True
    assert client.get(f"{API}/executions/{execution_id}/results/export").status_code == 200


def test_a_schema_the_worker_cannot_satisfy_ends_failed(client: httpx.Client, clock: Clock) -> None:
    impossible = {
        "type": "object",
        "properties": {"code": {"type": "string", "pattern": "^(?=x)y$"}},
        "required": ["code"],
    }
    task = create_task(client, output_schema=impossible)
    execution_id = run(client, task["id"]).json()["data"]["id"]
    clock.advance(2)
    record = client.get(f"{API}/executions/{execution_id}").json()["data"]
    assert record["status"] == "failed"
    assert record["error"].startswith("the emulated worker cannot build records: ")
    export = client.get(f"{API}/executions/{execution_id}/results/export")
    assert export.status_code == 400
    assert "is failed" in export.json()["error"]["message"]


def test_a_schedule_counts_from_the_write_that_set_it(client: httpx.Client, clock: Clock) -> None:
    task = create_task(client)  # single, at 21:52:10
    clock.advance(3600)  # 22:52:10
    patched = client.patch(
        f"{API}/tasks/{task['id']}", json={"execution_type": "scheduled", "schedule": "0 * * * *"}
    )
    assert patched.status_code == 200
    clock.advance(3600)  # 23:52:10: only 23:00 is owed, not 22:00
    listing = client.get(f"{API}/executions").json()["data"]
    assert [e["created_at"][11:19] for e in listing] == ["23:00:00"]


def test_runs_owed_by_the_old_schedule_survive_a_change(client: httpx.Client, clock: Clock) -> None:
    task = scheduled(client, "0 * * * *")  # 21:52:10
    clock.advance(3600)  # 22:52:10: 22:00 is owed, nobody has read executions yet
    client.patch(f"{API}/tasks/{task['id']}", json={"schedule": "30 * * * *"})
    clock.advance(3600)  # 23:52:10: 23:30 under the new schedule
    listing = client.get(f"{API}/executions").json()["data"]
    assert [e["created_at"][11:19] for e in listing] == ["22:00:00", "23:30:00"]


def test_zero_execution_seconds_complete_at_once(app: EmulatorApp, client: httpx.Client) -> None:
    app.backend.executions.execution_seconds = 0.0
    execution = run(client, create_task(client)["id"]).json()["data"]
    assert execution["status"] == "completed"
    assert status_of(client, execution["id"]) == "completed"
