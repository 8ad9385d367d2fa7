"""Apply against a faulty service on a loopback socket: honest reports, no duplicates, convergence.

Each test serves the emulator behind a FaultInjector (conftest.faulty_service) and talks to it
through a real TitanClient with short timeouts and millisecond backoff, so retries are cheap.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from testing.emulator import start_background_server
from titan_gitops.apply import apply_plan
from titan_gitops.client import TitanClient
from titan_gitops.emulator import EmulatorConfig, create_app
from titan_gitops.emulator.faults import FaultInjector, FaultRule
from titan_gitops.model import Action, ApplyReport, Plan, Status
from titan_gitops.pipeline import make_plan
from titan_gitops.plan import PlanOptions
from titan_gitops.render.text import render_plan_text

from .conftest import TOKEN, FaultyService, live_names, render_task, write_definitions

TASKS = "/api/v1/tasks"
OPTIONS = PlanOptions(allow_deletes=5)


def plan_for(root: Path, client: TitanClient) -> Plan:
    return make_plan(root, client, OPTIONS, environ={})


def summarise(report: ApplyReport) -> dict[str, str]:
    """name → "action:status" for every outcome."""
    return {o.change.name: f"{o.change.action.value}:{o.status.value}" for o in report.outcomes}


def id_of(client: TitanClient, name: str) -> str:
    ids = [str(r.body()["id"]) for r in client.list_tasks() if r.body().get("name") == name]
    assert len(ids) == 1, f"{name} is live {len(ids)} times"
    return ids[0]


def assert_converges(root: Path, client: TitanClient) -> None:
    """Terraform's strongest check: after apply, a fresh plan has nothing to do."""
    again = plan_for(root, client)
    assert not again.has_changes, render_plan_text(again)


def test_partial_failure_is_reported_honestly_and_the_next_apply_converges(
    tmp_path: Path, faulty_service: FaultyService
) -> None:
    root = tmp_path / "defs"
    write_definitions(root, {s: render_task(f"shop-{s}") for s in ("a", "b", "old")})
    with faulty_service.connect() as client:
        assert apply_plan(plan_for(root, client), client).ok
        (root / "tasks" / "old.yaml").unlink()
        write_definitions(
            root,
            {
                "a": render_task("shop-a", "Prices and stock."),
                "b": render_task("shop-b", "Prices and stock."),
                "d": render_task("shop-d"),
                "e": render_task("shop-e"),
            },
        )
        plan = plan_for(root, client)
        assert [(c.action.value, c.name) for c in plan.actionable] == [
            ("create", "shop-d"),
            ("create", "shop-e"),
            ("update", "shop-a"),
            ("update", "shop-b"),
            ("delete", "shop-old"),
        ]
        # Every PATCH of shop-a fails; the first create fails twice (its first answer is a 503,
        # so its outcome is unknown; the re-list finds nothing; the re-send fails again).
        faulty_service.injector.add(
            FaultRule(kind="status", method="PATCH", path=f"{TASKS}/{id_of(client, 'shop-a')}")
        )
        faulty_service.injector.add(
            FaultRule(kind="status", method="POST", path=TASKS, status=503, count=2)
        )
        report = apply_plan(plan, client, parallelism=1)

        assert summarise(report) == {
            "shop-d": "create:failed",
            "shop-e": "create:applied",
            "shop-a": "update:failed",
            "shop-b": "update:applied",
            "shop-old": "delete:skipped",
        }
        assert (report.count(Status.APPLIED), report.count(Status.FAILED)) == (2, 2)
        assert report.count(Status.SKIPPED) == 1
        assert not report.ok
        assert not report.converged
        skipped = next(o for o in report.outcomes if o.status is Status.SKIPPED)
        assert "earlier change failed" in skipped.message
        failed = {o.change.name: o.message for o in report.outcomes if o.status is Status.FAILED}
        assert failed["shop-d"].startswith("outcome unknown twice: ")
        assert "HTTP 503" in failed["shop-d"]
        assert "HTTP 500" in failed["shop-a"]
        assert "gave up after 5 attempts" in failed["shop-a"]
        assert live_names(client) == ["shop-a", "shop-b", "shop-e", "shop-old"]

        faulty_service.injector.clear()
        left = plan_for(root, client)
        assert [(c.action.value, c.name) for c in left.actionable] == [
            ("create", "shop-d"),
            ("update", "shop-a"),
            ("delete", "shop-old"),
        ]
        second = apply_plan(left, client)
        assert second.ok, second
        assert_converges(root, client)
        assert live_names(client) == ["shop-a", "shop-b", "shop-d", "shop-e"]


