"""Stateful property test of the engine: definition edits, live edits and faults, then apply.

A Hypothesis state machine keeps a model of the definitions directory (namespace `ns-`, with
`ns-keep-*` protected), writes it to disk, and plays against an in-process emulator:
definition edits (add, edit a field, rename with `previous_names`, delete), out-of-band live
edits inside and outside the namespace, fault rules armed for the next apply (500 on PATCH, a
dropped POST, a POST that commits and then fails), and apply (plan → apply, possibly failing,
then a fault-free plan → apply).

Invariants: after a successful apply the next plan is empty; tasks outside the namespace are
never modified by the tool; no name is ever live twice; protected tasks are never deleted.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from titan_gitops.apply import apply_plan
from titan_gitops.client import TitanClient
from titan_gitops.emulator import EmulatorConfig, create_app
from titan_gitops.emulator.faults import FaultRule
from titan_gitops.errors import PlanError
from titan_gitops.pipeline import make_plan
from titan_gitops.plan import PlanOptions
from titan_gitops.render.text import render_plan_text

TOKEN = "stateful-token"
NAMESPACE = "ns-"
PROTECTED = "ns-keep-*"
POOL = ("ns-a", "ns-b", "ns-c", "ns-d", "ns-e")
LIVE_ONLY_POOL = ("ns-x", "ns-y")
FOREIGN_POOL = ("other-1", "other-2", "other-3")
OBJECTIVES = ("Extract product names.", "Extract prices.", "Extract stock levels.")
SCHEDULES = ("0 * * * *", "30 6 * * 1-5")
TASK_PATH = "/api/v1/tasks"
MAX_RETRIES = 2
# Deleting every definition is one of the moves; the empty-directory guard is tested elsewhere.
OPTIONS = PlanOptions(allow_empty=True)


def task_body(
    name: str, objective: str = OBJECTIVES[0], schedule: str | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": name,
        "urls": ["https://shop.example/products"],
        "objective": objective,
        "output_schema": {"type": "object", "properties": {"name": {"type": "string"}}},
        "execution_type": "scheduled" if schedule else "single",
    }
    if schedule:
        body["schedule"] = schedule
    return body


def definition_yaml(name: str, spec: dict[str, Any]) -> str:
    lines = [
        "kind: task",
        f"name: {name}",
        "urls: [https://shop.example/products]",
        f"objective: {spec['objective']}",
        "output_schema:",
        "  type: object",
        "  properties:",
        "    name: {type: string}",
    ]
    if spec["schedule"]:
        lines += ["execution_type: scheduled", f'schedule: "{spec["schedule"]}"']
    else:
        lines.append("execution_type: single")
    if spec["previous_names"]:
        lines.append(f"previous_names: [{', '.join(spec['previous_names'])}]")
    return "\n".join(lines) + "\n"


class EngineMachine(RuleBasedStateMachine):
    """Definitions on disk + a live emulator; rules change either side, apply reconciles."""

    def __init__(self) -> None:
        super().__init__()
        self.root = Path(tempfile.mkdtemp(prefix="titan-stateful-"))
        self.app = create_app(EmulatorConfig(db_path=":memory:", tokens={TOKEN: None}))
        self.client = TitanClient(
            "http://titan.test",
            TOKEN,
            transport=httpx.WSGITransport(app=self.app),
            max_retries=MAX_RETRIES,
            # Retries would otherwise sleep; the emulator answers at once, so waiting proves
            # nothing here.
            sleep=lambda _seconds: None,
        )
        # Someone editing tasks in Titan's UI: same service, but no fault rules in the way.
        self.outsider = TitanClient(
            "http://titan.test", TOKEN, transport=httpx.WSGITransport(app=self.app.serve_request)
        )
        # name -> {"objective", "schedule", "previous_names"}
        self.definitions: dict[str, dict[str, Any]] = {}
        # id -> body as last written by someone other than the tool.
        self.foreign: dict[str, dict[str, Any]] = {}
        self.protected_ids: set[str] = set()
        self.faults_armed = False

    def teardown(self) -> None:
        self.client.close()
        self.outsider.close()
        shutil.rmtree(self.root, ignore_errors=True)

    # --- helpers ------------------------------------------------------------------------------

    def write_definitions(self) -> None:
        tasks = self.root / "tasks"
        shutil.rmtree(tasks, ignore_errors=True)
        tasks.mkdir(parents=True)
        (self.root / "titan-gitops.yaml").write_text(
            f"namespace: {NAMESPACE}\nprotected: ['{PROTECTED}']\n", encoding="utf-8"
        )
        for name, spec in self.definitions.items():
            (tasks / f"{name}.yaml").write_text(definition_yaml(name, spec), encoding="utf-8")

    def live(self) -> list[dict[str, Any]]:
        return [r.body() for r in self.outsider.list_tasks()]

    def live_names(self) -> set[str]:
        return {str(b["name"]) for b in self.live()}

    def claimed_names(self) -> set[str]:
        names = set(self.definitions)
        for spec in self.definitions.values():
            names.update(spec["previous_names"])
        return names

    def forget_previous_name(self, name: str) -> None:
        """A name reused by a definition may no longer stand as another one's previous name."""
        for spec in self.definitions.values():
            spec["previous_names"] = [p for p in spec["previous_names"] if p != name]

    def plan(self) -> Any:
        return make_plan(self.root, self.client, OPTIONS, environ={})

    # --- setup --------------------------------------------------------------------------------

    @initialize()
    def seed(self) -> None:
        for name in FOREIGN_POOL[:2]:
            record = self.outsider.create_task(task_body(name)).body()
            self.foreign[str(record["id"])] = record
        kept = self.outsider.create_task(task_body("ns-keep-1")).body()
        self.protected_ids.add(str(kept["id"]))
        self.definitions = {
            "ns-a": {"objective": OBJECTIVES[0], "schedule": None, "previous_names": []}
        }
        self.write_definitions()

    # --- definition edits ---------------------------------------------------------------------

    @rule(name=st.sampled_from(POOL), objective=st.sampled_from(OBJECTIVES))
    def add_definition(self, name: str, objective: str) -> None:
        if name in self.definitions:
            return
        self.forget_previous_name(name)
        self.definitions[name] = {"objective": objective, "schedule": None, "previous_names": []}
        self.write_definitions()

    @precondition(lambda self: bool(self.definitions))
    @rule(
        data=st.data(),
        objective=st.sampled_from(OBJECTIVES),
        schedule=st.sampled_from((None, *SCHEDULES)),
    )
    def edit_definition(self, data: st.DataObject, objective: str, schedule: str | None) -> None:
        name = data.draw(st.sampled_from(sorted(self.definitions)))
        self.definitions[name]["objective"] = objective
        self.definitions[name]["schedule"] = schedule
        self.write_definitions()

    @precondition(lambda self: bool(self.definitions))
    @rule(data=st.data())
    def rename_definition(self, data: st.DataObject) -> None:
        old = data.draw(st.sampled_from(sorted(self.definitions)))
        free = [n for n in POOL if n not in self.claimed_names() and n not in self.live_names()]
        if not free:
            return
        new = data.draw(st.sampled_from(free))
        spec = self.definitions.pop(old)
        spec["previous_names"] = [old]
        self.definitions[new] = spec
        self.write_definitions()

    @precondition(lambda self: bool(self.definitions))
    @rule(data=st.data())
    def delete_definition(self, data: st.DataObject) -> None:
        name = data.draw(st.sampled_from(sorted(self.definitions)))
        del self.definitions[name]
        self.write_definitions()

    # --- out-of-band live edits ---------------------------------------------------------------

    @rule(data=st.data(), objective=st.sampled_from(OBJECTIVES))
    def edit_live_task(self, data: st.DataObject, objective: str) -> None:
        candidates = [b for b in self.live() if str(b["id"]) not in self.protected_ids]
        if not candidates:
            return
        target = data.draw(st.sampled_from(sorted(candidates, key=lambda b: str(b["name"]))))
        record = self.outsider.update_task(str(target["id"]), {"objective": objective}).body()
        if record["id"] in self.foreign:
            self.foreign[str(record["id"])] = record

    @rule(data=st.data())
    def delete_live_task(self, data: st.DataObject) -> None:
        candidates = [b for b in self.live() if str(b["id"]) not in self.protected_ids]
        if not candidates:
            return
        target = data.draw(st.sampled_from(sorted(candidates, key=lambda b: str(b["name"]))))
        self.outsider.delete_task(str(target["id"]))
        self.foreign.pop(str(target["id"]), None)

    @rule(name=st.sampled_from((*POOL, *LIVE_ONLY_POOL, *FOREIGN_POOL)))
    def create_live_task(self, name: str) -> None:
        # Someone else creating a second task with a live name is a plan error by design;
        # this machine checks that the tool never does it, so the outside world does not either.
        if name in self.live_names():
            return
        record = self.outsider.create_task(task_body(name, OBJECTIVES[1])).body()
        if not name.startswith(NAMESPACE):
            self.foreign[str(record["id"])] = record

    # --- faults -------------------------------------------------------------------------------

    @rule(
        kind=st.sampled_from(("patch_500", "post_drop", "post_commit_then_fail")),
        count=st.integers(min_value=1, max_value=MAX_RETRIES + 1),
    )
    def arm_fault(self, kind: str, count: int) -> None:
        if kind == "patch_500":
            rule_ = FaultRule(
                kind="status", status=500, method="PATCH", path=f"{TASK_PATH}/*", count=count
            )
        elif kind == "post_drop":
            rule_ = FaultRule(kind="drop", method="POST", path=TASK_PATH, count=count)
        else:
            rule_ = FaultRule(kind="commit_then_fail", method="POST", path=TASK_PATH, count=1)
        self.app.faults.add(rule_)
        self.faults_armed = True

    # --- apply --------------------------------------------------------------------------------

    @rule()
    def apply(self) -> None:
        if self.faults_armed:
            try:
                plan = self.plan()
            except PlanError:
                plan = None
            if plan is None:
                event("faulted apply: plan refused")
            else:
                # Failing is allowed here; the invariants below still hold for what it did.
                faulted = apply_plan(plan, self.client)
                event(f"faulted apply: {'ok' if faulted.ok else 'failed'}")
            self.app.faults.clear()
            self.faults_armed = False
            self.check_outside_world()
        try:
            plan = self.plan()
        except PlanError:
            # A refused plan writes nothing; the invariants still hold.
            event("apply: plan refused")
            return
        for action in sorted({c.action.value for c in plan.actionable}):
            event(f"apply: {action}")
        report = apply_plan(plan, self.client)
        assert report.ok, report
        again = self.plan()
        assert not again.has_changes, render_plan_text(again)

    # --- invariants ---------------------------------------------------------------------------

    def check_outside_world(self) -> None:
        by_id = {str(b["id"]): b for b in self.live()}
        for task_id, body in self.foreign.items():
            assert by_id.get(task_id) == body, f"a task outside the namespace changed: {task_id}"
        for task_id in self.protected_ids:
            assert task_id in by_id, f"a protected task was deleted: {task_id}"
        names = [str(b["name"]) for b in by_id.values()]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        assert not duplicates, f"names live twice: {duplicates}"

    @invariant()
    def outside_world_is_untouched(self) -> None:
        if not self.faults_armed:
            self.check_outside_world()


FAST = settings(
    max_examples=40,
    stateful_step_count=20,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
SLOW = settings(
    max_examples=300,
    stateful_step_count=40,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


TestEngine = EngineMachine.TestCase
TestEngine.settings = FAST


@pytest.mark.slow
def test_engine_with_more_examples() -> None:
    run_state_machine_as_test(EngineMachine, settings=SLOW)
