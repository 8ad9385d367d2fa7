"""The `/_emulator/` admin routes (auth, fault rules, clock, reset) and `serve --faults`."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from testing.emulator import spawn_server
from titan_gitops.emulator import Clock, EmulatorConfig
from titan_gitops.emulator.app import EmulatorApp
from titan_gitops.emulator.clock import format_timestamp
from titan_gitops.emulator.faults import FaultRule
from titan_gitops.emulator.serve import main

from .conftest import ORIGIN, READER, START, WRITER, connect, task_body

ADMIN = "admin-secret-token"
REPO = Path(__file__).resolve().parents[2]
AppFactory = Callable[..., EmulatorApp]


@pytest.fixture
def admin_app(make_app: AppFactory) -> EmulatorApp:
    """An emulator with admin routes on and a frozen clock."""
    return make_app(admin_token=ADMIN, clock=Clock(frozen_at=START))


@pytest.fixture
def admin(admin_app: EmulatorApp) -> Iterator[httpx.Client]:
    """A client sending the admin token."""
    with connect(admin_app, ADMIN) as http:
        yield http


@pytest.fixture
def titan(admin_app: EmulatorApp) -> Iterator[httpx.Client]:
    """A client sending a Titan token with every scope."""
    with connect(admin_app) as http:
        yield http


def connect_with(app: EmulatorApp, headers: dict[str, str]) -> httpx.Client:
    """An in-process client sending exactly `headers`."""
    return httpx.Client(transport=httpx.WSGITransport(app=app), base_url=ORIGIN, headers=headers)


# --- Auth -----------------------------------------------------------------------------------


def test_without_an_admin_token_the_admin_routes_do_not_exist(app: EmulatorApp) -> None:
    with connect(app) as client:
        for method, path in [("GET", "faults"), ("POST", "clock"), ("POST", "reset")]:
            response = client.request(method, f"/_emulator/{path}", json={})
            assert response.status_code == 404, path
            assert response.json()["error"]["code"] == "NOT_FOUND"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": f"Bearer {WRITER}"},
        {"Authorization": "Bearer wrong-admin-token"},
        {"Authorization": f"Basic {ADMIN}"},
    ],
    ids=["none", "titan-token", "wrong-token", "basic-scheme"],
)
def test_admin_routes_need_the_admin_token(admin_app: EmulatorApp, headers: dict[str, str]) -> None:
    with connect_with(admin_app, headers) as client:
        for method, path in [("GET", "faults"), ("DELETE", "faults"), ("GET", "clock")]:
            response = client.request(method, f"/_emulator/{path}")
            assert response.status_code == 401, (method, path)
            assert response.json()["error"]["code"] == "UNAUTHORIZED"
            assert ADMIN not in response.text
        assert client.post("/_emulator/clock", json={"advance_seconds": 5}).status_code == 401
        assert client.post("/_emulator/reset").status_code == 401
    assert admin_app.clock.now() == START


def test_the_admin_token_opens_admin_routes_only(admin: httpx.Client) -> None:
    assert admin.get("/_emulator/faults").json() == {"success": True, "data": []}
    assert admin.get("/api/v1/tasks").status_code == 401


def test_the_admin_token_is_also_accepted_as_x_api_key(admin_app: EmulatorApp) -> None:
    with connect_with(admin_app, {"X-API-Key": ADMIN}) as client:
        assert client.get("/_emulator/faults").status_code == 200


# --- Fault rules ----------------------------------------------------------------------------


def test_add_list_and_clear_fault_rules(admin: httpx.Client, titan: httpx.Client) -> None:
    rule = {"kind": "status", "status": 503, "method": "GET", "path": "/api/v1/tasks", "count": 2}
    added = admin.post("/_emulator/faults", json=rule)
    assert added.status_code == 201
    assert added.json()["data"][0]["status"] == 503

    assert titan.get("/api/v1/tasks").status_code == 503
    listed = admin.get("/_emulator/faults").json()["data"]
    assert [(r["kind"], r["count"]) for r in listed] == [("status", 1)]
    assert titan.post("/api/v1/tasks", json=task_body()).status_code == 201

    cleared = admin.delete("/_emulator/faults")
    assert cleared.json() == {"success": True, "data": {"cleared": 1}}
    assert admin.get("/_emulator/faults").json()["data"] == []
    assert titan.get("/api/v1/tasks").status_code == 200


def test_add_accepts_a_list_and_the_faults_wrapper(admin: httpx.Client) -> None:
    assert admin.post("/_emulator/faults", json=[{"kind": "drop"}]).status_code == 201
    wrapped = {"faults": [{"kind": "rate_limit", "with_reset": False, "fraction": 0.5}]}
    assert admin.post("/_emulator/faults", json=wrapped).status_code == 201
    kinds = [rule["kind"] for rule in admin.get("/_emulator/faults").json()["data"]]
    assert kinds == ["drop", "rate_limit"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([{"kind": "status"}, {"kind": "explode"}], "fault 2: fault rule: kind 'explode'"),
        ({"kind": "status", "count": 0}, "count must be at least 1"),
        ("not a rule", "expected a fault rule"),
    ],
)
def test_a_bad_rule_is_a_400_and_adds_nothing(admin: httpx.Client, body: Any, message: str) -> None:
    response = admin.post("/_emulator/faults", json=body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "BAD_REQUEST"
    assert message in response.json()["error"]["message"]
    assert admin.get("/_emulator/faults").json()["data"] == []


@pytest.mark.parametrize("content", [b"", b"{not json", b"[[[["])
def test_a_missing_or_broken_body_is_a_400(admin: httpx.Client, content: bytes) -> None:
    response = admin.post("/_emulator/faults", content=content)
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("body:")


def test_admin_routes_are_not_faulted_by_a_catch_all_rule(
    admin: httpx.Client, titan: httpx.Client
) -> None:
    admin.post("/_emulator/faults", json={"kind": "status", "path": "*"})
    assert titan.get("/api/v1/tasks").status_code == 500
    assert admin.get("/_emulator/faults").status_code == 200
    assert admin.delete("/_emulator/faults").status_code == 200
    assert titan.get("/api/v1/tasks").status_code == 200


def test_commit_then_fail_writes_and_answers_500(admin: httpx.Client, titan: httpx.Client) -> None:
    admin.post("/_emulator/faults", json={"kind": "commit_then_fail", "method": "POST", "count": 1})
    failed = titan.post("/api/v1/tasks", json=task_body("shop/committed"))
    assert failed.status_code == 500
    names = [task["name"] for task in titan.get("/api/v1/tasks").json()["data"]]
    assert names == ["shop/committed"]


def test_in_process_tests_can_add_rules_directly(admin_app: EmulatorApp) -> None:
    admin_app.faults.add(FaultRule(kind="rate_limit", method="GET", count=1, with_reset=True))
    with connect(admin_app) as client:
        limited = client.get("/api/v1/tasks")
        assert limited.status_code == 429
        # The reset is the emulator clock's time, one second ahead, rounded up.
        assert limited.headers["X-RateLimit-Reset"] == str(int(START.timestamp()) + 1)
        assert client.get("/api/v1/tasks").status_code == 200


def test_rules_from_the_config_are_armed_at_start(make_app: AppFactory) -> None:
    app = make_app(faults=[{"kind": "status", "status": 502, "count": 1}])
    with connect(app) as client:
        assert client.get("/api/v1/tasks").status_code == 502
        assert client.get("/api/v1/tasks").status_code == 200


def test_admin_routes_spend_no_rate_limit_budget(make_app: AppFactory) -> None:
    app = make_app(admin_token=ADMIN, rate_limit=1, clock=Clock(frozen_at=START))
    with connect(app, ADMIN) as admin, connect(app) as client:
        for _ in range(3):
            response = admin.get("/_emulator/faults")
            assert response.status_code == 200
            assert "X-RateLimit-Remaining" not in response.headers
        assert client.get("/api/v1/tasks").status_code == 200
        assert client.get("/api/v1/tasks").status_code == 429


# --- Clock ----------------------------------------------------------------------------------


def test_the_clock_reads_and_advances(admin: httpx.Client, titan: httpx.Client) -> None:
    assert admin.get("/_emulator/clock").json()["data"] == {
        "now": format_timestamp(START),
        "epoch": START.timestamp(),
    }
    moved = admin.post("/_emulator/clock", json={"advance_seconds": 90.5})
    assert moved.status_code == 200
    later = START + timedelta(seconds=90.5)
    assert moved.json()["data"]["now"] == format_timestamp(later)
    created = titan.post("/api/v1/tasks", json=task_body()).json()["data"]
    assert created["created_at"] == format_timestamp(later)


def test_advancing_the_clock_opens_a_new_rate_limit_window(make_app: AppFactory) -> None:
    app = make_app(admin_token=ADMIN, rate_limit=1, clock=Clock(frozen_at=START))
    with connect(app, ADMIN) as admin, connect(app, READER) as client:
        assert client.get("/api/v1/tasks").status_code == 200
        assert client.get("/api/v1/tasks").status_code == 429
        admin.post("/_emulator/clock", json={"advance_seconds": 60})
        assert client.get("/api/v1/tasks").status_code == 200


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"advance_seconds": -1}, "not negative"),
        ({"advance_seconds": True}, "a number of seconds is required"),
        ({"advance_seconds": "10"}, "a number of seconds is required"),
        ({}, "a number of seconds is required"),
        ({"advance_seconds": 1, "to": "tomorrow"}, "to: unknown field"),
        ([1], "must be a JSON object"),
    ],
)
def test_a_bad_clock_request_is_a_400_and_time_stands(
    admin: httpx.Client, admin_app: EmulatorApp, body: Any, message: str
) -> None:
    response = admin.post("/_emulator/clock", json=body)
    assert response.status_code == 400
    assert message in response.json()["error"]["message"]
    assert admin_app.clock.now() == START


def test_infinity_is_refused(admin: httpx.Client) -> None:
    response = admin.post("/_emulator/clock", content=b'{"advance_seconds": 1e999}')
    assert response.status_code == 400
    assert "finite" in response.json()["error"]["message"]


# --- Reset ----------------------------------------------------------------------------------


def test_reset_restores_the_starting_state(make_app: AppFactory) -> None:
    started_with = {"kind": "status", "status": 503, "method": "DELETE", "count": 2}
    app = make_app(
        admin_token=ADMIN, rate_limit=2, faults=[started_with], clock=Clock(frozen_at=START)
    )
    with connect(app, ADMIN) as admin, connect(app) as client:
        created = client.post("/api/v1/tasks", json=task_body()).json()["data"]
        # The injected 503 answers before the app, so it spends no rate-limit budget.
        assert client.delete(f"/api/v1/tasks/{created['id']}").status_code == 503
        admin.post("/_emulator/faults", json={"kind": "drop", "path": "/api/v1/templates*"})
        assert client.get("/api/v1/tasks").status_code == 200
        assert client.get("/api/v1/tasks").status_code == 429

        reset = admin.post("/_emulator/reset")
        assert reset.status_code == 200
        assert reset.json()["data"] == {"reset": True, "faults": 1}

        rules = admin.get("/_emulator/faults").json()["data"]
        assert [(rule["kind"], rule["count"]) for rule in rules] == [("status", 2)]
        listed = client.get("/api/v1/tasks")
        assert listed.status_code == 200
        assert listed.json()["data"] == []
        assert client.get("/api/v1/templates").status_code == 200
    assert app.clock.now() == START


# --- Config ---------------------------------------------------------------------------------


@pytest.mark.parametrize("token", ["", "has space", 7])
def test_config_refuses_an_unusable_admin_token(token: Any) -> None:
    with pytest.raises(ValueError, match="admin token") as caught:
        EmulatorConfig(admin_token=token)
    if isinstance(token, str) and token:
        assert token not in str(caught.value)


def test_config_names_a_bad_fault_and_hides_the_admin_token() -> None:
    with pytest.raises(ValueError, match="fault 2: fault rule: kind 'boom'"):
        EmulatorConfig(faults=[FaultRule(kind="drop"), {"kind": "boom"}])  # type: ignore[list-item]
    assert ADMIN not in repr(EmulatorConfig(admin_token=ADMIN))


# --- serve ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("missing.json", None, "cannot read fault file"),
        ("broken.json", "{", "not valid JSON"),
        ("bad.yaml", "- kind: explode\n", "fault 1: fault rule: kind 'explode'"),
    ],
)
def test_serve_refuses_a_bad_fault_file_in_one_line(
    tmp_path: Path, name: str, text: str | None, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / name
    if text is not None:
        path.write_text(text)
    assert main(["--port", "0", "--faults", str(path)]) == 1
    err = capsys.readouterr().err
    assert message in err
    assert str(path) in err
    assert err.count("\n") == 1
    assert "Traceback" not in err


def test_serve_arms_the_fault_file_and_guards_admin_routes(tmp_path: Path) -> None:
    faults = tmp_path / "faults.yaml"
    faults.write_text("faults:\n  - {kind: status, status: 504, method: GET, count: 1}\n")
    process, base_url, lines = spawn_server(
        "--faults",
        str(faults),
        "--fault-seed",
        "3",
        "--admin-token",
        ADMIN,
        module="titan_gitops.emulator",
        cwd=str(REPO),
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        assert base_url, lines
        with httpx.Client(base_url=base_url) as client:
            assert client.get("/api/v1/tasks").status_code == 504
            assert client.get("/api/v1/tasks").status_code == 200
            assert client.get("/_emulator/faults").status_code == 401
            auth = {"Authorization": f"Bearer {ADMIN}"}
            rule = json.dumps({"kind": "rate_limit", "count": 1})
            assert client.post("/_emulator/faults", content=rule, headers=auth).status_code == 201
            assert client.get("/api/v1/tasks").status_code == 429
    finally:
        process.send_signal(signal.SIGINT)
        _, rest = process.communicate(timeout=30)
    err = "".join(lines) + rest
    assert process.returncode == 0
    assert "1 fault rule armed" in err
    assert "admin routes on" in err
    assert ADMIN not in err
    assert "Traceback" not in err
