"""Apply at its edges: an honest report when the service stores, reads back or deletes otherwise."""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from testing.emulator import start_background_server
from titan_gitops.apply import apply_plan
from titan_gitops.cli import main
from titan_gitops.client import TitanClient
from titan_gitops.emulator import EmulatorConfig, create_app
from titan_gitops.emulator.faults import FaultInjector, FaultRule
from titan_gitops.model import ApplyReport, Outcome, Plan, Status
from titan_gitops.pipeline import make_plan, run_apply
from titan_gitops.plan import PlanOptions
from titan_gitops.render.report import render_report_text
from titan_gitops.reserved import LEASE_PREFIX

TOKEN = "apply-edges-token-7d20"
TASKS = "/api/v1/tasks"
# A service that stores a create (POST) or an update (PATCH) but answers without its objective:
# the answer cannot vouch for the change, so apply reads the task back.
ANSWER_WITHOUT_OBJECTIVE = {
    "POST": FaultRule(kind="drop_field", field="objective", method="POST", path=TASKS),
    "PATCH": FaultRule(kind="drop_field", field="objective", method="PATCH", path=f"{TASKS}/*"),
}
OPTIONS = PlanOptions(allow_deletes=5)

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
Transform = Callable[[dict[str, Any]], None]


# --- definitions ------------------------------------------------------------------------------


def render_task(name: str, objective: str = "Extract product names and prices.") -> str:
    return (
        f"kind: task\nname: {name}\nurls: [https://shop.example/products]\n"
        f"objective: {objective}\noutput_schema:\n  type: object\n"
        "  properties:\n    name: {type: string}\nexecution_type: single\n"
    )


def write_definitions(root: Path, tasks: dict[str, str]) -> Path:
    (root / "tasks").mkdir(parents=True, exist_ok=True)
    (root / "titan-gitops.yaml").write_text("namespace: shop-\n", encoding="utf-8")
    for stem, text in tasks.items():
        (root / "tasks" / f"{stem}.yaml").write_text(text, encoding="utf-8")
    return root


def remove_definition(root: Path, stem: str) -> None:
    (root / "tasks" / f"{stem}.yaml").unlink()


def plan_for(root: Path, client: TitanClient, environ: dict[str, str] | None = None) -> Plan:
    return make_plan(root, client, OPTIONS, environ=environ or {})


def outcomes(report: ApplyReport) -> list[tuple[str, str, str]]:
    return [(o.change.action.value, o.change.name, o.status.value) for o in report.outcomes]


# --- a service that misbehaves on purpose, in front of the emulator ----------------------------


def run_json(app: WsgiApp, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], Any]:
    """Run `app` to the end; its status, headers and parsed JSON body (None when empty)."""
    captured: dict[str, Any] = {}

    def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        captured["status"], captured["headers"] = status, headers
        return lambda _data: None

    body = b"".join(app(environ, capture))
    return captured["status"], captured["headers"], json.loads(body) if body.strip() else None


class Rewriting:
    """WSGI middleware: changes the task a write stores, or the task a read returns.

    `on_write` edits the JSON body of every POST or PATCH of a task before the emulator stores it
    (a service that normalises what it is sent); `on_read` edits every task the service returns:
    a GET's, one by one or in a listing, and the answer to a POST or PATCH (a service that masks
    a value whenever it shows the task, so apply's check of a write's answer meets it too).
    """

    def __init__(
        self, app: WsgiApp, *, on_write: Transform | None = None, on_read: Transform | None = None
    ) -> None:
        self.app = app
        self.on_write = on_write
        self.on_read = on_read

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        method = str(environ["REQUEST_METHOD"])
        path = str(environ.get("PATH_INFO", ""))
        if not path.startswith(TASKS):
            return self.app(environ, start_response)
        if method in ("POST", "PATCH") and self.on_write is not None:
            sent = json.loads(environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0)))
            self.on_write(sent)
            raw = json.dumps(sent).encode()
            environ["wsgi.input"] = io.BytesIO(raw)
            environ["CONTENT_LENGTH"] = str(len(raw))
        if method not in ("GET", "POST", "PATCH") or self.on_read is None:
            return self.app(environ, start_response)
        status, headers, document = run_json(self.app, environ)
        if status.startswith(("200", "201")):
            data = document["data"]
            for item in data if isinstance(data, list) else [data]:
                self.on_read(item)
        body = json.dumps(document).encode()
        kept = [(k, v) for k, v in headers if k.lower() != "content-length"]
        start_response(status, [*kept, ("Content-Length", str(len(body)))])
        return [body]