LOST_ANSWERS = {
    after: FaultRule(kind="commit_then_fail", method="POST", path=TASKS, after=after, count=1)
    for after in ("drop", "status")
}


@pytest.mark.parametrize("after", sorted(LOST_ANSWERS))
def test_create_with_unknown_outcome_is_adopted_never_duplicated(
    after: str, tmp_path: Path, faulty_service: FaultyService
) -> None:
    root = write_definitions(
        tmp_path / "defs", {s: render_task(f"shop-{s}") for s in ("a", "b", "c")}
    )
    # The first create is written, then its answer is lost (socket closed, or a 500).
    faulty_service.injector.add(LOST_ANSWERS[after])
    with faulty_service.connect() as client:
        report = apply_plan(plan_for(root, client), client)
        assert report.ok, report
        reconciled = [o for o in report.outcomes if o.status is Status.RECONCILED]
        assert len(reconciled) == 1
        assert "adopted" in reconciled[0].message
        assert reconciled[0].task_id == id_of(client, reconciled[0].change.name)
        assert live_names(client) == ["shop-a", "shop-b", "shop-c"]
        assert_converges(root, client)


def test_create_dropped_before_it_reached_the_service_is_sent_again_once(
    tmp_path: Path, faulty_service: FaultyService
) -> None:
    root = write_definitions(tmp_path / "defs", {"a": render_task("shop-a")})
    faulty_service.injector.add(FaultRule(kind="drop", method="POST", path=TASKS, count=1))
    with faulty_service.connect() as client:
        report = apply_plan(plan_for(root, client), client)
        assert report.ok, report
        assert summarise(report) == {"shop-a": "create:reconciled"}
        assert "created again" in report.outcomes[0].message
        assert live_names(client) == ["shop-a"]
        assert_converges(root, client)


def test_update_committed_then_failed_is_retried_and_converges(
    tmp_path: Path, faulty_service: FaultyService
) -> None:
    root = write_definitions(tmp_path / "defs", {"a": render_task("shop-a")})
    with faulty_service.connect() as client:
        assert apply_plan(plan_for(root, client), client).ok
        write_definitions(root, {"a": render_task("shop-a", "Prices only.")})
        faulty_service.injector.add(
            FaultRule(kind="commit_then_fail", method="PATCH", path=f"{TASKS}/*", count=1)
        )
        report = apply_plan(plan_for(root, client), client)
        assert report.ok, report
        assert client.retry_count >= 1
        assert_converges(root, client)


def test_bursts_of_429_are_waited_out(tmp_path: Path, faulty_service: FaultyService) -> None:
    names = [f"shop-{i:02d}" for i in range(8)]
    root = write_definitions(tmp_path / "defs", {n: render_task(n) for n in names})
    faulty_service.injector.add(FaultRule(kind="rate_limit", method="*", path=f"{TASKS}*", count=6))
    # Enough retries that even six 429s in a row on one request are waited out.
    with faulty_service.connect(max_retries=8) as client:
        report = apply_plan(plan_for(root, client), client)
        assert report.ok, report
        assert client.retry_count == 6
        assert live_names(client) == names
        assert_converges(root, client)


def test_latency_on_every_request_still_converges(
    tmp_path: Path, faulty_service: FaultyService
) -> None:
    names = [f"shop-{i:02d}" for i in range(6)]
    root = write_definitions(tmp_path / "defs", {n: render_task(n) for n in names})
    faulty_service.injector.add(FaultRule(kind="latency", latency_ms=20))
    with faulty_service.connect() as client:
        report = apply_plan(plan_for(root, client), client, parallelism=3)
        assert report.ok, report
        assert client.retry_count == 0
        assert live_names(client) == names
        assert_converges(root, client)


