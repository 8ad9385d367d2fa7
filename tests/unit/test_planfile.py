"""The saved-plan format read strictly, its stand-ins, and a saved plan matched to a fresh one."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from titan_gitops.apply import match_saved_plan
from titan_gitops.commands.apply import choose_saved_plan_root
from titan_gitops.diff import diff_states
from titan_gitops.errors import ConfigError, InputError, StalePlan
from titan_gitops.fingerprint import change_digest, change_key, hide_pointers
from titan_gitops.model import Action, DesiredState, LiveState, Plan
from titan_gitops.plan import PlanOptions, build_plan
from titan_gitops.planfile import (
    MAX_PLAN_BYTES,
    MAX_PLAN_VALUES,
    plan_from_dict,
    plan_to_dict,
    read_plan_file,
    saved_filters,
    write_plan_file,
)
from titan_gitops.secrets import SecretSet

from .test_plan import body, defined, definitions, live, task

SECRET = "5k3-acct-0042"


def secret_task(value: str = SECRET) -> Any:
    return defined(
        "shop-quote",
        body("shop-quote", payload={"account": value}),
        sensitive_paths=frozenset({"/payload/account"}),
    )


def make(desired: DesiredState, live_state: LiveState, options: PlanOptions | None = None) -> Plan:
    diffs = diff_states(desired, live_state)
    return replace(build_plan(desired, live_state, diffs, options), directory="defs")


def a_plan(value: str = SECRET) -> Plan:
    """Create shop-quote (a sensitive payload), update shop-a, delete shop-old."""
    desired = definitions(task("shop-a", objective="New objective"), secret_task(value))
    return make(desired, LiveState((live("shop-a"), live("shop-old"))))


def saved(plan: Plan, tmp_path: Path) -> Plan:
    path = tmp_path / "plan.json"
    write_plan_file(path, plan, secrets=SecretSet())
    return read_plan_file(path)


def written(tmp_path: Path, edit: Callable[[dict[str, Any]], None]) -> Path:
    data = plan_to_dict(a_plan())
    edit(data)
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


# --- reading strictly --------------------------------------------------------------------------


def test_a_saved_plan_reads_back_to_the_same_changes(tmp_path: Path) -> None:
    plan = a_plan()
    back = saved(plan, tmp_path)
    assert [change_key(c) for c in back.changes] == [change_key(c) for c in plan.changes]
    assert back.change_digest == plan.change_digest == change_digest(back.changes)
    assert back.fingerprints == plan.fingerprints
    assert SECRET not in (tmp_path / "plan.json").read_text(encoding="utf-8")


def test_the_stand_in_holds_nothing_derived_from_the_value(tmp_path: Path) -> None:
    first = plan_to_dict(a_plan("123456"))
    second = plan_to_dict(a_plan("999999"))
    assert first == second
    create = next(c for c in first["changes"] if c["action"] == "create")
    assert create["request_body"]["payload"]["account"] == {"sensitive": True}
    payload = next(f for f in create["fields"] if f["pointer"] == "/payload")
    assert payload == {
        "path": "payload",
        "pointer": "/payload",
        "before": None,
        "after": {"sensitive": True},
        "sensitive": True,
    }


def test_a_live_value_at_a_sensitive_pointer_is_hidden_in_before() -> None:
    desired = definitions(secret_task())
    old = live("shop-quote", payload={"account": "old-account-value"})
    data = plan_to_dict(make(desired, LiveState((old,))))
    assert "old-account-value" not in json.dumps(data)


def test_nested_sensitive_pointers_leave_one_stand_in() -> None:
    document = {"payload": {"a": {"b": "x"}}}
    hidden = hide_pointers(document, frozenset({"/payload/a", "/payload/a/b"}))
    assert hidden == {"payload": {"a": {"sensitive": True}}}


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda d: d["changes"][0].update(action="explode"), "changes[0].action must be one of"),
        (
            lambda d: d["changes"][1].update(request_body=[1]),
            "changes[1].request_body must be an object or null, not a list",
        ),
        (lambda d: d["changes"][0].pop("name"), "changes[0].name is missing"),
        (lambda d: d["changes"][0].update(extra=1), "changes[0] has an unknown field 'extra'"),
        (lambda d: d["changes"][0].update(id=7), "changes[0].id must be a string or null"),
        (lambda d: d.update(changes={}), "changes must be a list of objects, not an object"),
        (lambda d: d.update(filtered="yes"), "filtered must be true or false, not a string"),
        (lambda d: d.update(managed_names=["a", 3]), "managed_names[1] must be a string"),
        (lambda d: d["fingerprints"][0].update(digest="x"), "fingerprints[0].digest must be"),
        (lambda d: d.update(filters=["everything"]), "filters[0] must read 'only GLOB'"),
        (lambda d: d.update(filters=["only shop-a"]), "filtered must be true exactly when"),
        (lambda d: d.update(directory="a\x00b"), "directory holds a NUL character"),
        (lambda d: d.update(tool="other"), "tool must be 'titan-gitops'"),
        (
            lambda d: d["changes"][0]["fields"][0].update(pointer="payload"),
            "changes[0].fields[0].pointer must be a JSON pointer",
        ),
        (
            lambda d: d["changes"][0].update(sensitive_pointers=[True]),
            "changes[0].sensitive_pointers[0] must be a string, not true/false",
        ),
        (lambda d: d.update(format_version="1"), "written by an older titan-gitops"),
        (lambda d: d.update(format_version=2), "format_version is 2, which titan-gitops"),
    ],
)
def test_a_malformed_saved_plan_is_refused_naming_the_field(
    tmp_path: Path, edit: Callable[[dict[str, Any]], None], expected: str
) -> None:
    path = written(tmp_path, edit)
    with pytest.raises(InputError) as err:
        read_plan_file(path)
    assert str(path) in str(err.value)
    assert expected in str(err.value)
    assert "run plan again" in str(err.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (b'{"a": 1, "a": 2}', "the key 'a' appears twice"),
        (b'{"a": NaN}', "NaN is not a JSON number"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b'{"a": "\xff"}', "not UTF-8 (byte 7)"),
        (b"{", "not valid JSON"),
        (b"[]", "the document must be an object, not a list"),
    ],
)
def test_a_file_that_is_not_a_plan_is_refused(tmp_path: Path, text: bytes, expected: str) -> None:
    path = tmp_path / "plan.json"
    path.write_bytes(text)
    with pytest.raises(InputError) as err:
        read_plan_file(path)
    assert expected in str(err.value)
    assert str(path) in str(err.value)


def test_a_plan_file_over_the_cap_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "huge.json"
    path.write_bytes(b"{")
    os.truncate(path, MAX_PLAN_BYTES + 1)
    with pytest.raises(InputError, match=r"over the 64 MiB cap"):
        read_plan_file(path)


def test_a_plan_file_of_too_many_values_is_refused_unparsed(tmp_path: Path) -> None:
    path = tmp_path / "tiny.json"
    path.write_text("[" + "0," * MAX_PLAN_VALUES + "0]", encoding="utf-8")
    with pytest.raises(InputError, match=r"JSON values, over the cap"):
        read_plan_file(path)


def test_a_directory_is_not_a_plan_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read the saved plan"):
        read_plan_file(tmp_path)


def test_saved_filters_read_back() -> None:
    plan = make(definitions(task("shop-a")), LiveState(()), PlanOptions(only=("shop-*",)))
    back = plan_from_dict(plan_to_dict(plan))
    assert saved_filters(back) == (("shop-*",), ())


# --- a saved plan against the fresh one --------------------------------------------------------


def test_a_saved_plan_equal_to_the_fresh_one_yields_the_fresh_values(tmp_path: Path) -> None:
    fresh = a_plan()
    kept = match_saved_plan(saved(fresh, tmp_path), fresh)
    assert kept.changes == fresh.changes
    create = next(c for c in kept.actionable if c.action is Action.CREATE)
    assert create.request_body is not None
    assert create.request_body["payload"]["account"] == SECRET


def test_a_subset_keeps_only_the_saved_changes(tmp_path: Path) -> None:
    fresh = a_plan()
    back = saved(fresh, tmp_path)
    part = tuple(c for c in back.changes if c.action is not Action.DELETE)
    kept = match_saved_plan(replace(back, changes=part, change_digest=change_digest(part)), fresh)
    assert [c.action for c in kept.actionable] == [Action.CREATE, Action.UPDATE]
    assert kept.change_digest == change_digest(kept.changes)


def test_a_change_listed_twice_is_refused(tmp_path: Path) -> None:
    fresh = a_plan()
    back = saved(fresh, tmp_path)
    twice = (*back.changes, back.changes[0])
    with pytest.raises(StalePlan, match="lists one change twice"):
        match_saved_plan(replace(back, changes=twice, change_digest=change_digest(twice)), fresh)


def test_a_sensitive_pointer_moved_by_the_file_is_refused(tmp_path: Path) -> None:
    fresh = a_plan()
    back = saved(fresh, tmp_path)
    create = next(c for c in back.changes if c.action is Action.CREATE)
    moved = replace(create, sensitive_pointers=frozenset({"/objective"}))
    changes = tuple(moved if c is create else c for c in back.changes)
    with pytest.raises(StalePlan, match="create 'shop-quote'"):
        match_saved_plan(
            replace(back, changes=changes, change_digest=change_digest(changes)), fresh
        )


def test_an_edit_without_a_new_digest_is_refused(tmp_path: Path) -> None:
    fresh = a_plan()
    back = saved(fresh, tmp_path)
    with pytest.raises(StalePlan, match="edited after it was made"):
        match_saved_plan(replace(back, changes=back.changes[:1]), fresh)


# --- where a saved plan is derived again from --------------------------------------------------


def test_dir_wins_over_the_recorded_directory() -> None:
    assert choose_saved_plan_root("/anywhere", "defs") == Path("defs")


def test_a_relative_recorded_directory_inside_the_working_directory_is_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "defs").mkdir()
    monkeypatch.chdir(tmp_path)
    assert choose_saved_plan_root("defs", None) == Path("defs")


@pytest.mark.parametrize("recorded", ["", "/etc", "../defs", "defs/../../x", "out"])
def test_a_recorded_directory_leaving_the_working_directory_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, recorded: str
) -> None:
    (tmp_path / "work").mkdir()
    (tmp_path / "work" / "out").symlink_to(tmp_path)
    monkeypatch.chdir(tmp_path / "work")
    with pytest.raises(ConfigError, match="give the definitions directory as DIR"):
        choose_saved_plan_root(recorded, None)