@pytest.fixture
def emulator() -> Any:
    return create_app(EmulatorConfig(db_path=":memory:", tokens={TOKEN: None}))


@pytest.fixture
def outsider(emulator: Any) -> Iterator[TitanClient]:
    """Someone else at the same service, unaffected by any fault."""
    transport = httpx.WSGITransport(app=emulator)
    with TitanClient("http://titan.test", TOKEN, transport=transport) as client:
        yield client


class Served:
    """Serves WSGI apps on loopback sockets for one test and stops them afterwards."""

    def __init__(self) -> None:
        self.servers: list[Any] = []

    def __call__(self, app: WsgiApp) -> str:
        server, url = start_background_server(app)
        self.servers.append(server)
        return url

    def client(self, app: WsgiApp, **overrides: Any) -> TitanClient:
        settings: dict[str, Any] = {
            "timeout": 2.0,
            "max_retries": 2,
            "backoff_base": 0.01,
            "backoff_cap": 0.02,
        }
        settings.update(overrides)
        return TitanClient(self(app), TOKEN, **settings)


@pytest.fixture
def serve() -> Iterator[Served]:
    served = Served()
    try:
        yield served
    finally:
        for server in served.servers:
            server.shutdown()


def live_tasks(client: TitanClient, name: str) -> list[dict[str, Any]]:
    return [r.body() for r in client.list_tasks() if r.body().get("name") == name]


# --- the service stores or reads back something else --------------------------------------------


def trim_objective(body: dict[str, Any]) -> None:
    # Not the CLI's apply lease, which is a task too and must stay intact.
    if not str(body.get("name", "")).startswith(LEASE_PREFIX) and "objective" in body:
        body["objective"] = body["objective"][:20]


def test_an_apply_whose_every_change_succeeds_but_is_stored_otherwise_is_not_ok(
    tmp_path: Path, emulator: Any, outsider: TitanClient, serve: Served
) -> None:
    root = write_definitions(tmp_path / "defs", {"a": render_task("shop-a")})
    outsider.create_task(
        {
            "name": "shop-a",
            "urls": ["https://shop.example/products"],
            "objective": "Old.",
            "output_schema": {"type": "object", "properties": {"name": {"type": "string"}}},
            "execution_type": "single",
        }
    )
    # The service cuts every objective it is sent to 20 characters, and says nothing.
    with serve.client(Rewriting(emulator, on_write=trim_objective)) as client:
        report = run_apply(plan_for(root, client), client)
    assert outcomes(report) == [("update", "shop-a", "applied")]
    assert not report.converged
    assert not report.ok
    ((name, fields),) = report.mismatches
    assert name == "shop-a"
    assert [(f.pointer, f.before, f.after) for f in fields] == [
        ("/objective", "Extract product name", "Extract product names and prices.")
    ]
    text = render_report_text(report)
    assert "not converged: shop-a: objective is stored as" in text
    assert "The service did not converge." in text


