"""A plan made with a base, as JSON: the attribution written, only the base read back."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from titan_gitops.errors import InputError, LiveEditsRefused
from titan_gitops.model import (
    Action,
    BaseInfo,
    Change,
    CommitInfo,
    FieldAttribution,
    Plan,
    TaskAttribution,
    ThreeWay,
)
from titan_gitops.planfile import plan_from_dict, plan_to_dict, render_plan_json
from titan_gitops.threeway import refuse_live_edits

SHA = "a1b2c3d" + "0" * 33
EDITED = TaskAttribution(
    "shop-a",
    "changed",
    "live_edit",
    (FieldAttribution("objective", "live_edit", "Old", "Old", "Console"),),
    live_updated_at="2026-11-24T09:12:00Z",
    path="defs/a.yaml",
)
PENDING = TaskAttribution(
    "shop-b",
    "changed",
    "pending",
    (FieldAttribution("payload", "pending", {"k": "old"}, {"k": "s3cret"}, {"k": "old"}),),
    path="defs/b.yaml",
    commit=CommitInfo("c" * 40, "Ada <x>", "2026-11-20T10:00:00+00:00", "raise\nlimit"),
    sensitive_pointers=frozenset({"/payload/k"}),
)


def plan(*tasks: TaskAttribution, overwrite: bool = False) -> Plan:
    changes = tuple(Change(Action.UPDATE, t.name, "fields differ") for t in tasks)
    return Plan(
        changes=changes,
        threeway=ThreeWay(BaseInfo("main~1", SHA), tasks, overwrite),
        scope_digest="0" * 64,
        change_digest="0" * 64,
    )


def test_two_way_json_is_unchanged() -> None:
    two_way = replace(plan(EDITED), threeway=None)
    data = json.loads(render_plan_json(two_way))
    assert data == json.loads(json.dumps(plan_to_dict(two_way)))
    assert "base" not in data
    assert "attribution" not in data
    assert "reverts_live_edit" not in data["changes"][0]


def test_the_json_says_which_change_reverts_a_live_edit_and_who_changed_what() -> None:
    data = json.loads(render_plan_json(plan(EDITED, PENDING)))
    assert data["base"] == {"rev": "main~1", "sha": SHA, "directory_existed": True}
    assert [c["reverts_live_edit"] for c in data["changes"]] == [True, False]
    assert data["summary"]["reverts_live_edits"] == 1
    attribution = data["attribution"]
    assert attribution["counts"] == {"converged": 0, "pending": 1, "live_edit": 1, "conflict": 0}
    first, second = attribution["tasks"]
    assert first["fields"] == [
        {
            "field": "objective",
            "attribution": "live_edit",
            "sensitive": False,
            "base": "Old",
            "git": "Old",
            "live": "Console",
        }
    ]
    assert first["live_updated_at"] == "2026-11-24T09:12:00Z"
    assert second["commit"]["author"] == "Ada <x>"
    assert second["commit"]["subject"] == "raise\nlimit"


def test_a_secret_holding_field_is_named_and_its_values_hidden() -> None:
    text = render_plan_json(plan(PENDING))
    assert "s3cret" not in text
    (field,) = json.loads(text)["attribution"]["tasks"][0]["fields"]
    assert field["sensitive"] is True
    assert field["git"] == {"sensitive": True}


def test_only_the_base_is_read_back_never_the_attribution() -> None:
    data = json.loads(render_plan_json(plan(EDITED)))
    data["attribution"]["tasks"] = []  # an edited file cannot hide a live edit
    data["changes"][0]["reverts_live_edit"] = False
    read = plan_from_dict(data)
    assert read.threeway == ThreeWay(BaseInfo("main~1", SHA))
    assert read.changes == plan(EDITED).changes


@pytest.mark.parametrize(
    ("base", "message"),
    [
        ({"rev": "main", "sha": "abc", "directory_existed": True}, "base.sha must be a full"),
        ({"rev": "--output=x", "sha": SHA, "directory_existed": True}, "base.rev must be"),
        ({"rev": "", "sha": SHA, "directory_existed": True}, "base.rev must be"),
        ({"rev": "main", "sha": SHA}, "base.directory_existed is missing"),
        ({"rev": "main", "sha": SHA, "directory_existed": 1}, "must be true or false"),
        ("main", "base must be an object"),
    ],
)
def test_a_malformed_base_is_refused_by_name(base: Any, message: str) -> None:
    data = json.loads(render_plan_json(plan(EDITED)))
    data["base"] = base
    with pytest.raises(InputError, match=message):
        plan_from_dict(data)


def test_apply_refuses_a_plan_that_reverts_a_live_edit_naming_it_and_the_way_out() -> None:
    with pytest.raises(LiveEditsRefused) as caught:
        refuse_live_edits(plan(EDITED, PENDING), how_to_overwrite="pass --overwrite-live-edits")
    message = str(caught.value)
    assert "1 change would throw away edits made in Titan since the base (a1b2c3d)" in message
    assert "'shop-a' (objective edited in Titan at 2026-11-24T09:12Z)" in message
    assert "shop-b" not in message
    assert "pass --overwrite-live-edits" in message
    assert "live_edits: overwrite in titan-gitops.yaml" in message


def test_apply_goes_ahead_when_allowed_two_way_or_nothing_reverts() -> None:
    refuse_live_edits(plan(EDITED, overwrite=True), how_to_overwrite="x")
    refuse_live_edits(replace(plan(EDITED), threeway=None), how_to_overwrite="x")
    refuse_live_edits(plan(PENDING), how_to_overwrite="x")
    # A reverting task whose change is not in this plan (filtered out, a no-op) is not refused.
    quiet = replace(plan(EDITED), changes=(Change(Action.NO_OP, "shop-a", "in sync"),))
    refuse_live_edits(quiet, how_to_overwrite="x")


@pytest.mark.parametrize(
    ("story", "said"),
    [
        ("deleted_in_titan", "'shop-a' (deleted in Titan)"),
        ("created_in_titan", "'shop-a' (created in Titan at 2026-11-24T09:12Z)"),
        ("deleted_in_titan_changed_in_git", "'shop-a' (deleted in Titan, changed in git)"),
    ],
)
def test_the_refusal_says_what_was_done_in_titan(story: Any, said: str) -> None:
    task = replace(EDITED, story=story, fields=())
    with pytest.raises(LiveEditsRefused, match=said.replace("(", r"\(").replace(")", r"\)")):
        refuse_live_edits(plan(task), how_to_overwrite="x")


def test_many_reverting_tasks_are_counted_past_the_named_ones() -> None:
    tasks = tuple(replace(EDITED, name=f"shop-{i:02}") for i in range(25))
    with pytest.raises(LiveEditsRefused) as caught:
        refuse_live_edits(plan(*tasks), how_to_overwrite="x")
    assert "25 changes would" in str(caught.value)
    assert "'shop-19'" in str(caught.value)
    assert "'shop-20'" not in str(caught.value)
    assert "and 5 more" in str(caught.value)


def test_a_renamed_task_is_named_as_titan_still_calls_it() -> None:
    renamed = replace(EDITED, name="shop-new", previous_name="shop-old")
    with pytest.raises(LiveEditsRefused, match=r"'shop-new' \(was 'shop-old' in Titan; objective"):
        refuse_live_edits(plan(renamed), how_to_overwrite="x")
