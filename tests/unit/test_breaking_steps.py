"""Breaking output_schema changes at every depth: the task's schema and each step's."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.unit.test_plan import SCHEMA, body, defined, definitions, live, plan_of, task
from titan_gitops.align import pair_items
from titan_gitops.cli import main
from titan_gitops.model import Action, Change, LiveState
from titan_gitops.render.markdown import render_plan_markdown

EXAMPLE = Path(__file__).resolve().parents[2] / "tasks.example"
SCORE = "execution_plan.steps[1].output_schema score"


@pytest.fixture
def applied_example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """tasks.example copied as `defs` and applied to the embedded emulator."""
    shutil.copytree(EXAMPLE, tmp_path / "defs")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TITAN_API_URL", "local")
    assert main(["apply", "defs", "--auto-approve"]) == 0
    return tmp_path / "defs"


def _make_score_a_required_string(defs: Path) -> None:
    path = defs / "tasks" / "search-then-scrape.yaml"
    text = path.read_text(encoding="utf-8")
    edited = text.replace(
        "          score: {type: number}",
        "          score: {type: string}\n        required: [score]",
    )
    assert edited != text
    path.write_text(edited, encoding="utf-8")


def test_a_step_schema_change_in_the_example_is_breaking_in_json_text_and_saved_plan(
    applied_example: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _make_score_a_required_string(applied_example)
    capsys.readouterr()
    assert main(["plan", "defs", "--output", "json", "--out", "saved.json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    saved = json.loads(Path("saved.json").read_text(encoding="utf-8"))
    reasons = [
        f"{SCORE}: newly required",
        f"{SCORE}: type changed from number to string",
    ]
    for document in (shown, saved):
        assert document["summary"]["breaking"] == 1
        (change,) = [c for c in document["changes"] if c["action"] != "no-op"]
        assert change["name"] == "shop-review-digest"
        assert change["breaking"] == reasons
    assert main(["plan", "defs", "--no-color"]) == 0
    text = capsys.readouterr().out
    for reason in reasons:
        assert f"      ! breaking: {reason}\n" in text


# --- the plan: which step schema edits break --------------------------------------------------


def step(action: str, schema: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"action_type": action, "input_source": "static_urls", **extra}
    if schema is not None:
        out["output_schema"] = schema
    return out


def props(**types: str) -> dict[str, Any]:
    return {"type": "object", "properties": {k: {"type": v} for k, v in types.items()}}


def update_of(
    old_steps: list[Any],
    new_steps: list[dict[str, Any]],
    old_schema: Any = SCHEMA,
    new_schema: Any = SCHEMA,
) -> Change:
    """The planned update of one task from `old_steps` (live) to `new_steps` (defined)."""
    plan = plan_of(
        definitions(task("shop-a", output_schema=new_schema, execution_plan={"steps": new_steps})),
        LiveState((live("shop-a", output_schema=old_schema, execution_plan={"steps": old_steps}),)),
    )
    (change,) = plan.changes
    assert change.action is Action.UPDATE
    return change


def breaking_of(
    old_steps: list[Any],
    new_steps: list[dict[str, Any]],
    old_schema: Any = SCHEMA,
    new_schema: Any = SCHEMA,
) -> tuple[str, ...]:
    return update_of(old_steps, new_steps, old_schema, new_schema).breaking


def test_a_changed_step_type_is_breaking_at_the_steps_path() -> None:
    assert breaking_of(
        [step("scrape", props(score="number"))], [step("scrape", props(score="string"))]
    ) == ("execution_plan.steps[0].output_schema score: type changed from number to string",)


def test_a_widened_step_schema_is_not_breaking() -> None:
    old = [step("scrape", props(score="number"))]
    new = [
        step("scrape", {"type": "object", "properties": {"score": {"type": ["number", "null"]}}})
    ]
    assert breaking_of(old, new) == ()


def test_an_inserted_step_shifts_no_other_and_the_reason_names_the_diffs_path() -> None:
    old = [step("search"), step("filter"), step("scrape", props(score="number"))]
    new = [step("search"), step("crawl"), step("filter"), step("scrape", props(score="string"))]
    change = update_of(old, new)
    assert change.breaking == (
        "execution_plan.steps[3].output_schema score: type changed from number to string",
    )
    assert [f.pointer for f in change.fields] == [
        "/execution_plan/steps/1",
        "/execution_plan/steps/3/output_schema/properties/score/type",
    ]


def test_a_step_inserted_before_a_changed_one_pairs_the_alike_steps() -> None:
    # The live scrape step pairs with the new scrape step, not with the crawl step inserted
    # before it, as the diff shows it.
    old = [step("search"), step("scrape", props(score="number"))]
    new = [step("search"), step("crawl"), step("scrape", props(score="string"))]
    change = update_of(old, new)
    assert change.breaking == (
        "execution_plan.steps[2].output_schema score: type changed from number to string",
    )
    assert [f.pointer for f in change.fields] == [
        "/execution_plan/steps/1",
        "/execution_plan/steps/2/output_schema/properties/score/type",
    ]


def test_a_removed_step_with_a_schema_is_breaking_at_its_live_index() -> None:
    old = [step("search"), step("scrape", props(score="number")), step("crawl")]
    new = [step("search"), step("crawl")]
    assert breaking_of(old, new) == ("execution_plan.steps[1]: step with an output_schema removed",)


def test_a_removed_step_without_a_schema_is_not_breaking() -> None:
    assert breaking_of([step("search"), step("crawl")], [step("search")]) == ()


def test_a_step_schema_removed_is_breaking_and_one_added_is_not() -> None:
    with_schema = [step("scrape", props(score="number"))]
    without = [step("scrape")]
    assert breaking_of(with_schema, without) == ("execution_plan.steps[0].output_schema: removed",)
    assert breaking_of(without, with_schema) == ()


def test_an_added_step_with_a_schema_is_not_breaking() -> None:
    assert breaking_of([step("search")], [step("search"), step("scrape", props(s="string"))]) == ()


def test_the_task_schema_removed_is_breaking_and_added_is_not() -> None:
    steps = [step("search")]
    assert breaking_of(steps, steps, old_schema=SCHEMA, new_schema=None) == (
        "output_schema: removed",
    )
    assert breaking_of(steps, steps, old_schema=None, new_schema=SCHEMA) == ()


def test_replaced_steps_pair_in_order_and_leftovers_are_removed() -> None:
    # Two live steps are replaced by one: the first pairs with it, the second is removed.
    old = [step("scrape", props(a="number")), step("crawl", props(b="number"))]
    new = [step("scrape", props(a="string"))]
    assert breaking_of(old, new) == (
        "execution_plan.steps[0].output_schema a: type changed from number to string",
        "execution_plan.steps[1]: step with an output_schema removed",
    )


def test_reasons_run_task_schema_first_then_steps_by_index() -> None:
    # Three inserted steps put the changed one at index 4, after the live step 3 removed.
    old = [step("a"), step("s", props(s="number")), step("e"), step("r", props(r="number"))]
    new = [step("n1"), step("n2"), step("n3"), step("a"), step("s", props(s="string")), step("e")]
    assert breaking_of(old, new, new_schema=props(name="integer")) == (
        "output_schema name: type changed from string to integer",
        "execution_plan.steps[3]: step with an output_schema removed",
        "execution_plan.steps[4].output_schema s: type changed from number to string",
    )


def test_at_one_index_a_removed_step_comes_before_a_changed_one() -> None:
    old = [step("a"), step("r1", props(r="number")), step("r2", props(r="number"))]
    old += [step("e"), step("c", props(c="number"))]
    new = [step("a"), step("e"), step("c", props(c="string"))]
    assert breaking_of(old, new) == (
        "execution_plan.steps[1]: step with an output_schema removed",
        "execution_plan.steps[2]: step with an output_schema removed",
        "execution_plan.steps[2].output_schema c: type changed from number to string",
    )


def test_a_step_list_that_is_not_a_list_compares_as_no_steps() -> None:
    # The live side is read from the service: a malformed execution_plan is not a crash.
    plan = plan_of(
        definitions(task("shop-a", execution_plan={"steps": [step("scrape", props(s="string"))]})),
        LiveState((live("shop-a", execution_plan={"steps": "scrape"}),)),
    )
    (change,) = plan.changes
    assert change.breaking == ()
    plan = plan_of(
        definitions(task("shop-a", objective="new")),
        LiveState((live("shop-a", execution_plan=["scrape"]),)),
    )
    (change,) = plan.changes
    assert change.breaking == ()
    assert breaking_of(["scrape"], [step("scrape", props(s="string"))]) == ()


def test_a_rename_carries_its_step_breaking_reasons() -> None:
    new_body = body("shop-b", execution_plan={"steps": [step("scrape", props(score="string"))]})
    renamed = defined("shop-b", new_body, previous_names=("shop-a",))
    plan = plan_of(
        definitions(renamed),
        LiveState(
            (live("shop-a", execution_plan={"steps": [step("scrape", props(score="number"))]}),)
        ),
    )
    (change,) = plan.changes
    assert change.action is Action.RENAME
    assert change.breaking == (
        "execution_plan.steps[0].output_schema score: type changed from number to string",
    )


def test_the_markdown_banner_names_a_task_whose_step_schema_breaks() -> None:
    plan = plan_of(
        definitions(task("shop-a", execution_plan={"steps": [step("scrape", props(s="string"))]})),
        LiveState((live("shop-a", execution_plan={"steps": [step("scrape", props(s="number"))]}),)),
    )
    assert plan.has_breaking
    text = render_plan_markdown(plan)
    banner = next(line for line in text.splitlines() if "Breaking" in line and "shop-a" in line)
    assert text.index(banner) < text.index("<details>")


# --- the pairing the diff and the breaking check share ----------------------------------------


def test_pair_items_leaves_equal_items_out_and_pairs_a_replacement_in_order() -> None:
    a = [{"n": 1}, {"n": 2}, {"n": 3}, {"n": 4}]
    b = [{"n": 1}, {"n": 20}, {"n": 30}, {"n": 31}, {"n": 4}]
    assert list(pair_items(a, b)) == [(1, 1), (2, 2), (None, 3)]


def test_pair_items_yields_removed_items_by_their_old_index() -> None:
    a = [{"n": 1}, {"n": 2}, {"n": 3}, {"n": 4}]
    b = [{"n": 1}, {"n": 20}, {"n": 4}]
    assert list(pair_items(a, b)) == [(1, 1), (2, None)]


def test_pair_items_compares_items_by_canonical_json() -> None:
    # Key order is no change; 1 and True are equal in Python but not the same JSON.
    assert list(pair_items([{"b": 2, "a": 1}], [{"a": 1, "b": 2}])) == []
    assert list(pair_items([{"a": 1, "b": 2}], [{"b": 2, "a": 1}])) == []
    assert list(pair_items([{"a": 1}], [{"a": True}])) == [(0, 0)]
    assert list(pair_items([], [{"a": 1}, {"a": 2}])) == [(None, 0), (None, 1)]