def test_the_cli_exits_1_when_the_service_stores_another_value(
    tmp_path: Path,
    emulator: Any,
    serve: Served,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    write_definitions(tmp_path / "defs", {"a": render_task("shop-a")})
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TITAN_API_URL", serve(Rewriting(emulator, on_write=trim_objective)))
    monkeypatch.setenv("TITAN_TOKEN", TOKEN)
    assert main(["apply", "defs", "--auto-approve"]) == 1
    out = capsys.readouterr().out
    assert "created shop-a" in out
    assert "did not converge" in out


def test_a_read_back_that_fails_leaves_the_apply_unconverged(
    tmp_path: Path, emulator: Any, outsider: TitanClient, serve: Served
) -> None:
    root = write_definitions(tmp_path / "defs", {"a": render_task("shop-a", "Old.")})
    injector = FaultInjector(seed=3)
    with serve.client(injector.wrap(emulator)) as client:
        assert run_apply(plan_for(root, client), client).ok
        write_definitions(root, {"a": render_task("shop-a")})
        plan = plan_for(root, client)
        # Every read of one task fails from now on: the update lands, its check cannot be made
        # (its answer leaves the objective out, so it cannot vouch for the update either).
        injector.add(FaultRule(kind="status", method="GET", path=f"{TASKS}/*", status=503))
        injector.add(ANSWER_WITHOUT_OBJECTIVE["PATCH"])
        report = run_apply(plan, client)
    assert outcomes(report) == [("update", "shop-a", "applied")]
    assert report.mismatches == ()
    assert not report.converged, "nothing was read back, so nothing says it converged"
    assert not report.ok
    assert live_tasks(outsider, "shop-a")[0]["objective"] == "Extract product names and prices."


def test_a_task_gone_right_after_its_update_is_reported_missing(
    tmp_path: Path, emulator: Any, outsider: TitanClient, serve: Served
) -> None:
    root = write_definitions(tmp_path / "defs", {"a": render_task("shop-a", "Old.")})

    def deleted_behind_our_back(environ: dict[str, Any], start_response: Any) -> Any:
        answer = list(emulator(environ, start_response))
        if environ["REQUEST_METHOD"] == "PATCH":
            outsider.delete_task(str(environ["PATH_INFO"]).rsplit("/", 1)[1])
        return answer

    # The update's answer leaves the objective out, so the task is read back, and found gone.
    answers = FaultInjector([ANSWER_WITHOUT_OBJECTIVE["PATCH"]])
    with serve.client(answers.wrap(deleted_behind_our_back)) as client:
        assert run_apply(plan_for(root, client), client).ok
        write_definitions(root, {"a": render_task("shop-a")})
        report = run_apply(plan_for(root, client), client)
    assert outcomes(report) == [("update", "shop-a", "applied")]
    assert report.mismatches == (("shop-a", ()),)
    assert not report.ok
    assert "not converged: shop-a is missing after the apply" in render_report_text(report)


def test_a_delete_the_service_acknowledges_but_does_not_do_is_not_converged(
    tmp_path: Path, emulator: Any, outsider: TitanClient, serve: Served
) -> None:
    root = write_definitions(
        tmp_path / "defs", {"a": render_task("shop-a"), "old": render_task("shop-old")}
    )

    def keeps_deleted_tasks(environ: dict[str, Any], start_response: Any) -> Any:
        if environ["REQUEST_METHOD"] == "DELETE":
            start_response("204 No Content", [("Content-Length", "0")])
            return [b""]
        return emulator(environ, start_response)

    with serve.client(keeps_deleted_tasks) as client:
        assert run_apply(plan_for(root, client), client).ok
        remove_definition(root, "old")
        report = run_apply(plan_for(root, client), client)
    assert outcomes(report) == [("delete", "shop-old", "applied")]
    assert not report.converged
    assert not report.ok
    # Still there, but a deleted task's fields are not compared to anything.
    assert report.mismatches == ()
    assert len(live_tasks(outsider, "shop-old")) == 1


def test_a_task_deleted_by_someone_else_first_is_already_gone(
    tmp_path: Path, outsider: TitanClient, emulator: Any
) -> None:
    root = write_definitions(
        tmp_path / "defs", {"a": render_task("shop-a"), "old": render_task("shop-old")}
    )
    assert run_apply(plan_for(root, outsider), outsider).ok
    remove_definition(root, "old")
    plan = plan_for(root, outsider)
    outsider.delete_task(str(live_tasks(outsider, "shop-old")[0]["id"]))
    report = apply_plan(plan, outsider)
    assert outcomes(report) == [("delete", "shop-old", "applied")]
    assert report.outcomes[0].message == "already gone"
    assert report.ok


class Counting:
    """WSGI middleware: counts the reads of one task and the listings the service answers."""

    def __init__(self, app: WsgiApp) -> None:
        self.app = app
        self.reads = {"one task": 0, "listing": 0}

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        path = str(environ.get("PATH_INFO", ""))
        if environ["REQUEST_METHOD"] == "GET" and path.startswith(TASKS):
            self.reads["listing" if path == TASKS else "one task"] += 1
        return self.app(environ, start_response)


@pytest.mark.parametrize(
    ("creates", "answers", "reads"),
    [
        (20, "without objective", {"one task": 20, "listing": 0}),
        (21, "without objective", {"one task": 0, "listing": 1}),
        (21, "whole", {"one task": 0, "listing": 0}),
    ],
)
def test_up_to_20_changes_are_read_back_one_by_one_and_more_with_one_listing(
    tmp_path: Path, emulator: Any, creates: int, answers: str, reads: dict[str, int]
) -> None:
    # Only changes whose answer does not show the task as planned are read back: a create the
    # service answered with the whole task is not read again.
    names = [f"shop-{n:02d}" for n in range(creates)]
    root = write_definitions(tmp_path / "defs", {n: render_task(n) for n in names})
    injector = FaultInjector([ANSWER_WITHOUT_OBJECTIVE["POST"]] if answers != "whole" else [])
    counting = Counting(injector.wrap(emulator))
    transport = httpx.WSGITransport(app=counting)
    with TitanClient("http://titan.test", TOKEN, transport=transport) as client:
        plan = plan_for(root, client)
        counting.reads = dict.fromkeys(reads, 0)
        report = apply_plan(plan, client)
    assert report.ok, render_report_text(report)
    assert counting.reads == reads


# --- interrupted before anything started ------------------------------------------------------


def create_update_and_delete_pending(tmp_path: Path, outsider: TitanClient) -> Path:
    """Definitions applied once, then edited so a plan holds one create, update and delete each."""
    root = write_definitions(
        tmp_path / "defs", {"a": render_task("shop-a", "Old."), "old": render_task("shop-old")}
    )
    assert run_apply(plan_for(root, outsider), outsider).ok
    write_definitions(root, {"a": render_task("shop-a"), "new": render_task("shop-new")})
    remove_definition(root, "old")
    return root


def test_an_apply_stopped_before_it_starts_changes_nothing(
    tmp_path: Path, outsider: TitanClient
) -> None:
    root = create_update_and_delete_pending(tmp_path, outsider)
    plan = plan_for(root, outsider)
    stop = threading.Event()
    stop.set()
    report = apply_plan(plan, outsider, stop=stop)
    assert [(o.change.name, o.status, o.message) for o in report.outcomes] == [
        ("shop-new", Status.SKIPPED, "not started: interrupted"),
        ("shop-a", Status.SKIPPED, "not started: interrupted"),
        ("shop-old", Status.SKIPPED, "not started: interrupted"),
    ]
    assert report.interrupted
    assert not report.converged
    assert not report.ok
    names = sorted(str(r.body()["name"]) for r in outsider.list_tasks())
    assert names == ["shop-a", "shop-old"]
    assert live_tasks(outsider, "shop-a")[0]["objective"] == "Old."


def test_a_failed_create_skips_the_deletes_but_not_the_updates(
    tmp_path: Path, emulator: Any, outsider: TitanClient, serve: Served
) -> None:
    root = create_update_and_delete_pending(tmp_path, outsider)
    injector = FaultInjector(seed=5)
    injector.add(FaultRule(kind="status", method="POST", path=TASKS, status=503))
    with serve.client(injector.wrap(emulator)) as client:
        report = run_apply(plan_for(root, client), client, parallelism=1)
    assert outcomes(report) == [
        ("create", "shop-new", "failed"),
        ("update", "shop-a", "applied"),
        ("delete", "shop-old", "skipped"),
    ]
    assert "deletes run only after a clean apply" in report.outcomes[2].message
    assert not report.interrupted
    assert not report.ok
    assert live_tasks(outsider, "shop-a")[0]["objective"] == "Extract product names and prices."
    assert len(live_tasks(outsider, "shop-old")) == 1


# --- a create whose outcome is unknown ----------------------------------------------------------


class SlowFirstCreate:
    """WSGI middleware: the first create is answered only after the client gave up waiting.

    `stored` says when the service stores that first create: "before" (at once, then it is slow
    to answer), "late" (0.1 s after the client's second create was answered: the service kept
    working on a request the client stopped waiting for) or "never" (refused once the test
    ends). `on_hold` runs when the first create arrives; with `fail_lists_after_resend`, every
    listing after the second create fails.
    """

    def __init__(
        self,
        app: WsgiApp,
        *,
        stored: str,
        on_hold: Callable[[], None] = lambda: None,
        fail_lists_after_resend: bool = False,
    ) -> None:
        self.app = app
        self.stored = stored
        self.on_hold = on_hold
        self.fail_lists_after_resend = fail_lists_after_resend
        self.lock = threading.Lock()
        self.creates = 0
        self.lists_before_resend = 0
        self.release = threading.Event()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = (environ["REQUEST_METHOD"], environ.get("PATH_INFO"))
        if request == ("GET", TASKS) and self.fail_lists_after_resend and self.creates > 1:
            start_response("503 Service Unavailable", [("Content-Length", "0")])
            return [b""]
        if request != ("POST", TASKS):
            if request == ("GET", TASKS) and self.creates == 1:
                self.lists_before_resend += 1
            return self.app(environ, start_response)
        with self.lock:
            self.creates += 1
            first = self.creates == 1
        if not first:
            answer = list(self.app(environ, start_response))
            self.release.set()
            return answer
        answer = list(self.app(environ, start_response)) if self.stored == "before" else []
        self.on_hold()
        self.release.wait(10)
        if self.stored == "late":
            time.sleep(0.1)
            return list(self.app(environ, start_response))
        if self.stored == "never":
            start_response("503 Service Unavailable", [("Content-Length", "0")])
            return [b""]
        return answer


def unknown_create(
    root: Path, slow: SlowFirstCreate, serve: Served, stop: threading.Event | None = None
) -> ApplyReport:
    """Apply with a short timeout: the client stops waiting for a create after 0.15 s, and
    waits twice that for it to land before each further look."""
    with serve.client(slow, timeout=0.15) as client:
        try:
            return run_apply(plan_for(root, client), client, stop=stop)
        finally:
            slow.release.set()


def test_a_create_that_lands_after_it_was_sent_again_leaves_one_task(
    tmp_path: Path, emulator: Any, outsider: TitanClient, serve: Served
) -> None:
    root = write_definitions(tmp_path / "defs", {"a": render_task("shop-a")})
    slow = SlowFirstCreate(emulator, stored="late")
    report = unknown_create(root, slow, serve)
    # Looked for at once, and again after giving it time to land, before sending it again.
    assert slow.lists_before_resend == 2
    ((outcome),) = report.outcomes
    assert outcome.status is Status.RECONCILED
    assert outcome.message == (
        "outcome was unknown; not found live, created again; removed 1 late copy"
    )
    assert report.ok, render_report_text(report)
    (kept,) = live_tasks(outsider, "shop-a")
    assert str(kept["id"]) == outcome.task_id


def test_a_late_copy_that_cannot_be_looked_for_is_reported(
    tmp_path: Path, emulator: Any, outsider: TitanClient, serve: Served
) -> None:
    root = write_definitions(tmp_path / "defs", {"a": render_task("shop-a")})
    slow = SlowFirstCreate(emulator, stored="late", fail_lists_after_resend=True)
    report = unknown_create(root, slow, serve)
    ((outcome),) = report.outcomes
    assert outcome.status is Status.RECONCILED
    assert outcome.message.startswith(
        "outcome was unknown; not found live, created again; a late copy may exist (check failed: "
    )
    assert len(live_tasks(outsider, "shop-a")) == 2


def test_a_create_stored_but_answered_too_late_is_adopted_even_after_a_stop(
    tmp_path: Path, emulator: Any, outsider: TitanClient, serve: Served
) -> None:
    root = write_definitions(tmp_path / "defs", {"a": render_task("shop-a")})
    stop = threading.Event()
    slow = SlowFirstCreate(emulator, stored="before", on_hold=stop.set)
    report = unknown_create(root, slow, serve, stop)
    (kept,) = live_tasks(outsider, "shop-a")
    assert [(o.status, o.message, o.task_id) for o in report.outcomes] == [
        (Status.RECONCILED, "outcome was unknown; found live, adopted", str(kept["id"]))
    ]
    assert slow.creates == 1
    assert report.interrupted


def test_a_stop_while_a_create_is_unknown_fails_it_without_sending_it_again(
    tmp_path: Path, emulator: Any, outsider: TitanClient, serve: Served
) -> None:
    root = write_definitions(tmp_path / "defs", {"a": render_task("shop-a")})
    stop = threading.Event()
    slow = SlowFirstCreate(emulator, stored="never", on_hold=stop.set)
    report = unknown_create(root, slow, serve, stop)
    assert [(o.status, o.message) for o in report.outcomes] == [
        (Status.FAILED, "interrupted while the outcome was unknown")
    ]
    assert report.interrupted
    assert not report.ok
    assert slow.creates == 1
    assert live_tasks(outsider, "shop-a") == []


def test_a_create_of_unknown_outcome_whose_re_list_fails_is_failed(
    tmp_path: Path, emulator: Any, outsider: TitanClient, serve: Served
) -> None:
    root = write_definitions(tmp_path / "defs", {"a": render_task("shop-a")})
    injector = FaultInjector(seed=9)
    with serve.client(injector.wrap(emulator)) as client:
        plan = plan_for(root, client)
        # The create is stored but its connection drops; every listing after it fails.
        injector.add(FaultRule(kind="commit_then_fail", method="POST", path=TASKS, after="drop"))
        injector.add(FaultRule(kind="status", method="GET", path=TASKS, status=503))
        report = apply_plan(plan, client)
    ((outcome),) = report.outcomes
    assert outcome.status is Status.FAILED
    assert outcome.message.startswith("outcome unknown (")
    assert "and the re-list failed: " in outcome.message
    assert not report.ok
    assert len(live_tasks(outsider, "shop-a")) == 1


def test_a_create_of_unknown_outcome_that_finds_two_copies_adopts_neither(
    tmp_path: Path, emulator: Any, outsider: TitanClient, serve: Served
) -> None:
    root = write_definitions(tmp_path / "defs", {"a": render_task("shop-a")})
    injector = FaultInjector(seed=9)
    with serve.client(injector.wrap(emulator)) as client:
        plan = plan_for(root, client)
        # Someone else creates shop-a too, before ours is stored and its connection drops.
        other = outsider.create_task(
            {
                "name": "shop-a",
                "urls": ["https://shop.example/products"],
                "objective": "Made by hand.",
                "output_schema": {"type": "object"},
                "execution_type": "single",
            }
        )
        injector.add(
            FaultRule(kind="commit_then_fail", method="POST", path=TASKS, after="drop", count=1)
        )
        report = apply_plan(plan, client)
    ((outcome),) = report.outcomes
    ids = [str(t["id"]) for t in live_tasks(outsider, "shop-a")]
    assert len(ids) == 2
    assert str(other.body()["id"]) in ids
    assert outcome.status is Status.FAILED
    assert outcome.message == f"several live tasks now have this name: {', '.join(ids)}"
    assert not report.ok


# --- pointers into list items -------------------------------------------------------------------

STEPS_TASK = """\
kind: task
name: shop-quote
urls: [https://carrier.example/api/quote]
objective: Get a shipping quote, then read the carrier's page.
execution_type: single
ignore_fields: [/execution_plan/steps/0/limits/max_results]
execution_plan:
  steps:
    - action_type: api_call
      input_source: static_urls
      template_slug: carrier-quote-json
      limits: {max_results: 10}
      payload:
        origin_zip: "10001"
        account: ${TITAN_VAR_CARRIER_ACCOUNT}
    - action_type: scrape
      input_source: previous_step
      output_schema:
        type: object
        properties:
          price: {type: number}
"""
ACCOUNT = "acct-9f31c2"


def cap_first_step(body: dict[str, Any]) -> None:
    for step in body.get("execution_plan", {}).get("steps", [])[:1]:
        step.get("limits", {})["max_results"] = 5


def mask_first_step(task: dict[str, Any]) -> None:
    for step in task.get("execution_plan", {}).get("steps", [])[:1]:
        if "account" in step.get("payload", {}):
            step["payload"]["account"] = "********"


def test_a_secret_and_an_ignored_field_inside_a_step_do_not_count_as_drift(
    tmp_path: Path, emulator: Any, outsider: TitanClient, serve: Served
) -> None:
    root = write_definitions(tmp_path / "defs", {"quote": STEPS_TASK})
    env = {"TITAN_VAR_CARRIER_ACCOUNT": ACCOUNT}
    # The service caps the first step's max_results (a field the definition ignores) and masks
    # the secret in the step's payload when it is read back.
    service = Rewriting(emulator, on_write=cap_first_step, on_read=mask_first_step)
    with serve.client(service) as client:
        plan = plan_for(root, client, env)
        (create,) = plan.actionable
        assert create.sensitive_pointers == {"/execution_plan/steps/0/payload/account"}
        report = run_apply(plan, client)
    assert outcomes(report) == [("create", "shop-quote", "applied")]
    assert report.mismatches == ()
    assert report.ok, render_report_text(report)
    (stored,) = live_tasks(outsider, "shop-quote")
    step = stored["execution_plan"]["steps"][0]
    assert (step["payload"]["account"], step["limits"]["max_results"]) == (ACCOUNT, 5)


def test_a_value_beside_a_secret_in_a_step_stored_otherwise_is_drift(
    tmp_path: Path, emulator: Any, serve: Served
) -> None:
    root = write_definitions(tmp_path / "defs", {"quote": STEPS_TASK})
    env = {"TITAN_VAR_CARRIER_ACCOUNT": ACCOUNT}

    def pad_zip(body: dict[str, Any]) -> None:
        cap_first_step(body)
        for step in body.get("execution_plan", {}).get("steps", [])[:1]:
            step["payload"]["origin_zip"] = "10001-0000"

    with serve.client(Rewriting(emulator, on_write=pad_zip, on_read=mask_first_step)) as client:
        report = run_apply(plan_for(root, client, env), client)
    # The step is compared down to the changed value; the secret beside it is never shown.
    ((name, (field,)),) = report.mismatches
    assert (name, field.pointer) == ("shop-quote", "/execution_plan/steps/0/payload/origin_zip")
    assert (field.before, field.sensitive) == ("10001-0000", False)
    assert ACCOUNT not in repr(report.mismatches) + render_report_text(report)
    assert not report.ok


def test_a_secret_the_service_never_reads_back_inside_a_step_is_not_drift(
    tmp_path: Path, emulator: Any, serve: Served
) -> None:
    root = write_definitions(tmp_path / "defs", {"quote": STEPS_TASK})
    env = {"TITAN_VAR_CARRIER_ACCOUNT": ACCOUNT}

    def write_only(task: dict[str, Any]) -> None:
        for step in task.get("execution_plan", {}).get("steps", [])[:1]:
            step.get("payload", {}).pop("account", None)

    with serve.client(Rewriting(emulator, on_read=write_only)) as client:
        report = run_apply(plan_for(root, client, env), client)
    assert report.mismatches == ()
    assert report.ok, render_report_text(report)


def test_an_ignored_field_inside_a_step_converges_and_plans_nothing_more(
    tmp_path: Path, emulator: Any, outsider: TitanClient, serve: Served
) -> None:
    task = STEPS_TASK.replace("        account: ${TITAN_VAR_CARRIER_ACCOUNT}\n", "")
    root = write_definitions(tmp_path / "defs", {"quote": task})
    with serve.client(Rewriting(emulator, on_write=cap_first_step)) as client:
        first = run_apply(plan_for(root, client), client)
        assert first.ok, render_report_text(first)
        assert not plan_for(root, client).has_changes
        write_definitions(root, {"quote": task.replace("Get a shipping", "Get a cheap shipping")})
        (update,) = plan_for(root, client).actionable
        assert [f.pointer for f in update.fields] == ["/objective"]
        second = run_apply(plan_for(root, client), client)
        assert second.ok, render_report_text(second)
        assert not plan_for(root, client).has_changes
    (stored,) = live_tasks(outsider, "shop-quote")
    assert stored["execution_plan"]["steps"][0]["limits"] == {"max_results": 5}


def test_a_create_whose_connection_dropped_is_looked_for_once_then_sent_again(
    tmp_path: Path, emulator: Any
) -> None:
    root = write_definitions(tmp_path / "defs", {"a": render_task("shop-a")})
    injector = FaultInjector(seed=4)
    counting = Counting(injector.wrap(emulator))
    transport = httpx.WSGITransport(app=counting)
    with TitanClient("http://titan.test", TOKEN, transport=transport) as client:
        plan = plan_for(root, client)
        injector.add(FaultRule(kind="drop", method="POST", path=TASKS, count=1))
        counting.reads = {"one task": 0, "listing": 0}
        report = apply_plan(plan, client)
    assert outcomes(report) == [("create", "shop-a", "reconciled")]
    # A dropped connection means the request never ran to its end: one look is enough.
    assert counting.reads == {"one task": 1, "listing": 1}


# --- stops, failures and progress within a step ----------------------------------------------


def test_a_stop_after_a_failure_leaves_the_rest_unstarted_and_reports_progress(
    tmp_path: Path, emulator: Any, outsider: TitanClient, serve: Served
) -> None:
    stems = {"a": "shop-a", "b": "shop-b", "old": "shop-old"}
    root = write_definitions(
        tmp_path / "defs", {s: render_task(n, "Old.") for s, n in stems.items()}
    )
    assert run_apply(plan_for(root, outsider), outsider).ok
    write_definitions(root, {s: render_task(f"shop-{s}") for s in "ab"})
    remove_definition(root, "old")
    injector = FaultInjector(seed=6)
    shop_a = str(live_tasks(outsider, "shop-a")[0]["id"])
    injector.add(FaultRule(kind="status", method="PATCH", path=f"{TASKS}/{shop_a}", status=500))
    stop = threading.Event()
    seen: list[tuple[str, str, int, int]] = []

    def progress(outcome: Outcome, done: int, total: int) -> None:
        seen.append((outcome.change.name, outcome.status.value, done, total))
        stop.set()  # as the CLI's signal handler does on Ctrl-C

    with serve.client(injector.wrap(emulator)) as client:
        report = run_apply(
            plan_for(root, client), client, parallelism=1, progress=progress, stop=stop
        )
    assert [(o.change.name, o.status.value, o.message) for o in report.outcomes] == [
        ("shop-a", "failed", report.outcomes[0].message),
        ("shop-b", "skipped", "not started: interrupted"),
        ("shop-old", "skipped", "not started: interrupted"),
    ]
    assert "HTTP 500" in report.outcomes[0].message
    assert seen == [("shop-a", "failed", 1, 3), ("shop-b", "skipped", 2, 3)]
    assert report.interrupted
    assert report.mismatches == ()
    assert [t["objective"] for t in (live_tasks(outsider, n)[0] for n in stems.values())] == [
        "Old."
    ] * 3


def test_a_failed_update_is_reported_once_as_failed_not_as_drift(
    tmp_path: Path, emulator: Any, outsider: TitanClient, serve: Served
) -> None:
    root = write_definitions(tmp_path / "defs", {"a": render_task("shop-a", "Old.")})
    assert run_apply(plan_for(root, outsider), outsider).ok
    write_definitions(root, {"a": render_task("shop-a")})
    injector = FaultInjector(seed=8)
    injector.add(FaultRule(kind="status", method="PATCH", path=f"{TASKS}/*", status=502))
    with serve.client(injector.wrap(emulator)) as client:
        report = run_apply(plan_for(root, client), client)
    assert outcomes(report) == [("update", "shop-a", "failed")]
    assert report.mismatches == ()
    assert "not converged:" not in render_report_text(report)


class LaggingNewTasks:
    """WSGI middleware: a task reads as 404 for its first 0.1 s (read-after-write lag)."""

    def __init__(self, app: WsgiApp) -> None:
        self.app = app
        self.born: dict[str, float] = {}
        self.misses = 0

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        method, path = environ["REQUEST_METHOD"], str(environ.get("PATH_INFO", ""))
        task_id = path.removeprefix(f"{TASKS}/")
        if method == "GET" and time.monotonic() - self.born.get(task_id, 0.0) < 0.1:
            self.misses += 1
            body = b'{"success": false, "error": {"code": "NOT_FOUND", "message": "no task"}}'
            start_response("404 Not Found", [("Content-Type", "application/json")])
            return [body]
        if (method, path) != ("POST", TASKS):
            return self.app(environ, start_response)
        status, headers, document = run_json(self.app, environ)
        self.born[str(document["data"]["id"])] = time.monotonic()
        start_response(status, headers)
        return [json.dumps(document).encode()]


def test_a_new_task_not_readable_yet_is_waited_for_not_reported_missing(
    tmp_path: Path, emulator: Any
) -> None:
    root = write_definitions(tmp_path / "defs", {"a": render_task("shop-a")})
    # The create's answer leaves the objective out, so the new task is read back.
    lagging = LaggingNewTasks(FaultInjector([ANSWER_WITHOUT_OBJECTIVE["POST"]]).wrap(emulator))
    transport = httpx.WSGITransport(app=lagging)
    with TitanClient("http://titan.test", TOKEN, transport=transport) as client:
        report = apply_plan(plan_for(root, client), client)
    assert lagging.misses >= 1
    assert report.ok, render_report_text(report)


class Crowded:
    """WSGI middleware: each create waits up to 0.15 s for others, to see how many run at once."""

    def __init__(self, app: WsgiApp) -> None:
        self.app = app
        self.turn = threading.Condition()
        self.running = 0
        self.peak = 0

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if (environ["REQUEST_METHOD"], environ.get("PATH_INFO")) != ("POST", TASKS):
            return self.app(environ, start_response)
        with self.turn:
            self.running += 1
            self.peak = max(self.peak, self.running)
            self.turn.notify_all()
            self.turn.wait_for(lambda: self.running > 4, timeout=0.15)
        try:
            return list(self.app(environ, start_response))
        finally:
            with self.turn:
                self.running -= 1


def test_apply_runs_four_changes_at_once_by_default(tmp_path: Path, emulator: Any) -> None:
    names = [f"shop-{n}" for n in range(5)]
    root = write_definitions(tmp_path / "defs", {n: render_task(n) for n in names})
    crowded = Crowded(emulator)
    transport = httpx.WSGITransport(app=crowded)
    with TitanClient("http://titan.test", TOKEN, transport=transport) as client:
        report = apply_plan(plan_for(root, client), client)
    assert report.ok, render_report_text(report)
    assert crowded.peak == 4
