"""Golden scenarios: definitions + live state → plan renders → apply → live state after.

Each folder under tests/scenarios/ holds:
  definitions/       the desired state
  live-before.json   tasks seeded into a fresh emulator (a list of task bodies)
  options.json       optional: plan options ({"only": [...], "allow_deletes": 3, ...}) and "env"
  plan.txt, plan.json, plan.md   the expected renders (ids and timestamps replaced by stable tokens)
  error.txt          instead of the renders, when planning must be refused
  live-after.json    the tasks after apply (no ids or timestamps), sorted by name
Every scenario that applies ends with Terraform's strongest check: a fresh plan is empty.

options.json may set "kind" (default "plan"):
  "drift"   definitions are applied first, then live-edits.json is played against the service
            behind git's back (a list of {"op": "update", "name", "set"}, {"op": "delete", "name"}
            or {"op": "create", "body"}); the drift report is checked against drift.txt, drift.md
            and drift.json, then a plan and apply heal it and a second report shows no drift.
  "export"  no definitions/: the live tasks are exported ("namespace" and "only" from
            options.json) and the written files are checked against export.txt; exporting again
            changes nothing, a fresh export is byte-identical, and a plan against it is empty.
  "threeway" a real git repository is built in a temporary folder: base/ is committed as its
            definitions/ directory (commit 1; no base/ means no such directory then) and applied
            to a fresh emulator (live-before.json, when present, is seeded first), live-edits.json
            is played as for "drift", then definitions/ is committed over it (commit 2). With
            --base commit 1 ("base" in options.json names another revision; "shallow": true
            reads from a --depth=1 clone), the drift report (drift.txt/md/json, its exit code
            "drift_exit", and "drift_exit_fail_on_pending" when given) and the plan
            (plan.txt/md/json) are checked; then apply either is refused (apply-error.txt), and
            then allowed to overwrite, or goes ahead; live-after.json, and a fresh plan is empty.
            error.txt instead: the base cannot be read, and no request was made.
            Commit ids show as <commit-1> and <commit-2>.
Run `pytest tests/scenarios --update-goldens` to rewrite the expected files.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from titan_gitops.adopt import AdoptOptions
from titan_gitops.apply import apply_plan
from titan_gitops.client import TitanClient
from titan_gitops.commands.adopt import describe_adoption, write_edit
from titan_gitops.commands.drift import drift_found
from titan_gitops.emulator import EmulatorConfig, create_app
from titan_gitops.errors import BaseUnavailable, LiveEditsRefused, PlanError
from titan_gitops.export import export_tasks
from titan_gitops.fetch import fetch_tasks
from titan_gitops.model import ApplyReport
from titan_gitops.pipeline import make_adoption, make_drift_report, make_plan, run_apply
from titan_gitops.plan import PlanOptions
from titan_gitops.planfile import plan_to_dict, plan_to_json_data, render_plan_json
from titan_gitops.render.markdown import render_plan_markdown
from titan_gitops.render.text import render_plan_text
from titan_gitops.secrets import SecretSet

from .gitrepo import commit_definitions, git, new_repository, shallow_clone

HERE = Path(__file__).parent
SCENARIOS = sorted(
    p
    for p in HERE.iterdir()
    if (p / "definitions").is_dir() or (p / "live-before.json").is_file() or (p / "base").is_dir()
)
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z")
# Times shown to the minute (`changed in Titan at 2026-11-24T09:12Z`).
_MINUTE = re.compile(r"\b\d{4}-\d\d-\d\dT\d\d:\d\dZ")
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
    text = _MINUTE.sub(token("minute"), text)
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


def read_options(folder: Path) -> dict[str, Any]:
    path = folder / "options.json"
    data: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    return data


def plan_options_of(spec: dict[str, Any]) -> PlanOptions:
    return PlanOptions(
        only=tuple(spec.get("only", ())),
        exclude=tuple(spec.get("exclude", ())),
        allow_deletes=spec.get("allow_deletes"),
        allow_empty=bool(spec.get("allow_empty", False)),
    )


def find_task_id(client: TitanClient, name: str) -> str:
    ids = [str(r.body()["id"]) for r in client.list_tasks() if r.body().get("name") == name]
    assert len(ids) == 1, f"live-edits.json names {name!r}, which is live {len(ids)} times"
    return ids[0]


def play_live_edits(client: TitanClient, edits: list[dict[str, Any]]) -> None:
    """Change live tasks the way a person clicking in Titan's UI would: behind git's back."""
    for edit in edits:
        if edit["op"] == "update":
            client.update_task(find_task_id(client, edit["name"]), edit["set"])
        elif edit["op"] == "delete":
            client.delete_task(find_task_id(client, edit["name"]))
        elif edit["op"] == "create":
            client.create_task(edit["body"])
        else:
            raise AssertionError(f"unknown live edit {edit['op']!r}")


def render_drift_json(report: Any) -> str:
    """What `titan-gitops drift --output json` prints."""
    data = {"drift": report.has_changes, **plan_to_dict(report)}
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def snapshot_files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def apply_cleanly(plan: Any, client: TitanClient) -> ApplyReport:
    report = apply_plan(plan, client)
    assert report.ok, report
    return report


def run_drift_scenario(
    folder: Path, client: TitanClient, spec: dict[str, Any], env: dict[str, str], update: bool
) -> None:
    root = Path("definitions")
    options = plan_options_of(spec)
    apply_cleanly(make_plan(root, client, options, environ=env), client)
    in_sync = make_drift_report(root, client, environ=env)
    assert not in_sync.has_changes, render_plan_text(in_sync, drift=True)
    play_live_edits(client, json.loads((folder / "live-edits.json").read_text()))
    report = make_drift_report(root, client, environ=env, target="scenario")
    assert report.has_changes, "the live edits should show as drift"
    check_golden(folder / "drift.txt", stabilise(render_plan_text(report, drift=True)), update)
    markdown = render_plan_markdown(report, title="titan-gitops drift", drift=True)
    check_golden(folder / "drift.md", stabilise(markdown), update)
    check_golden(folder / "drift.json", stabilise(render_drift_json(report)), update)
    # Healing the drift is an ordinary plan and apply; then the report is clean again.
    apply_cleanly(make_plan(root, client, options, environ=env), client)
    check_golden(folder / "live-after.json", live_snapshot(client), update)
    healed = make_drift_report(root, client, environ=env)
    assert not healed.has_changes, render_plan_text(healed, drift=True)


def run_export_scenario(
    folder: Path, client: TitanClient, spec: dict[str, Any], tmp_path: Path, update: bool
) -> None:
    namespace = spec.get("namespace")
    only = tuple(spec.get("only", ()))
    before = live_snapshot(client)
    out = tmp_path / "exported"
    report = export_tasks(
        fetch_tasks(client), out, namespace=namespace, only=only, secrets=SecretSet()
    )
    files = snapshot_files(out)
    assert report.tasks == len(files) - 1  # one file per task, plus titan-gitops.yaml
    listing = "".join(
        f"=== {name} ===\n{data.decode('utf-8')}" for name, data in sorted(files.items())
    )
    check_golden(folder / "export.txt", stabilise(listing), update)
    # Exporting twice gives the same bytes, in place and into a fresh directory.
    again = export_tasks(
        fetch_tasks(client), out, namespace=namespace, only=only, secrets=SecretSet()
    )
    assert again.written == ()
    assert snapshot_files(out) == files
    fresh = tmp_path / "fresh"
    export_tasks(fetch_tasks(client), fresh, namespace=namespace, only=only, secrets=SecretSet())
    assert snapshot_files(fresh) == files
    # The round trip: a plan against what was exported has nothing to do.
    plan = make_plan(out, client, plan_options_of(spec), environ={})
    assert not plan.has_changes, render_plan_text(plan)
    assert live_snapshot(client) == before


class CountingApp:
    """The emulator, counting the requests made to it."""

    def __init__(self, app: Any) -> None:
        self.app, self.requests = app, 0

    def __call__(self, environ: Any, start_response: Any) -> Any:
        self.requests += 1
        return self.app(environ, start_response)


def name_commits(text: str, commits: list[str]) -> str:
    """Each commit id (whole, or cut to 12 or 7 characters) as <commit-N>."""
    for number, sha in enumerate(commits, 1):
        for width in (40, 12, 7):
            text = text.replace(sha[:width], f"<commit-{number}>")
    return text


def run_threeway_scenario(
    folder: Path,
    spec: dict[str, Any],
    env: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    update: bool,
) -> None:
    app = CountingApp(create_app(EmulatorConfig(db_path=":memory:", tokens={"t": None})))
    with TitanClient("http://titan.test", "t", transport=httpx.WSGITransport(app=app)) as client:
        repo = new_repository(tmp_path / "origin")
        base_dir = folder / "base"
        first = commit_definitions(repo, base_dir if base_dir.is_dir() else None, "Apply", 1)
        if (folder / "live-before.json").is_file():
            for body in json.loads((folder / "live-before.json").read_text()):
                client.create_task(body)
        monkeypatch.chdir(repo)
        root, options = Path("definitions"), plan_options_of(spec)
        if base_dir.is_dir():
            apply_cleanly(make_plan(root, client, options, environ=env), client)
        if (folder / "live-edits.json").is_file():
            play_live_edits(client, json.loads((folder / "live-edits.json").read_text()))
        second = commit_definitions(repo, folder / "definitions", "Change the tasks", 2)
        if spec.get("shallow"):
            monkeypatch.chdir(shallow_clone(repo, tmp_path / "clone"))
        options = replace(options, base=spec.get("base", first))

        def golden(name: str, text: str) -> None:
            check_golden(folder / name, name_commits(stabilise(text), [first, second]), update)

        if (folder / "error.txt").exists() or spec.get("expect_error"):
            check_unreadable_base(root, client, app, options, env, golden)
            return
        check_threeway_reports(folder, root, client, options, env, spec, golden)
        if "adopt" in spec:
            check_adoption(repo, root, client, options, env, spec["adopt"], golden)
        check_threeway_apply(folder, root, client, options, env, spec, golden)


def check_unreadable_base(
    root: Path, client: TitanClient, app: CountingApp, options: PlanOptions, env: Any, golden: Any
) -> None:
    """Plan and drift stop at the base, before a single request."""
    before = app.requests
    with pytest.raises(BaseUnavailable) as err:
        make_plan(root, client, options, environ=env)
    golden("error.txt", str(err.value) + "\n")
    with pytest.raises(BaseUnavailable) as again:
        make_drift_report(root, client, environ=env, base=options.base)
    assert str(again.value) == str(err.value)
    assert app.requests == before, "a base git cannot read must cost no request"


def check_threeway_reports(
    folder: Path,
    root: Path,
    client: TitanClient,
    options: PlanOptions,
    env: dict[str, str],
    spec: dict[str, Any],
    golden: Any,
) -> None:
    report = make_drift_report(root, client, environ=env, target="scenario", base=options.base)
    golden("drift.txt", render_plan_text(report, drift=True))
    golden("drift.md", render_plan_markdown(report, title="titan-gitops drift", drift=True))
    # What `titan-gitops drift --output json` prints.
    data = {"drift": drift_found(report), **plan_to_json_data(report)}
    golden("drift.json", json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    assert (2 if drift_found(report) else 0) == spec["drift_exit"], "drift's exit code"
    if "drift_exit_fail_on_pending" in spec:
        found = drift_found(report, fail_on_pending=True)
        assert (2 if found else 0) == spec["drift_exit_fail_on_pending"]
    plan = make_plan(root, client, options, environ=env, target="scenario")
    golden("plan.txt", render_plan_text(plan))
    golden("plan.json", render_plan_json(plan))
    golden("plan.md", render_plan_markdown(plan))


def check_adoption(
    repo: Path,
    root: Path,
    client: TitanClient,
    options: PlanOptions,
    env: dict[str, str],
    flags: dict[str, bool],
    golden: Any,
) -> None:
    """adopt: the diff of every file it writes and what it says are the goldens; written, the
    definitions validate and a plan shows no change for the adopted tasks. The files are put
    back after, for the apply that follows."""
    report = make_adoption(
        root,
        client,
        options,
        AdoptOptions(**flags),
        environ=env,
        secrets=SecretSet.from_environ(env),
    )
    golden("adopt.diff", "".join(edit.unified_diff() for edit in report.edits))
    golden("adopt.txt", describe_adoption(report, dry_run=False))
    for edit in report.edits:
        write_edit(edit)
    try:
        plan = make_plan(root, client, replace(options, base=None), environ=env)
        # No adopted field still differs from Titan (a merge not yet applied still may).
        adopted = {a.name: set(a.fields) for a in report.adopted if a.how == "edited"}
        left = [
            (c.name, f.path)
            for c in plan.actionable
            for f in c.fields
            if f.pointer.split("/")[1] in adopted.get(c.name, set())
        ]
        assert left == [], render_plan_text(plan)
        gone = {a.name for a in report.adopted if a.how != "edited"}
        assert not [c.name for c in plan.actionable if c.name in gone], render_plan_text(plan)
    finally:
        git(repo, "checkout", "-q", "--", ".")
        git(repo, "clean", "-q", "-fd")


def check_threeway_apply(
    folder: Path,
    root: Path,
    client: TitanClient,
    options: PlanOptions,
    env: dict[str, str],
    spec: dict[str, Any],
    golden: Any,
) -> None:
    """Apply refuses to throw a live edit away, unless told to; then live is as git says."""
    plan = make_plan(root, client, options, environ=env)
    if (folder / "apply-error.txt").exists() or spec.get("expect_refused"):
        before = live_snapshot(client)
        with pytest.raises(LiveEditsRefused) as err:
            run_apply(plan, client)
        golden("apply-error.txt", str(err.value) + "\n")
        assert live_snapshot(client) == before, "a refused apply changes nothing"
        options = replace(options, overwrite_live_edits=True)
        plan = make_plan(root, client, options, environ=env)
    assert run_apply(plan, client).ok
    golden("live-after.json", live_snapshot(client))
    again = make_plan(root, client, options, environ=env)
    assert not again.has_changes, render_plan_text(again)


@pytest.mark.parametrize("folder", SCENARIOS, ids=[p.name for p in SCENARIOS])
def test_scenario(
    folder: Path,
    client: TitanClient,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    update = bool(request.config.getoption("--update-goldens"))
    spec = read_options(folder)
    env = {str(k): str(v) for k, v in spec.pop("env", {}).items()}
    kind = spec.pop("kind", "plan")
    if kind == "threeway":
        run_threeway_scenario(folder, spec, env, tmp_path, monkeypatch, update)
        return
    for body in json.loads((folder / "live-before.json").read_text()):
        client.create_task(body)
    options = plan_options_of(spec)
    monkeypatch.chdir(folder)
    if kind == "export":
        run_export_scenario(folder, client, spec, tmp_path, update)
        return
    if kind == "drift":
        run_drift_scenario(folder, client, spec, env, update)
        return
    assert kind == "plan", f"unknown scenario kind {kind!r}"
    definitions = folder / "definitions"
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
    apply_cleanly(plan, client)
    check_golden(folder / "live-after.json", live_snapshot(client), update)
    if not plan.filtered:
        again = make_plan(Path("definitions"), client, options, environ=env)
        assert not again.has_changes, render_plan_text(again)
    assert definitions.is_dir()
