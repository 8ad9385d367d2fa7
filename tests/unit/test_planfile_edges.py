"""The saved plan at its edges: each bad field named, its caps, its text, and stale matches."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from titan_gitops.apply import check_plan_is_fresh, match_saved_plan
from titan_gitops.errors import InputError, StalePlan
from titan_gitops.fingerprint import change_digest
from titan_gitops.model import Action, LiveState
from titan_gitops.plan import PlanOptions
from titan_gitops.planfile import (
    plan_from_dict,
    plan_to_dict,
    read_plan_file,
    render_plan_json,
    saved_filters,
    write_plan_file,
)
from titan_gitops.secrets import SecretSet

from .test_plan import defined, definitions, live, task
from .test_planfile import a_plan, make, saved, written

# --- every field's type, named ------------------------------------------------------------------


def set_in(*path: Any, value: Any) -> Callable[[dict[str, Any]], None]:
    """An edit setting the value at `path` (keys and list indexes) of a saved plan's JSON."""

    def edit(data: dict[str, Any]) -> None:
        node = data
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return edit


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (set_in("changes", 0, "name", value=None), "changes[0].name must be a string, not null"),
        (set_in("target", value=3), "target must be a string, not a number"),
        (set_in("managed_names", value=None), "managed_names must be a list of strings, not null"),
        (set_in("changes", value=None), "changes must be a list of objects, not null"),
        (set_in("filtered", value=None), "filtered must be true or false, not null"),
        (set_in("tool_version", value=1.5), "tool_version must be a string, not a number"),
        (set_in("summary", value="all"), "summary must be an object or null, not a string"),
        (set_in("notes", value=[[]]), "notes[0] must be an object, not a list"),
        (
            set_in("changes", 0, "fields", 0, "path", value=False),
            "changes[0].fields[0].path must be a string, not true/false",
        ),
        (
            set_in("changes", 0, "fields", 0, "sensitive", value="no"),
            "changes[0].fields[0].sensitive must be true or false, not a string",
        ),
        (
            set_in("changes", 0, "breaking", value=[{}]),
            "changes[0].breaking[0] must be a string, not an object",
        ),
        (
            set_in("changes", 0, "ignore_fields", value=["limits"]),
            "changes[0].ignore_fields[0] must be a JSON pointer starting with '/'",
        ),
        (
            set_in("fingerprints", 0, "hidden", value=["payload"]),
            "fingerprints[0].hidden[0] must be a JSON pointer",
        ),
        (
            set_in("fingerprints", 0, "updated_at", value=0),
            "fingerprints[0].updated_at must be a string or null, not a number",
        ),
        # 64 characters, but not lower-case hex digits.
        (set_in("scope_digest", value="G" * 64), "scope_digest must be a SHA-256 digest"),
        (
            lambda d: d.update(filters=["only"], filtered=True),
            "filters[0] must read 'only GLOB' or 'exclude GLOB'",
        ),
        (set_in("format_version", value="3"), "format_version is '3', which titan-gitops"),
        (set_in("format_version", value=None), "format_version is None, which titan-gitops"),
    ],
)
def test_a_malformed_field_is_refused_by_its_name(
    tmp_path: Path, edit: Callable[[dict[str, Any]], None], expected: str
) -> None:
    path = written(tmp_path, edit)
    with pytest.raises(InputError) as err:
        read_plan_file(path)
    assert f"{path} cannot be used: {expected}" in str(err.value)
    assert str(err.value).endswith("; run plan again to make a new one")


def test_a_plan_dict_is_refused_naming_its_source() -> None:
    data = plan_to_dict(a_plan())
    data["tool"] = "terraform"
    with pytest.raises(InputError, match=r"^the saved plan cannot be used: tool must be"):
        plan_from_dict(data)
    with pytest.raises(InputError, match=r"^plan\.json cannot be used: tool must be"):
        plan_from_dict(data, source="plan.json")


# --- what the file holds ------------------------------------------------------------------------


def test_both_kinds_of_filter_read_back() -> None:
    desired = definitions(task("shop-a"), task("shop-b"))
    options = PlanOptions(only=("shop-*", "x-*"), exclude=("shop-b",))
    back = plan_from_dict(plan_to_dict(make(desired, LiveState(()), options)))
    assert back.filters == ("only shop-*", "only x-*", "exclude shop-b")
    assert saved_filters(back) == (("shop-*", "x-*"), ("shop-b",))


def test_the_saved_text_is_indented_sorted_utf8_and_counts_its_changes() -> None:
    desired = definitions(
        task("shop-a", objective="Prix et disponibilité"),
        task("shop-b", output_schema={"type": "object", "properties": {"sku": {"type": "string"}}}),
    )
    plan = make(desired, LiveState((live("shop-b"), live("shop-old"))))
    text = render_plan_json(plan)
    assert "disponibilité" in text
    assert text.endswith("}\n")
    assert text.startswith('{\n  "change_digest": ')
    data = json.loads(text)
    assert list(data) == sorted(data)
    assert data["summary"] == {
        "create": 1,
        "update": 1,
        "rename": 0,
        "delete": 1,
        "no_op": 0,
        "has_changes": True,
        "breaking": 1,
    }


