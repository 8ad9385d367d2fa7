"""Fault injection: rule parsing, each fault kind through the middleware, and the admin helper."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from titan_gitops.emulator import errors as emulator_errors
from titan_gitops.emulator.faults import (
    DropConnection,
    FaultInjector,
    FaultRule,
    handle_admin_faults,
    load_fault_file,
)

NOW = 1_800_000_000.25


class RecordingApp:
    """A tiny JSON API that counts the calls and writes it received."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.writes: list[bytes] = []
        self.lock = threading.Lock()
        self.closed = 0

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        method, path = environ["REQUEST_METHOD"], environ["PATH_INFO"]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        with self.lock:
            self.calls.append((method, path))
            if method in ("POST", "PUT", "PATCH", "DELETE"):
                self.writes.append(body)
        payload = json.dumps({"success": True, "data": {"path": path, "echo": body.decode()}})
        data = payload.encode()
        status = "201 Created" if method == "POST" else "200 OK"
        start_response(
            status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
        )
        return ClosingBody([data[:10], data[10:]], self)


class ClosingBody:
    """An app response with close(), to check the middleware closes what it consumes."""

    def __init__(self, chunks: list[bytes], app: RecordingApp) -> None:
        self.chunks, self.app = chunks, app

    def __iter__(self) -> Any:
        return iter(self.chunks)

    def close(self) -> None:
        self.app.closed += 1


class FakeSleep:
    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def make_client(injector: FaultInjector, app: RecordingApp) -> httpx.Client:
    transport = httpx.WSGITransport(app=injector.wrap(app))
    return httpx.Client(transport=transport, base_url="http://titan.test")


@pytest.fixture
def app() -> RecordingApp:
    return RecordingApp()


@pytest.fixture
def sleep() -> FakeSleep:
    return FakeSleep()


def build(*rules: dict[str, Any], sleep: Callable[[float], None] | None = None) -> FaultInjector:
    return FaultInjector(
        [FaultRule.from_dict(rule) for rule in rules],
        seed=7,
        sleep=sleep or FakeSleep(),
        clock=lambda: NOW,
    )


def call_direct(wrapped: Any, method: str, path: str, body: bytes = b"") -> tuple[str, bytes]:
    """Call a WSGI app by hand, for the faults that must raise instead of answering."""
    seen: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        seen["status"] = status
        return lambda _: None

    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
    }
    result = b"".join(wrapped(environ, start_response))
    return seen["status"], result


# --- Each kind ----------------------------------------------------------------------------------


def test_without_rules_requests_pass_through(app: RecordingApp) -> None:
    with make_client(FaultInjector(), app) as client:
        response = client.get("/api/v1/tasks")
    assert response.status_code == 200
    assert response.json()["data"]["path"] == "/api/v1/tasks"


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (500, "INTERNAL_SERVER_ERROR"),
        (502, "BAD_GATEWAY"),
        (503, "SERVICE_UNAVAILABLE"),
        (504, "GATEWAY_TIMEOUT"),
    ],
)
def test_status_fault_answers_the_envelope_without_calling_the_app(
    app: RecordingApp, status: int, code: str
) -> None:
    injector = build({"kind": "status", "status": status, "count": 1})
    with make_client(injector, app) as client:
        failed = client.post("/api/v1/tasks", json={"name": "x"})
        passed = client.post("/api/v1/tasks", json={"name": "y"})
    assert failed.status_code == status
    assert failed.json() == {
        "success": False,
        "error": {"code": code, "message": "injected fault"},
    }
    assert passed.status_code == 201
    assert app.writes == [b'{"name":"y"}']


def test_rate_limit_with_reset_headers(app: RecordingApp) -> None:
    injector = build({"kind": "rate_limit", "count": 1})
    with make_client(injector, app) as client:
        response = client.get("/api/v1/tasks")
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "TOO_MANY_REQUESTS"
    assert int(response.headers["X-RateLimit-Reset"]) == 1_800_000_002
    assert int(response.headers["X-RateLimit-Reset"]) >= NOW + 1
    assert response.headers["Retry-After"] == "1"
    assert app.calls == []


