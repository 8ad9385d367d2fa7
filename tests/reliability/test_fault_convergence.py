"""Plan/apply of a 20-change set under every fault kind converges within two applies, safely.

Each scenario seeds an emulator with 19 managed tasks (`ns-` namespace), two foreign tasks and
one protected task, then changes the definitions by 6 creates, 6 updates, 4 renames and 4
deletes. Faults are armed for the first apply only; the second apply runs clean; a third plan
must be empty. A recording WSGI wrapper sees every request, so the checks are on the wire:
no duplicate names, no write to a foreign or protected id, no DELETE after a failed change,
and no POST of a name re-sent without a task listing in between.
"""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

import httpx
import pytest

from testing.emulator import start_background_server
from tests.reliability.counts import add_count, raise_peak
from titan_gitops.client import TitanClient
from titan_gitops.emulator import EmulatorConfig, create_app
from titan_gitops.emulator.faults import FaultInjector, FaultRule
from titan_gitops.errors import StalePlan, TitanGitopsError
from titan_gitops.model import Action, ApplyReport, Status
from titan_gitops.pipeline import make_plan, run_apply
from titan_gitops.plan import PlanOptions

TOKEN = "reliability-token-3f9a"
TASKS = "/api/v1/tasks"
OPTIONS = PlanOptions(allow_deletes=20)
KEPT = [f"ns-t{n:02d}" for n in range(15)]
EXTRA = [f"ns-old-{n}" for n in range(4)]
FOREIGN = ["other-1", "other-2"]
PROTECTED = "ns-keep-1"

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


# --- definitions ------------------------------------------------------------------------------


def render_task(name: str, objective: str, previous: str | None = None) -> str:
    text = (
        f"kind: task\nname: {name}\nurls: [https://shop.example/{name}]\n"
        f"objective: {objective}\noutput_schema:\n  type: object\n"
        "  properties:\n    price: {type: number}\nexecution_type: single\n"
    )
    return text + (f"previous_names: [{previous}]\n" if previous else "")


def write_definitions(root: Path, tasks: dict[str, str]) -> None:
    folder = root / "tasks"
    if folder.exists():
        for old in folder.iterdir():
            old.unlink()
    folder.mkdir(parents=True, exist_ok=True)
    (root / "titan-gitops.yaml").write_text(
        "namespace: ns-\nprotected: ['ns-keep-*']\nmax_deletes: 20\n", encoding="utf-8"
    )
    for name, text in tasks.items():
        (folder / f"{name}.yaml").write_text(text, encoding="utf-8")


def starting_definitions() -> dict[str, str]:
    return {n: render_task(n, "Extract prices.") for n in KEPT + EXTRA}


def changed_definitions() -> dict[str, str]:
    """6 creates, 6 updates, 4 renames, 4 deletes (ns-old-*), 5 untouched."""
    tasks = {n: render_task(n, "Extract prices.") for n in KEPT[10:]}
    tasks |= {n: render_task(n, "Extract prices and stock.") for n in KEPT[:6]}
    tasks |= {f"ns-r{n:02d}": render_task(f"ns-r{n:02d}", "Extract prices.", f"ns-t{n:02d}")
              for n in range(6, 10)}  # fmt: skip
    tasks |= {f"ns-new-{n}": render_task(f"ns-new-{n}", "Extract reviews.") for n in range(6)}
    return tasks


# --- WSGI wrappers ----------------------------------------------------------------------------


@dataclass
class Request:
    method: str
    path: str
    name: str | None
    status: int | None = None  # None: no answer reached the client (connection dropped)


