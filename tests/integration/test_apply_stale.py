"""A saved plan is applied only while the live tasks it read are unchanged (issue 6), and only
through a fresh derivation that holds every change it asks for (issue 13)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from titan_gitops.client import TitanClient
from titan_gitops.errors import StalePlan
from titan_gitops.model import Action, ApplyReport, Plan
from titan_gitops.pipeline import make_plan, rederive_saved_plan, run_apply
from titan_gitops.plan import PlanOptions
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


def apply_saved(
    root: Path, saved: Plan, client: TitanClient, environ: dict[str, str] | None = None
) -> ApplyReport:
    """`apply --plan FILE DIR`: derive the plan again, keep the saved changes, apply them."""
    plan, _ = rederive_saved_plan(saved, root, client, environ=environ or {})
    return run_apply(plan, client)


def find_id(client: TitanClient, name: str) -> str:
    ids = [str(r.body()["id"]) for r in client.list_tasks() if r.body().get("name") == name]
    assert len(ids) == 1, ids
    return ids[0]


def converge(root: Path, client: TitanClient) -> None:
    """Apply the definitions under `root` so the service matches them."""
    report = run_apply(make_plan(root, client, environ={}), client)
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
    root, plan = synced
    task_id = find_id(client, "shop-a")
    client.update_task(task_id, {"objective": "Changed in the UI."})
    with pytest.raises(StalePlan) as err:
        apply_saved(root, plan, client)
    message = str(err.value)
    assert f"task 'shop-a' (id {task_id}) was changed" in message
    assert "shop-b" not in message
    assert "Run plan again" in message
    # Nothing was written: the out-of-band edit survives.
    assert client.get_task(task_id).body()["objective"] == "Changed in the UI."


def test_task_deleted_out_of_band_makes_the_plan_stale(
    synced: tuple[Path, Plan], client: TitanClient
) -> None:
    root, plan = synced
    task_id = find_id(client, "shop-b")
    client.delete_task(task_id)
    with pytest.raises(StalePlan) as err:
        apply_saved(root, plan, client)
    assert f"task 'shop-b' (id {task_id}) no longer exists" in str(err.value)
    assert live_names(client) == ["shop-a"]


def test_new_stray_task_in_the_namespace_makes_the_plan_stale(
    synced: tuple[Path, Plan], client: TitanClient
) -> None:
    root, plan = synced
    stray = client.create_task(task_body("shop-stray"))
    with pytest.raises(StalePlan) as err:
        apply_saved(root, plan, client)
    stray_id = stray.body()["id"]
    assert f"task 'shop-stray' (id {stray_id}) appeared in the plan's scope" in str(err.value)


def test_task_outside_the_namespace_does_not_make_the_plan_stale(
    synced: tuple[Path, Plan], client: TitanClient
) -> None:
    root, plan = synced
    client.create_task(task_body("other-team-task"))
    report = apply_saved(root, plan, client)
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
        apply_saved(root, plan, client)
    late_id = late.body()["id"]
    assert f"task 'shop-a' (id {late_id}) appeared in the plan's scope" in str(err.value)
    # Applying anyway would have made a second shop-a.
    assert live_names(client) == ["shop-a"]


def test_tampered_saved_plan_is_refused(
    synced: tuple[Path, Plan], client: TitanClient, tmp_path: Path
) -> None:
    root, plan = synced
    path = tmp_path / "tampered.json"
    write_plan_file(path, plan, secrets=SecretSet())
    data = json.loads(path.read_text(encoding="utf-8"))
    # The reviewed field change says one thing; the edited file would send another.
    data["changes"][0]["fields"][0]["after"] = "Something nobody reviewed."
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(StalePlan, match="do not match its change_digest"):
        apply_saved(root, read_plan_file(path), client)


def test_a_saved_plan_whose_request_body_was_edited_is_refused(
    synced: tuple[Path, Plan], client: TitanClient, tmp_path: Path
) -> None:
    root, plan = synced
    path = tmp_path / "tampered-body.json"
    write_plan_file(path, plan, secrets=SecretSet())
    data = json.loads(path.read_text(encoding="utf-8"))
    # The reviewed field changes are intact; only the body apply would send is edited.
    data["changes"][0]["request_body"]["objective"] = "Something nobody reviewed."
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(StalePlan, match="do not match its change_digest"):
        apply_saved(root, read_plan_file(path), client)
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


def test_a_saved_plan_holds_only_the_stand_in_and_applies_the_value_of_the_apply_run(
    tmp_path: Path, client: TitanClient
) -> None:
    # The saved plan holds nothing derived from the secret, so it cannot tell a rotated value
    # from the planned one: the value comes from apply's own environment, at the planned pointer.
    root = write_sensitive_task(tmp_path / "defs")
    path = tmp_path / "plan.json"
    plan = save_and_reload(
        make_plan(root, client, environ={"TITAN_VAR_CARRIER_ACCOUNT": SECRET}), path
    )
    saved = json.loads(path.read_text(encoding="utf-8"))
    assert saved["changes"][0]["request_body"]["payload"]["account"] == {"sensitive": True}
    assert SECRET not in path.read_text(encoding="utf-8")
    report = apply_saved(root, plan, client, {"TITAN_VAR_CARRIER_ACCOUNT": OTHER_SECRET})
    assert report.ok, report
    stored = client.get_task(find_id(client, "shop-quote")).body()
    assert stored["payload"]["account"] == OTHER_SECRET


def test_sensitive_value_unchanged_applies_the_clear_value(
    tmp_path: Path, client: TitanClient
) -> None:
    root = write_sensitive_task(tmp_path / "defs")
    env = {"TITAN_VAR_CARRIER_ACCOUNT": SECRET}
    plan = save_and_reload(make_plan(root, client, environ=env), tmp_path / "plan.json")
    report = apply_saved(root, plan, client, env)
    assert report.ok, report
    stored = client.get_task(find_id(client, "shop-quote")).body()
    assert stored["payload"]["account"] == SECRET
    assert not make_plan(root, client, environ=env).has_changes


def test_a_saved_plan_handed_straight_to_run_apply_never_sends_a_stand_in(
    tmp_path: Path, client: TitanClient
) -> None:
    root = write_sensitive_task(tmp_path / "defs")
    env = {"TITAN_VAR_CARRIER_ACCOUNT": SECRET}
    plan = save_and_reload(make_plan(root, client, environ=env), tmp_path / "plan.json")
    with pytest.raises(StalePlan) as err:
        run_apply(plan, client)
    assert "stand-in at /payload/account" in str(err.value)
    assert "apply --plan" in str(err.value)
    assert live_names(client) == []


def test_a_saved_plan_made_for_another_namespace_is_refused(
    synced: tuple[Path, Plan], client: TitanClient
) -> None:
    root, plan = synced
    (root / "titan-gitops.yaml").write_text("namespace: shop\n", encoding="utf-8")
    with pytest.raises(StalePlan) as err:
        apply_saved(root, plan, client)
    assert "namespace 'shop-'" in str(err.value)
    assert "'shop'" in str(err.value)
    assert "run plan again" in str(err.value)


def test_a_definition_added_after_the_plan_is_not_applied(
    synced: tuple[Path, Plan], client: TitanClient
) -> None:
    root, plan = synced
    write_definitions(root, {"c": render_task("shop-c")})
    fresh, whole = rederive_saved_plan(plan, root, client, environ={})
    assert [c.name for c in whole.actionable] == ["shop-c", "shop-a"]
    assert [c.name for c in fresh.actionable] == ["shop-a"]
    report = run_apply(fresh, client)
    assert report.ok, report
    assert live_names(client) == ["shop-a", "shop-b"]


def test_a_saved_plan_keeps_its_filters_when_derived_again(
    tmp_path: Path, client: TitanClient
) -> None:
    root = write_definitions(
        tmp_path / "defs", {"a": render_task("shop-a"), "b": render_task("shop-b")}
    )
    plan = save_and_reload(
        make_plan(root, client, PlanOptions(only=("shop-a",)), environ={}), tmp_path / "p.json"
    )
    assert plan.filters == ("only shop-a",)
    report = apply_saved(root, plan, client)
    assert report.ok, report
    assert live_names(client) == ["shop-a"]


def test_fresh_saved_plan_applies_and_the_next_plan_is_empty(
    synced: tuple[Path, Plan], client: TitanClient
) -> None:
    root, plan = synced
    report = apply_saved(root, plan, client)
    assert report.ok, report
    assert [(o.change.name, o.status.value) for o in report.outcomes] == [("shop-a", "applied")]
    stored = client.get_task(find_id(client, "shop-a")).body()
    assert stored["objective"] == "Extract names, prices and stock."
    again = make_plan(root, client, environ={})
    assert not again.has_changes, render_plan_text(again)