def test_rate_limit_without_reset_headers(app: RecordingApp) -> None:
    injector = build({"kind": "rate_limit", "with_reset": False})
    with make_client(injector, app) as client:
        response = client.get("/api/v1/tasks")
    assert response.status_code == 429
    assert "X-RateLimit-Reset" not in response.headers
    assert "Retry-After" not in response.headers


def test_latency_sleeps_the_given_seconds_then_passes_through(
    app: RecordingApp, sleep: FakeSleep
) -> None:
    injector = build({"kind": "latency", "latency_ms": 1500, "count": 2}, sleep=sleep)
    with make_client(injector, app) as client:
        statuses = [client.get("/api/v1/tasks").status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    assert sleep.calls == [1.5, 1.5]
    assert len(app.calls) == 3


def test_drop_raises_before_the_app_runs(app: RecordingApp) -> None:
    wrapped = build({"kind": "drop", "method": "POST", "count": 1}).wrap(app)
    # The socket server catches the emulator-wide class; the fault must raise exactly that one.
    with pytest.raises(emulator_errors.DropConnection):
        call_direct(wrapped, "POST", "/api/v1/tasks", b'{"name": "x"}')
    assert app.calls == []
    status, _ = call_direct(wrapped, "POST", "/api/v1/tasks", b'{"name": "x"}')
    assert status.startswith("201")


def test_commit_then_fail_writes_once_then_answers_500(app: RecordingApp) -> None:
    injector = build({"kind": "commit_then_fail", "method": "POST", "count": 1})
    with make_client(injector, app) as client:
        response = client.post("/api/v1/tasks", json={"name": "kept"})
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "INTERNAL_SERVER_ERROR"
    assert app.writes == [b'{"name":"kept"}']
    assert app.closed == 1


def test_commit_then_fail_can_drop_the_connection_after_the_write(app: RecordingApp) -> None:
    wrapped = build({"kind": "commit_then_fail", "after": "drop"}).wrap(app)
    with pytest.raises(DropConnection):
        call_direct(wrapped, "DELETE", "/api/v1/tasks/1")
    assert app.calls == [("DELETE", "/api/v1/tasks/1")]
    assert app.closed == 1


def test_truncate_sends_half_the_body_with_a_matching_length(app: RecordingApp) -> None:
    injector = build({"kind": "truncate", "count": 1})
    with make_client(injector, app) as client:
        cut = client.get("/api/v1/tasks")
        whole = client.get("/api/v1/tasks")
    assert cut.status_code == 200
    assert cut.content == whole.content[: len(whole.content) // 2]
    assert cut.headers["Content-Length"] == str(len(cut.content))
    with pytest.raises(json.JSONDecodeError):
        json.loads(cut.content)


def test_non_json_answers_html_502_after_running_the_app(app: RecordingApp) -> None:
    injector = build({"kind": "non_json", "method": "POST", "count": 1})
    with make_client(injector, app) as client:
        response = client.post("/api/v1/tasks", json={"name": "x"})
    assert response.status_code == 502
    assert response.headers["Content-Type"] == "text/html"
    assert response.text == "<html>502 Bad Gateway</html>"
    assert len(app.writes) == 1


def test_non_json_can_keep_a_success_status(app: RecordingApp) -> None:
    injector = build({"kind": "non_json", "status": 200})
    with make_client(injector, app) as client:
        response = client.get("/api/v1/tasks")
    assert response.status_code == 200
    assert response.text.startswith("<html>")


# --- Matching and counting ---------------------------------------------------------------------


def test_rules_match_by_method_and_path_glob(app: RecordingApp) -> None:
    injector = build({"kind": "status", "method": "delete", "path": "/api/v1/tasks/*"})
    with make_client(injector, app) as client:
        assert client.delete("/api/v1/tasks/abc").status_code == 500
        assert client.delete("/api/v1/tasks/abc?force=1").status_code == 500
        assert client.get("/api/v1/tasks/abc").status_code == 200
        assert client.delete("/api/v1/templates/abc").status_code == 200
        assert client.delete("/api/v1/tasks").status_code == 200


def test_first_matching_rule_wins_and_count_then_runs_out(app: RecordingApp) -> None:
    injector = build(
        {"kind": "status", "status": 503, "count": 2, "path": "/api/v1/tasks*"},
        {"kind": "rate_limit", "count": 1},
    )
    with make_client(injector, app) as client:
        statuses = [client.get("/api/v1/tasks").status_code for _ in range(5)]
    assert statuses == [503, 503, 429, 200, 200]
    assert injector.rules() == []


def test_admin_routes_are_never_faulted(app: RecordingApp) -> None:
    injector = build({"kind": "status"})
    with make_client(injector, app) as client:
        assert client.get("/_emulator/faults").status_code == 200
        assert client.get("/api/v1/tasks").status_code == 500


def test_fraction_is_reproducible_with_the_seed(app: RecordingApp) -> None:
    def run() -> list[int]:
        injector = build({"kind": "status", "fraction": 0.3})
        with make_client(injector, app) as client:
            return [client.get("/api/v1/tasks").status_code for _ in range(200)]

    first, second = run(), run()
    assert first == second
    assert 30 <= first.count(500) <= 90
    assert set(first) == {200, 500}


def test_fraction_with_count_stops_after_count_firings(app: RecordingApp) -> None:
    injector = build({"kind": "status", "fraction": 0.5, "count": 3})
    with make_client(injector, app) as client:
        statuses = [client.get("/api/v1/tasks").status_code for _ in range(100)]
    assert statuses.count(500) == 3


def test_counts_are_exact_under_concurrent_requests(app: RecordingApp) -> None:
    injector = build({"kind": "status", "count": 37})
    wrapped = injector.wrap(app)

    def one(_: int) -> str:
        status, _body = call_direct(wrapped, "GET", "/api/v1/tasks")
        return status

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(one, range(200)))
    assert sum(status.startswith("500") for status in statuses) == 37
    assert len(app.calls) == 200 - 37


def test_rules_report_what_is_left_and_add_clear_work() -> None:
    injector = build({"kind": "drop", "count": 3})
    injector.add(FaultRule(kind="latency", latency_ms=10))
    assert injector.select_fault("GET", "/x") == FaultRule(kind="drop", count=3)
    assert [rule.count for rule in injector.rules()] == [2, None]
    assert injector.clear() == 2
    assert injector.rules() == []
    assert injector.select_fault("GET", "/x") is None


def test_reset_rearms_the_given_rules_and_repeats_the_draws() -> None:
    injector = build({"kind": "status", "fraction": 0.5})
    first = [injector.select_fault("GET", "/x") is not None for _ in range(40)]
    injector.add(FaultRule(kind="drop"))
    injector.reset([FaultRule(kind="status", fraction=0.5)])
    assert injector.rules() == [FaultRule(kind="status", fraction=0.5)]
    again = [injector.select_fault("GET", "/x") is not None for _ in range(40)]
    assert again == first
    assert set(first) == {True, False}
    injector.reset([FaultRule(kind="drop", count=2)])
    injector.select_fault("GET", "/x")
    injector.reset([FaultRule(kind="drop", count=2)])
    assert [rule.count for rule in injector.rules()] == [2]


# --- Parsing -----------------------------------------------------------------------------------


def test_from_dict_fills_defaults_and_normalises_the_method() -> None:
    rule = FaultRule.from_dict({"kind": "status", "method": "post", "path": "/api/v1/tasks"})
    assert rule == FaultRule(kind="status", method="POST", path="/api/v1/tasks")
    assert rule.effective_status == 500
    assert FaultRule.from_dict(rule.to_dict()) == rule


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"kind": "status", "colour": "red"}, "unknown key 'colour'"),
        ({"method": "GET"}, "'kind' is required"),
        ({"kind": "explode"}, "kind 'explode' is not one of"),
        ({"kind": "status", "status": 418}, "status must be one of"),
        ({"kind": "status", "count": 0}, "count must be at least 1"),
        ({"kind": "status", "count": True}, "'count' must be int or null"),
        ({"kind": "status", "count": "3"}, "'count' must be int or null"),
        ({"kind": "status", "fraction": 1.5}, "fraction must be greater than 0"),
        ({"kind": "latency"}, "latency_ms must be a positive"),
        ({"kind": "commit_then_fail", "after": "later"}, "after must be"),
        ({"kind": "drop", "status": 500}, "status does not apply"),
        ({"kind": "drop", "method": "FETCH"}, "method 'FETCH' is not one of"),
        ({"kind": "rate_limit", "with_reset": "yes"}, "'with_reset' must be bool"),
        (["not", "a", "dict"], "must be an object"),
    ],
)
def test_from_dict_rejects_bad_rules_clearly(data: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        FaultRule.from_dict(data)


def test_load_fault_file_reads_json_and_yaml(tmp_path: Path) -> None:
    json_file = tmp_path / "faults.json"
    json_file.write_text(json.dumps([{"kind": "drop", "count": 1}, {"kind": "rate_limit"}]))
    yaml_file = tmp_path / "faults.yaml"
    yaml_file.write_text("faults:\n  - kind: latency\n    latency_ms: 250\n    path: /api/v1/*\n")
    assert load_fault_file(json_file) == [
        FaultRule(kind="drop", count=1),
        FaultRule(kind="rate_limit"),
    ]
    assert load_fault_file(yaml_file) == [
        FaultRule(kind="latency", latency_ms=250, path="/api/v1/*")
    ]


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("bad.json", "[{", "bad.json: not valid JSON"),
        ("bad.yaml", "a: [", "bad.yaml: not valid YAML"),
        ("list.json", '[{"kind": "drop"}, {"kind": "nope"}]', "list.json: fault 2: .*'nope'"),
        ("scalar.json", "3", "expected a fault rule"),
    ],
)
def test_load_fault_file_errors_name_the_file(
    tmp_path: Path, name: str, text: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        load_fault_file(path)


def test_load_fault_file_missing_file_is_a_value_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot read fault file"):
        load_fault_file(tmp_path / "absent.json")


# --- Admin helper ------------------------------------------------------------------------------


def test_admin_faults_round_trip() -> None:
    injector = FaultInjector()
    status, body = handle_admin_faults(injector, "POST", {"kind": "status", "count": 2})
    assert status == 201
    assert body["data"][0]["kind"] == "status"
    status, body = handle_admin_faults(
        injector, "POST", {"faults": [{"kind": "drop"}, {"kind": "rate_limit", "path": "/a*"}]}
    )
    assert status == 201
    assert len(body["data"]) == 2
    injector.select_fault("GET", "/api/v1/tasks")
    status, body = handle_admin_faults(injector, "GET", None)
    assert status == 200
    assert [(r["kind"], r["count"]) for r in body["data"]] == [
        ("status", 1),
        ("drop", None),
        ("rate_limit", None),
    ]
    assert json.loads(json.dumps(body)) == body
    assert handle_admin_faults(injector, "DELETE", None) == (
        200,
        {"success": True, "data": {"cleared": 3}},
    )
    assert handle_admin_faults(injector, "GET", None)[1]["data"] == []


def test_admin_post_is_all_or_nothing_and_reports_the_bad_rule() -> None:
    injector = FaultInjector()
    status, body = handle_admin_faults(
        injector, "POST", [{"kind": "drop"}, {"kind": "drop", "count": -1}]
    )
    assert status == 400
    assert body["error"]["code"] == "BAD_REQUEST"
    assert "fault 2" in body["error"]["message"]
    assert injector.rules() == []
    assert handle_admin_faults(injector, "POST", "text")[0] == 400


def test_admin_other_methods_are_405() -> None:
    status, body = handle_admin_faults(FaultInjector(), "PUT", {})
    assert status == 405
    assert body["error"]["code"] == "METHOD_NOT_ALLOWED"
