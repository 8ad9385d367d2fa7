"""Golden scenarios: definitions + live state → plan renders → apply → live state after.

Each folder under tests/scenarios/ holds:
  definitions/       the desired state
  live-before.json   tasks seeded into a fresh emulator (a list of task bodies)
  options.json       optional: plan options ({"only": [...], "allow_deletes": 3, ...}) and "env"
  plan.txt, plan.json, plan.md   the expected renders (ids and timestamps replaced by stable tokens)
  error.txt          instead of the renders, when planning must be refused
  live-after.json    the tasks after apply (no ids or timestamps), sorted by name
Every scenario that applies ends with Terraform's strongest check: a fresh plan is empty.
Run `pytest tests/scenarios --update-goldens` to rewrite the expected files.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from titan_gitops.apply import apply_plan
from titan_gitops.client import TitanClient
from titan_gitops.emulator import EmulatorConfig, create_app
from titan_gitops.errors import PlanError
from titan_gitops.pipeline import make_plan
from titan_gitops.plan import PlanOptions
from titan_gitops.render.markdown import render_plan_markdown
from titan_gitops.render.plan_json import render_plan_json
from titan_gitops.render.text import render_plan_text

HERE = Path(__file__).parent
SCENARIOS = sorted(p for p in HERE.iterdir() if (p / "definitions").is_dir())
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z")
_HEX64 = re.compile(r"\b[0-9a-f]{64}\b")
SERVER_FIELDS = ("id", "status", "created_at", "updated_at")


def stabilise(text: str) -> str:
    """Replace ids, timestamps and digests by tokens numbered in order of appearance."""
    seen: dict[str, str] = {}

    def token(kind: str) -> Any:
        def sub(match: re.Match[str]) -> str:
            value = match.group(0)
            if value not in seen:
                seen[value] = (
                    f"<{kind}-{sum(1 for v in seen.values() if v.startswith('<' + kind)) + 1}>"
                )
            return seen[value]

        return sub

    text = _UUID.sub(token("id"), text)
    text = _TIME.sub(token("time"), text)
    return _HEX64.sub(token("sha"), text)


def check_golden(path: Path, actual: str, update: bool) -> None:
    if update or not path.exists():
        path.write_text(actual, encoding="utf-8")
        if not update:
            pytest.fail(f"{path.name} did not exist; written now: review it and run again")
        return
    assert actual == path.read_text(encoding="utf-8"), f"{path} differs (--update-goldens)"


def live_snapshot(client: TitanClient) -> str:
    tasks = []
    for record in client.list_tasks():
        body = {k: v for k, v in record.body().items() if k not in SERVER_FIELDS}
        tasks.append(body)
    tasks.sort(key=lambda t: str(t.get("name")))
    return json.dumps(tasks, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


@pytest.fixture
def client() -> Any:
    app = create_app(EmulatorConfig(db_path=":memory:", tokens={"scenario-token": None}))
    with TitanClient(
        "http://titan.test", "scenario-token", transport=httpx.WSGITransport(app=app)
    ) as c:
        yield c


@pytest.mark.parametrize("folder", SCENARIOS, ids=[p.name for p in SCENARIOS])
def test_scenario(
    folder: Path,
    client: TitanClient,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    update = bool(request.config.getoption("--update-goldens"))
    for body in json.loads((folder / "live-before.json").read_text()):
        client.create_task(body)
    spec = (
        json.loads((folder / "options.json").read_text())
        if (folder / "options.json").exists()
        else {}
    )
    env = {str(k): str(v) for k, v in spec.pop("env", {}).items()}
    options = PlanOptions(
        only=tuple(spec.get("only", ())),
        exclude=tuple(spec.get("exclude", ())),
        allow_deletes=spec.get("allow_deletes"),
        allow_empty=bool(spec.get("allow_empty", False)),
    )
    definitions = folder / "definitions"
    monkeypatch.chdir(folder)
    if (folder / "error.txt").exists() or spec.get("expect_error"):
        with pytest.raises(PlanError) as err:
            make_plan(Path("definitions"), client, options, environ=env)
        check_golden(folder / "error.txt", stabilise(str(err.value)) + "\n", update)
        return
    plan = make_plan(Path("definitions"), client, options, environ=env, target="scenario")
    check_golden(folder / "plan.txt", stabilise(render_plan_text(plan)), update)
    check_golden(folder / "plan.json", stabilise(render_plan_json(plan)), update)
    check_golden(folder / "plan.md", stabilise(render_plan_markdown(plan)), update)
    for secret in env.values():
        for rendered in (
            render_plan_text(plan),
            render_plan_json(plan),
            render_plan_markdown(plan),
        ):
            assert secret not in rendered
    report = apply_plan(plan, client)
    assert report.ok, report
    check_golden(folder / "live-after.json", live_snapshot(client), update)
    if not plan.filtered:
        again = make_plan(Path("definitions"), client, options, environ=env)
        assert not again.has_changes, render_plan_text(again)
    assert definitions.is_dir()
