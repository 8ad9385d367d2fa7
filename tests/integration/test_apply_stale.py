"""A saved plan is applied only while the live tasks it read are unchanged (issue 6)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from titan_gitops.client import TitanClient
from titan_gitops.errors import StalePlan
from titan_gitops.model import Action, Plan
from titan_gitops.pipeline import make_plan, run_apply
from titan_gitops.planfile import read_plan_file, write_plan_file
from titan_gitops.render.text import render_plan_text
from titan_gitops.secrets import SecretSet

from .conftest import live_names, render_task, task_body, write_definitions

SECRET = "canary-account-51d9e0"
OTHER_SECRET = "canary-account-0b77aa"


def save_and_reload(plan: Plan, path: Path) -> Plan:
    """Round-trip a plan through the saved-plan file, as `plan --out` / `apply --plan` do."""
    write_plan_file(path, plan, secrets=SecretSet())
    return read_plan_file(path)


def find_id(client: TitanClient, name: str) -> str:
    ids = [str(r.body()["id"]) for r in client.list_tasks() if r.body().get("name") == name]
    assert len(ids) == 1, ids
    return ids[0]


def converge(root: Path, client: TitanClient) -> None:
    """Apply the definitions under `root` so the service matches them."""
    report = run_apply(make_plan(root, client, environ={}), client, environ={})
    assert report.ok, report


@pytest.fixture
def synced(tmp_path: Path, client: TitanClient) -> tuple[Path, Plan]:
    """shop-a and shop-b live and in sync; then shop-a edited in git; the saved plan updates it."""
    root = write_definitions(
        tmp_path / "defs", {"a": render_task("shop-a"), "b": render_task("shop-b")}
    )
    converge(root, client)
    write_definitions(root, {"a": render_task("shop-a", "Extract names, prices and stock.")})
    plan = save_and_reload(make_plan(root, client, environ={}), tmp_path / "plan.json")
    assert [(c.action, c.name) for c in plan.actionable] == [(Action.UPDATE, "shop-a")]
    return root, plan


def test_task_edited_out_of_band_makes_the_plan_stale(
    synced: tuple[Path, Plan], client: TitanClient
) -> None:
    _, plan = synced
    task_id = find_id(client, "shop-a")
    client.update_task(task_id, {"objective": "Changed in the UI."})
    with pytest.raises(StalePlan) as err:
        run_apply(plan, client, environ={})
    message = str(err.value)
    assert f"task 'shop-a' (id {task_id}) was changed" in message
    assert "shop-b" not in message
    assert "Run plan again" in message
    # Nothing was written: the out-of-band edit survives.
    assert client.get_task(task_id).body()["objective"] == "Changed in the UI."


def test_task_deleted_out_of_band_makes_the_plan_stale(
    synced: tuple[Path, Plan], client: TitanClient
) -> None:
    _, plan = synced
    task_id = find_id(client, "shop-b")
    client.delete_task(task_id)
    with pytest.raises(StalePlan) as err:
        run_apply(plan, client, environ={})
    assert f"task 'shop-b' (id {task_id}) no longer exists" in str(err.value)
    assert live_names(client) == ["shop-a"]


def test_new_stray_task_in_the_namespace_makes_the_plan_stale(
    synced: tuple[Path, Plan], client: TitanClient
) -> None:
    _, plan = synced
    stray = client.create_task(task_body("shop-stray"))
    with pytest.raises(StalePlan) as err:
        run_apply(plan, client, environ={})
    stray_id = stray.body()["id"]
    assert f"task 'shop-stray' (id {stray_id}) appeared in the plan's scope" in str(err.value)


def test_task_outside_the_namespace_does_not_make_the_plan_stale(
    synced: tuple[Path, Plan], client: TitanClient
) -> None:
    root, plan = synced
    client.create_task(task_body("other-team-task"))
    report = run_apply(plan, client, environ={})
    assert report.ok, report
    assert not make_plan(root, client, environ={}).has_changes
    assert live_names(client) == ["other-team-task", "shop-a", "shop-b"]


def test_plan_against_an_empty_namespace_is_stale_once_a_task_appears(
    tmp_path: Path, client: TitanClient
) -> None:
    root = write_definitions(tmp_path / "defs", {"a": render_task("shop-a")})
    plan = save_and_reload(make_plan(root, client, environ={}), tmp_path / "plan.json")
    assert [(c.action, c.name) for c in plan.actionable] == [(Action.CREATE, "shop-a")]
    late = client.create_task(task_body("shop-a"))
    with pytest.raises(StalePlan) as err:
        run_apply(plan, client, environ={})
    late_id = late.body()["id"]
    assert f"task 'shop-a' (id {late_id}) appeared in the plan's scope" in str(err.value)
    # Applying anyway would have made a second shop-a.
    assert live_names(client) == ["shop-a"]


def test_tampered_saved_plan_is_refused(
    synced: tuple[Path, Plan], client: TitanClient, tmp_path: Path
) -> None:
    _, plan = synced
    path = tmp_path / "tampered.json"
    write_plan_file(path, plan, secrets=SecretSet())
    data = json.loads(path.read_text(encoding="utf-8"))
    # The reviewed field change says one thing; the edited file would send another.
    data["changes"][0]["fields"][0]["after"] = "Something nobody reviewed."
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(StalePlan, match="do not match its digest"):
        run_apply(read_plan_file(path), client, environ={})


def test_a_saved_plan_whose_request_body_was_edited_is_refused(
    synced: tuple[Path, Plan], client: TitanClient, tmp_path: Path
) -> None:
    _, plan = synced
    path = tmp_path / "tampered-body.json"
    write_plan_file(path, plan, secrets=SecretSet())
    data = json.loads(path.read_text(encoding="utf-8"))
    # The reviewed field changes are intact; only the body apply would send is edited.
    data["changes"][0]["request_body"]["objective"] = "Something nobody reviewed."
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(StalePlan, match="do not match its digest"):
        run_apply(read_plan_file(path), client, environ={})
    live = [r.body() for r in client.list_tasks() if r.body().get("name") == "shop-a"]
    assert live[0]["objective"] != "Something nobody reviewed."


def write_sensitive_task(root: Path) -> Path:
    task = (
        "kind: task\n"
        "name: shop-quote\n"
        "urls: [https://carrier.example/api/quote]\n"
        "objective: Get a shipping quote.\n"
        "execution_type: single\n"
        "action_type: api_call\n"
        "template_slug: carrier-quote-json\n"
        "payload:\n"
        '  origin_zip: "10001"\n'
        "  account: ${TITAN_VAR_CARRIER_ACCOUNT}\n"
    )
    return write_definitions(root, {"quote": task})


def test_sensitive_value_changed_between_plan_and_apply_is_refused(
    tmp_path: Path, client: TitanClient
) -> None:
    root = write_sensitive_task(tmp_path / "defs")
    planned_env = {"TITAN_VAR_CARRIER_ACCOUNT": SECRET}
    path = tmp_path / "plan.json"
    plan = save_and_reload(make_plan(root, client, environ=planned_env), path)
    assert SECRET not in path.read_text(encoding="utf-8")
    changed_env = {"TITAN_VAR_CARRIER_ACCOUNT": OTHER_SECRET}
    with pytest.raises(StalePlan) as err:
        run_apply(plan, client, environ=changed_env)
    message = str(err.value)
    assert "shop-quote" in message
    assert "/payload/account" in message
    assert "TITAN_VAR_" in message
    assert SECRET not in message
    assert OTHER_SECRET not in message
    assert live_names(client) == []


def test_sensitive_value_unchanged_applies_the_clear_value(
    tmp_path: Path, client: TitanClient
) -> None:
    root = write_sensitive_task(tmp_path / "defs")
    env = {"TITAN_VAR_CARRIER_ACCOUNT": SECRET}
    plan = save_and_reload(make_plan(root, client, environ=env), tmp_path / "plan.json")
    report = run_apply(plan, client, environ=env)
    assert report.ok, report
    stored = client.get_task(find_id(client, "shop-quote")).body()
    assert stored["payload"]["account"] == SECRET
    assert not make_plan(root, client, environ=env).has_changes


def test_fresh_saved_plan_applies_and_the_next_plan_is_empty(
    synced: tuple[Path, Plan], client: TitanClient
) -> None:
    root, plan = synced
    report = run_apply(plan, client, environ={})
    assert report.ok, report
    assert [(o.change.name, o.status.value) for o in report.outcomes] == [("shop-a", "applied")]
    stored = client.get_task(find_id(client, "shop-a")).body()
    assert stored["objective"] == "Extract names, prices and stock."
    again = make_plan(root, client, environ={})
    assert not again.has_changes, render_plan_text(again)