@dataclass
class Recorder:
    """Logs every request as the client sent it (method, path, and a POST body's name)."""

    app: WsgiApp
    log: list[Request] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    in_flight: int = 0

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        method = str(environ["REQUEST_METHOD"])
        name = None
        if method == "POST":
            body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            environ["wsgi.input"] = io.BytesIO(body)
            try:
                name = str(json.loads(body).get("name"))
            except (ValueError, AttributeError):
                name = None
        seen = Request(method, str(environ.get("PATH_INFO", "")), name)
        with self.lock:
            self.log.append(seen)
            self.in_flight += 1

        def note_status(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            seen.status = int(status.split()[0])
            return start_response(status, headers, exc_info)

        try:
            return self.app(environ, note_status)
        finally:
            with self.lock:
                self.in_flight -= 1

    def wait_until_idle(self) -> None:
        """Wait for requests the client gave up on (timeouts) to finish on the server."""
        for _ in range(200):
            with self.lock:
                if self.in_flight == 0:
                    return
            time.sleep(0.02)
        raise AssertionError("the server is still busy 4 s after the apply")


@dataclass
class PageDrift:
    """Shrinks task pages to 5 items; while armed, a task is created out of band between pages."""

    app: WsgiApp
    outsider: TitanClient
    armed: int = 0
    fired: int = 0
    created: list[str] = field(default_factory=list)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if environ["REQUEST_METHOD"] == "GET" and environ.get("PATH_INFO") == TASKS:
            query = parse_qs(str(environ.get("QUERY_STRING", "")))
            query["limit"] = ["5"]
            environ["QUERY_STRING"] = urlencode(query, doseq=True)
            if self.armed and int(query.get("offset", ["0"])[0]) > 0:
                self.armed -= 1
                self.fired += 1
                name = f"other-drift-{self.fired}"
                record = self.outsider.create_task(foreign_body(name)).body()
                self.created.append(str(record["id"]))
        return self.app(environ, start_response)


@dataclass
class LaggingRead:
    """While armed, the first GET of a just-created task answers 404 (eventual consistency)."""

    app: WsgiApp
    armed: int = 0
    fired: int = 0
    fresh: set[str] = field(default_factory=set)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        method, path = environ["REQUEST_METHOD"], str(environ.get("PATH_INFO", ""))
        task_id = path.removeprefix(TASKS + "/")
        if method == "GET" and path.startswith(TASKS + "/") and task_id in self.fresh:
            self.fresh.discard(task_id)
            self.fired += 1
            body = b'{"success": false, "error": {"code": "NOT_FOUND", "message": "no such task"}}'
            start_response("404 Not Found", [("Content-Type", "application/json")])
            return [body]
        if not (method == "POST" and path == TASKS and self.armed):
            return self.app(environ, start_response)
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured["status"], captured["headers"] = status, headers
            return lambda _data: None

        payload = b"".join(self.app(environ, capture))
        if captured["status"].startswith("201"):
            self.armed -= 1
            self.fresh.add(str(json.loads(payload)["data"]["id"]))
        start_response(captured["status"], captured["headers"])
        return [payload]


# --- the service ------------------------------------------------------------------------------


def foreign_body(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "urls": ["https://elsewhere.example/"],
        "objective": "Made by hand.",
        "output_schema": {"type": "object"},
        "execution_type": "single",
    }


@dataclass
class Service:
    """One emulator, its fault layers, a recording client and an unfaulted outsider."""

    root: Path
    injector: FaultInjector
    drift: PageDrift
    lag: LaggingRead
    recorder: Recorder
    client: TitanClient
    outsider: TitanClient
    foreign_ids: dict[str, dict[str, Any]]
    protected_id: str
    armed_total: int = 0

    def live(self) -> list[dict[str, Any]]:
        return [r.body() for r in self.outsider.list_tasks()]

    def apply_once(self) -> ApplyReport | None:
        """Plan and apply; None when either step raised a TitanGitopsError."""
        try:
            plan = make_plan(self.root, self.client, OPTIONS, environ={})
            return run_apply(plan, self.client)
        except TitanGitopsError:
            return None


@pytest.fixture
def service(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Service]:
    over_socket = getattr(request, "param", False)
    app = create_app(EmulatorConfig(db_path=":memory:", tokens={TOKEN: None}))
    outsider = TitanClient(
        "http://titan.test", TOKEN, transport=httpx.WSGITransport(app=app.serve_request)
    )
    injector = FaultInjector(seed=11)
    lag = LaggingRead(injector.wrap(app.serve_request))
    drift = PageDrift(lag, outsider)
    recorder = Recorder(drift)
    settings: dict[str, Any] = {"max_retries": 3, "sleep": lambda _s: None}
    server = None
    if over_socket:
        server, url = start_background_server(recorder)
        client = TitanClient(url, TOKEN, timeout=0.25, backoff_base=0.01, backoff_cap=0.02)
    else:
        client = TitanClient(
            "http://titan.test", TOKEN, transport=httpx.WSGITransport(app=recorder), **settings
        )
    foreign = {}
    for name in FOREIGN:
        record = outsider.create_task(foreign_body(name)).body()
        foreign[str(record["id"])] = record
    protected = outsider.create_task(foreign_body(PROTECTED)).body()
    write_definitions(tmp_path, starting_definitions())
    built = Service(
        tmp_path, injector, drift, lag, recorder, client, outsider, foreign, str(protected["id"])
    )
    first = built.apply_once()
    assert first is not None
    assert first.converged
    write_definitions(tmp_path, changed_definitions())
    recorder.log.clear()
    try:
        yield built
    finally:
        client.close()
        outsider.close()
        if server is not None:
            server.shutdown()


# --- the scenarios ----------------------------------------------------------------------------

WRITE = ("POST", "PATCH", "DELETE")


def rules_for(kind: str) -> list[FaultRule]:
    """The fault rules of one scenario (every rule count-limited, so firings can be counted)."""
    any_task = f"{TASKS}*"
    if kind == "429-with-reset":
        return [FaultRule(kind="rate_limit", path=any_task, fraction=0.5, count=8)]
    if kind == "429-without-reset":
        return [
            FaultRule(kind="rate_limit", path=any_task, fraction=0.5, count=8, with_reset=False)
        ]
    if kind.startswith("status-"):
        status = int(kind.removeprefix("status-"))
        return [FaultRule(kind="status", status=status, path=any_task, fraction=0.4, count=8)]
    method = kind.rsplit("-", 1)[1].upper()
    path = TASKS if method == "POST" else f"{TASKS}/*"
    if kind.startswith("reset-before-commit"):
        return [FaultRule(kind="drop", method=method, path=path, count=3)]
    if kind.startswith("reset-after-commit"):
        return [FaultRule(kind="commit_then_fail", after="drop", method=method, path=path, count=3)]
    if kind.startswith("500-after-commit"):
        return [FaultRule(kind="commit_then_fail", method=method, path=path, count=3)]
    if kind.startswith("truncated"):
        return [FaultRule(kind="truncate", method=method, path=path, count=3)]
    if kind.startswith("non-json"):
        return [FaultRule(kind="non_json", method=method, path=path, count=3)]
    if kind.startswith("read-timeout"):
        return [FaultRule(kind="latency", latency_ms=600, method=method, path=path, count=3)]
    raise AssertionError(kind)


RULE_KINDS = [
    "429-with-reset",
    "429-without-reset",
    "status-500",
    "status-502",
    "status-503",
    "status-504",
    *(f"{k}-{m}" for k in ("reset-before-commit", "reset-after-commit") for m in WRITE),
    *(f"500-after-commit-{m}" for m in WRITE),
    "truncated-get",
    "truncated-post",
    "truncated-patch",
    "non-json-get",
    "non-json-post",
    "non-json-delete",
]
TIMEOUT_KINDS = ["read-timeout-get", "read-timeout-patch", "read-timeout-delete"]


def check_safety(service: Service, first: ApplyReport | None, first_log: list[Request]) -> None:
    """The invariants every scenario must keep, counted for the report card as they are checked."""
    log = service.recorder.log
    live = service.live()
    names = [str(t["name"]) for t in live]
    duplicates = len(names) - len(set(names))
    add_count("dup_creates", duplicates)
    assert duplicates == 0, sorted(names)

    foreign_ids = set(service.foreign_ids) | set(service.drift.created)
    by_id = {str(t["id"]): t for t in live}
    touched = [
        r
        for r in log
        if r.method in ("PATCH", "PUT", "DELETE") and r.path.split("/")[-1] in foreign_ids
    ]
    touched_ids = {i for i in service.foreign_ids if by_id.get(i) != service.foreign_ids[i]}
    touched_ids |= {i for i in service.drift.created if i not in by_id}
    add_count("foreign_touched", len(touched) + len(touched_ids))
    assert not touched
    assert not touched_ids

    protected_gone = service.protected_id not in by_id or any(
        r.method == "DELETE" and r.path.endswith("/" + service.protected_id) for r in log
    )
    add_count("protected_deleted", int(protected_gone))
    assert not protected_gone

    partial = first is not None and any(
        o.status is Status.FAILED and o.change.action is not Action.DELETE for o in first.outcomes
    )
    late = sum(1 for r in first_log if r.method == "DELETE") if partial else 0
    add_count("partial_failures", int(partial))
    add_count("deletes_after_failure", late)
    assert late == 0

    # A POST answered 429 was refused before processing, so sending it again is safe.
    blind = 0
    last_post: dict[str, int] = {}
    last_list = -1
    for position, req in enumerate(log):
        if req.method == "GET" and req.path == TASKS:
            last_list = position
        if req.method == "POST" and req.name is not None:
            if req.name in last_post and last_list < last_post[req.name]:
                blind += 1
            if req.status != 429:
                last_post[req.name] = position
    add_count("blind_post_resends", blind)
    assert blind == 0


def run_scenario(service: Service) -> None:
    """Apply with faults armed, apply again clean, then plan: it must be empty."""
    add_count("runs")
    first = service.apply_once()
    # A request the client timed out on may still commit; judge the state only after it did.
    service.recorder.wait_until_idle()
    first_log = list(service.recorder.log)
    armed = sum(r.count or 0 for r in service.injector.rules())
    fired = service.drift.fired + service.lag.fired + service.armed_total - armed
    add_count("faults", fired)
    assert fired > 0, "no fault fired: the scenario proves nothing"
    service.injector.clear()
    service.drift.armed = service.lag.armed = 0
    applies, converged = 1, True
    if first is None or not first.converged:
        second = service.apply_once()
        service.recorder.wait_until_idle()
        applies, converged = 2, second is not None and second.converged
    try:
        final = make_plan(service.root, service.client, OPTIONS, environ={})
        converged = converged and not final.has_changes
    except TitanGitopsError:
        converged = False
    add_count("converged", int(converged))
    raise_peak("max_applies_to_converge", applies if converged else applies + 1)
    check_safety(service, first, first_log)
    assert converged
    names = {str(t["name"]) for t in service.live()}
    assert set(changed_definitions()) <= names
    assert not names & set(EXTRA)


def arm(service: Service, rules: list[FaultRule]) -> None:
    for rule in rules:
        service.injector.add(rule)
    service.armed_total = sum(r.count or 0 for r in rules)


@pytest.mark.parametrize("kind", RULE_KINDS)
def test_a_fault_kind_converges_within_two_applies(service: Service, kind: str) -> None:
    arm(service, rules_for(kind))
    run_scenario(service)


@pytest.mark.parametrize("service", [True], indirect=True, ids=["socket"])
@pytest.mark.parametrize("kind", TIMEOUT_KINDS)
def test_a_read_timeout_converges_within_two_applies(service: Service, kind: str) -> None:
    arm(service, rules_for(kind))
    run_scenario(service)


@pytest.mark.parametrize("service", [True], indirect=True, ids=["socket"])
def test_a_read_timeout_on_create_converges_without_a_duplicate(service: Service) -> None:
    arm(service, rules_for("read-timeout-post"))
    run_scenario(service)


def test_the_listing_changing_between_pages_converges(service: Service) -> None:
    arm(service, [])
    service.drift.armed = 2
    run_scenario(service)
    assert service.drift.fired >= 1


def test_a_404_right_after_a_create_converges(service: Service) -> None:
    # Each create is answered without its objective, so it is read back and meets the lag.
    arm(service, [FaultRule(kind="drop_field", field="objective", method="POST", path=TASKS)])
    service.lag.armed = 6
    run_scenario(service)
    assert service.lag.fired >= 1


def stale_edit(service: Service) -> None:
    target = next(t for t in service.live() if t["name"] == "ns-t00")
    service.outsider.update_task(str(target["id"]), {"objective": "Edited in the UI."})


def stale_delete(service: Service) -> None:
    target = next(t for t in service.live() if t["name"] == "ns-t12")
    service.outsider.delete_task(str(target["id"]))


def stale_create(service: Service) -> None:
    service.outsider.create_task(foreign_body("ns-new-0"))


@pytest.mark.parametrize(
    "move", [stale_edit, stale_delete, stale_create], ids=["edit", "delete", "create"]
)
def test_live_moving_between_plan_and_apply_is_rejected_then_converges(
    service: Service, move: Callable[[Service], None]
) -> None:
    plan = make_plan(service.root, service.client, OPTIONS, environ={})
    move(service)
    writes_before = sum(1 for r in service.recorder.log if r.method in WRITE)
    add_count("stale_total")
    with pytest.raises(StalePlan):
        run_apply(plan, service.client)
    add_count("stale_rejected")
    assert sum(1 for r in service.recorder.log if r.method in WRITE) == writes_before
    second = service.apply_once()
    assert second is not None
    assert second.converged
    final = make_plan(service.root, service.client, OPTIONS, environ={})
    assert not final.has_changes
    check_safety(service, None, [])