class LaggingReads:
    """WSGI middleware: a task created through it is missed by the first read of it.

    Models read-after-write lag (reliability.md B10), which FaultRule cannot express: the
    service has stored the task, but the first GET of it answers 404. With `lag_listing`, the
    first listing after the create leaves it out too (its total counting one task fewer, so the
    page is coherent).
    """

    def __init__(self, app: Any, *, lag_listing: bool = False) -> None:
        self.app = app
        self.lag_listing = lag_listing
        self.lock = threading.Lock()
        self.unread: set[str] = set()
        self.unlisted: set[str] = set()
        self.lagged = 0

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        path = str(environ.get("PATH_INFO", ""))
        if method == "GET" and path.startswith(f"{TASKS}/"):
            with self.lock:
                lag = path.removeprefix(f"{TASKS}/") in self.unread
                self.unread.discard(path.removeprefix(f"{TASKS}/"))
                self.lagged += lag
            if lag:
                error = {"code": "NOT_FOUND", "message": "task not found"}
                return respond(start_response, "404 Not Found", {"success": False, "error": error})
        if path != TASKS or method not in ("GET", "POST"):
            passed: Iterable[bytes] = self.app(environ, start_response)
            return passed
        status, headers, document = run_json(self.app, environ)
        with self.lock:
            if method == "POST" and status.startswith("201"):
                self.unread.add(str(document["data"]["id"]))
                if self.lag_listing:
                    self.unlisted.add(str(document["data"]["id"]))
            elif method == "GET" and status.startswith("200") and self.unlisted:
                hidden = [t for t in document["data"] if str(t["id"]) in self.unlisted]
                document["data"] = [t for t in document["data"] if t not in hidden]
                document["meta"]["total"] -= len(self.unlisted)
                self.lagged += len(self.unlisted)
                self.unlisted.clear()
        kept = [(k, v) for k, v in headers if k.lower() != "content-length"]
        return respond(start_response, status, document, kept)


def run_json(app: Any, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], Any]:
    """Run `app` to the end; its status, headers and JSON body."""
    captured: dict[str, Any] = {}

    def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        captured["status"], captured["headers"] = status, headers
        return lambda _data: None

    body = b"".join(app(environ, capture))
    return captured["status"], captured["headers"], json.loads(body)


def respond(
    start_response: Any,
    status: str,
    document: Any,
    headers: list[tuple[str, str]] | None = None,
) -> list[bytes]:
    body = json.dumps(document).encode()
    base = headers if headers is not None else [("Content-Type", "application/json")]
    start_response(status, [*base, ("Content-Length", str(len(body)))])
    return [body]


# The service answers each create without its objective: the answer cannot vouch for the create,
# so apply reads the new task back (and meets the lag).
ANSWER_WITHOUT_OBJECTIVE = FaultRule(
    kind="drop_field", field="objective", method="POST", path=TASKS
)


def test_not_found_right_after_create_is_lag_not_loss(tmp_path: Path) -> None:
    root = write_definitions(tmp_path / "defs", {s: render_task(f"shop-{s}") for s in "ab"})
    app = LaggingReads(create_app(EmulatorConfig(db_path=":memory:", tokens={TOKEN: None})))
    server, url = start_background_server(FaultInjector([ANSWER_WITHOUT_OBJECTIVE]).wrap(app))
    try:
        with TitanClient(url, TOKEN, timeout=2.0, backoff_base=0.01, backoff_cap=0.05) as client:
            report = apply_plan(plan_for(root, client), client)
            assert app.lagged >= 1, "the verification read should have met the lag"
            assert [o.change.action for o in report.outcomes] == [Action.CREATE] * 2
            assert report.ok, report
            assert live_names(client) == ["shop-a", "shop-b"]
            assert_converges(root, client)
    finally:
        server.shutdown()


def test_a_listing_that_lags_behind_many_creates_is_not_loss(tmp_path: Path) -> None:
    # More than 20 changes: the read-back lists once, misses every new task, and reads each
    # one again, meeting the 404 of the lag first.
    names = [f"t{i:02d}" for i in range(22)]
    root = write_definitions(tmp_path / "defs", {n: render_task(f"shop-{n}") for n in names})
    app = LaggingReads(
        create_app(EmulatorConfig(db_path=":memory:", tokens={TOKEN: None})), lag_listing=True
    )
    server, url = start_background_server(FaultInjector([ANSWER_WITHOUT_OBJECTIVE]).wrap(app))
    try:
        with TitanClient(url, TOKEN, timeout=2.0, backoff_base=0.01, backoff_cap=0.05) as client:
            report = apply_plan(plan_for(root, client), client)
            assert report.ok, report
            assert app.lagged >= 2 * len(names)  # hidden from the listing, then one 404 each
            assert live_names(client) == [f"shop-{n}" for n in names]
            assert_converges(root, client)
    finally:
        server.shutdown()