def test_a_written_plan_masks_every_secret_and_makes_its_folder(tmp_path: Path) -> None:
    # The live task holds the secret at a field the definitions do not mark sensitive: only the
    # writer's mask keeps it out of the file.
    secret = "live-token-77f0e1"
    desired = definitions(task("shop-a", objective="Extract prices"))
    plan = make(desired, LiveState((live("shop-a", objective=f"Use {secret}"),)))
    path = tmp_path / "out" / "plans" / "plan.json"
    write_plan_file(path, plan, secrets=SecretSet.of([secret]))
    text = path.read_text(encoding="utf-8")
    assert secret not in text
    assert read_plan_file(path).changes[0].name == "shop-a"


def test_a_file_over_the_cap_is_refused_by_its_size_unread(tmp_path: Path) -> None:
    path = tmp_path / "huge.json"
    path.write_bytes(b"{")
    os.truncate(path, 64 * 2**20 + 1)
    with pytest.raises(InputError) as err:
        read_plan_file(path)
    assert str(err.value) == (
        f"{path}: the saved plan is 67,108,865 bytes, over the 64 MiB cap (67,108,864 bytes): "
        "refusing to read it; run plan again to make a new one"
    )


def test_a_device_without_a_size_is_read_no_further_than_the_cap() -> None:
    with pytest.raises(InputError, match=r"^/dev/zero: the saved plan is over the 64 MiB cap"):
        read_plan_file(Path("/dev/zero"))


def test_the_value_cap_is_three_million(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    path.write_text("[" + "0," * 3_000_000 + "0]", encoding="utf-8")
    with pytest.raises(InputError, match=r"3,000,001 JSON values, over the cap of 3,000,000"):
        read_plan_file(path)


# --- a saved plan matched to the fresh one ------------------------------------------------------


def test_a_saved_plan_whose_scope_digest_was_edited_is_stale(tmp_path: Path) -> None:
    fresh = a_plan()
    back = saved(fresh, tmp_path)
    with pytest.raises(StalePlan) as err:
        match_saved_plan(replace(back, scope_digest="0" * 64), fresh)
    assert "the set of tasks in the plan's scope changed" in str(err.value)


def test_a_plan_whose_scope_no_longer_matches_the_live_tasks_is_stale() -> None:
    desired = definitions(task("shop-a", objective="New objective"))
    tasks = (live("shop-a"), live("shop-b"))
    plan = make(desired, LiveState(tasks))
    check_plan_is_fresh(plan, tasks)
    with pytest.raises(StalePlan, match="the set of tasks in the plan's scope changed"):
        check_plan_is_fresh(replace(plan, scope_digest="0" * 64), tasks)


def test_every_saved_change_the_definitions_no_longer_call_for_is_named(tmp_path: Path) -> None:
    back = saved(a_plan(), tmp_path)
    # Now shop-a's objective differs from what was saved, and shop-quote is defined no more.
    fresh = make(
        definitions(task("shop-a", objective="Another objective")),
        LiveState((live("shop-a"), live("shop-old"))),
    )
    with pytest.raises(StalePlan) as err:
        match_saved_plan(back, fresh)
    message = str(err.value)
    assert "asks for 2 changes that the definitions in defs and the live tasks do not call for" in (
        message
    )
    assert "create 'shop-quote'; update 'shop-a' (id id-shop-a), whose fields or request " in (
        message
    )
    assert message.endswith("nothing was applied; run plan again")


def test_a_saved_change_for_another_task_id_names_the_one_called_for(tmp_path: Path) -> None:
    back = saved(a_plan(), tmp_path)
    edited = tuple(
        replace(c, task_id="id-elsewhere") if c.action is Action.UPDATE else c for c in back.changes
    )
    with pytest.raises(StalePlan) as err:
        match_saved_plan(
            replace(back, changes=edited, change_digest=change_digest(edited)), a_plan()
        )
    assert (
        "asks for 1 change that the definitions in defs and the live tasks do not call for now: "
        "update 'shop-a' (id id-elsewhere), where the definitions call for update 'shop-a' "
        "(id id-shop-a)."
    ) in str(err.value)


def test_a_saved_rename_that_no_longer_applies_names_both_names(tmp_path: Path) -> None:
    old = LiveState((live("shop-old"),))
    renamed = definitions(defined("shop-new", previous_names=("shop-old",)))
    back = saved(make(renamed, old), tmp_path)
    assert [c.action for c in back.actionable] == [Action.RENAME]
    # The previous name is gone from the definitions: the fresh plan creates and deletes.
    fresh = make(definitions(task("shop-new")), old, PlanOptions(allow_deletes=1))
    with pytest.raises(StalePlan) as err:
        match_saved_plan(back, fresh)
    assert "now: rename 'shop-new' from 'shop-old' (id id-shop-old). The file" in str(err.value)
