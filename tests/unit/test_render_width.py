"""No line of a text plan, a drift report or a three-way report is wider than 120 columns.

The audit's cases first (a nested step schema path, a long payload key, a long task name, the
`! conflict:` line), then a property over generated plans: names, paths, keys and values of any
length, with and without spaces, escaped characters and secrets.
"""

from __future__ import annotations

import re
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from titan_gitops.model import (
    Action,
    BaseInfo,
    Change,
    CommitInfo,
    FieldAttribution,
    FieldChange,
    Plan,
    TaskAttribution,
    ThreeWay,
)
from titan_gitops.pointers import join_pointer
from titan_gitops.render.fields import WIDTH, field_lines, split_path
from titan_gitops.render.markdown import render_plan_markdown
from titan_gitops.render.text import render_plan_text
from titan_gitops.render.wrap import MARK, wrap

DEEP = (
    "/execution_plan/steps/1/output_schema/properties/product_reviews_collection/items/properties"
    "/reviewer_verified_purchase_status/description"
)
AT = "2026-11-24T09:12:33Z"
ADA = CommitInfo("c0ffee12" * 5, "Ada Lovelace-Byron", "2026-11-20T10:00:00+00:00", "raise it")


def widest(text: str) -> int:
    return max(len(line) for line in text.splitlines())


def update(name: str, *fields: FieldChange) -> Change:
    return Change(Action.UPDATE, name, "1 field differs", task_id="1", fields=fields)


def diff_lines(markdown: str) -> list[str]:
    """The lines inside the fenced diff blocks of a Markdown report: the lines we lay out."""
    blocks = re.findall(r"^(`{3,})diff\n(.*?)^\1$", markdown, flags=re.M | re.S)
    return [line for _fence, body in blocks for line in body.splitlines()]


def test_a_deep_path_is_broken_before_a_dot_and_carries_its_value_on_the_last_part() -> None:
    text = render_plan_text(Plan((update("shop-a", FieldChange(DEEP, "old", "new")),)))
    assert widest(text) <= WIDTH
    assert (
        "      ~ execution_plan.steps[1].output_schema.properties.product_reviews_collection.items"
        ".properties\n"
        '      ~   .reviewer_verified_purchase_status.description: "old" → "new"\n'
    ) in text
    # Markdown: the same parts, the sign first on every line, so the diff block colours them.
    markdown = render_plan_markdown(Plan((update("shop-a", FieldChange(DEEP, "old", "new")),)))
    assert (
        "~ execution_plan.steps[1].output_schema.properties.product_reviews_collection.items"
        ".properties\n"
        '-   .reviewer_verified_purchase_status.description: "old"\n'
        '+   .reviewer_verified_purchase_status.description: "new"\n'
    ) in markdown


def test_the_parts_of_a_split_path_join_back_into_the_path() -> None:
    key = "k" * 300
    for path in (DEEP[1:].replace("/", "."), f"payload.{key}", key, "a.b" * 70):
        parts = split_path(path)
        assert "".join(parts) == path
        assert all(len(p) <= 106 for p in parts)
        assert len(parts[-1]) <= 86
    assert split_path("limits.max_results") == ["limits.max_results"]


def test_a_long_payload_key_is_cut_at_the_limit_and_every_part_keeps_the_sign() -> None:
    key = "x" * 160
    change = FieldChange(f"/payload/{key}", None, "v")
    lines = field_lines(change, change.path)
    assert [line.sign for line in lines] == ["+"] * len(lines)
    assert "".join(line.text for line in lines) == f"payload.{key}: " + '"v"'
    text = render_plan_text(Plan((update("shop-a", change),)))
    assert widest(text) <= WIDTH


def test_a_long_task_name_wraps_its_heading_after_a_mark_of_ours() -> None:
    name = "shop-" + "n" * 145
    for text in (
        render_plan_text(Plan((update(name, FieldChange("/objective", "a", "b")),))),
        render_plan_text(Plan((update(name, FieldChange("/objective", "a", "b")),)), drift=True),
    ):
        assert widest(text) <= WIDTH
        heading = text.split("\n\n")[1].splitlines()
        assert heading[0].startswith(f"  ~ {name[:100]}")
        assert heading[1].startswith(f"    {MARK}")


def test_the_conflict_line_wraps_under_its_sign() -> None:
    task = TaskAttribution(
        "shop-a",
        "changed",
        "conflict",
        (FieldAttribution("objective", "conflict", "X", "Git", "Console"),),
        live_updated_at=AT,
        commit=ADA,
    )
    plan = Plan(
        (update("shop-a", FieldChange("/objective", "Console", "Git")),),
        threeway=ThreeWay(BaseInfo("main~1", "a" * 40), (task,)),
    )
    text = render_plan_text(plan)
    assert widest(text) <= WIDTH
    assert (
        "      ! conflict: objective was changed in git (c0ffee1, Ada Lovelace-Byron) and in Titan "
        "at 2026-11-24T09:12Z; this\n        ↳ apply keeps git's value\n"
    ) in text


def test_wrap_cuts_at_a_space_or_the_limit_and_marks_every_continuation() -> None:
    assert wrap("short") == ["short"]
    words = wrap("  " + "word " * 40, 30)
    assert words[0] == "  word word word word word"
    assert all(line.startswith(f"    {MARK}word") for line in words[1:])
    assert all(len(line) <= 30 for line in words)
    assert " ".join(w.strip(f" {MARK}") for w in words) == ("word " * 40).strip()
    lines = wrap("x" * 70, 30)
    assert lines[0] == "x" * 30
    assert all(line.startswith(f"  {MARK}") for line in lines[1:])
    assert "".join(line.removeprefix(f"  {MARK}") for line in lines) == "x" * 70
    assert all(len(line) <= 30 for line in lines)


# --- the property -----------------------------------------------------------------------------

_TEXT = st.text(
    st.sampled_from([*"abcdefghij", " ", ".", "/", "[", "]", ":", "\x1b", "\t", "é", "→", "1"]),
    max_size=260,
)
_KEY = st.one_of(st.sampled_from(["limits", "payload", "steps", "0", "1"]), _TEXT)
_LEAF = st.one_of(st.none(), st.integers(), st.booleans(), _TEXT)
_VALUE = st.recursive(
    _LEAF,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_KEY, inner, max_size=4)),
    max_leaves=12,
)


@st.composite
def _field_changes(draw: Any) -> FieldChange:
    top = draw(st.sampled_from(["objective", "payload", "execution_plan", "urls", "schedule"]))
    pointer = join_pointer([top, *draw(st.lists(_KEY, max_size=6))])
    before, after = draw(_VALUE), draw(_VALUE)
    if before is None and after is None:
        after = draw(_TEXT)
    return FieldChange(pointer, before, after, sensitive=draw(st.booleans()))


@st.composite
def _plans(draw: Any) -> Plan:
    names = draw(st.lists(_TEXT.filter(bool), min_size=1, max_size=3, unique=True))
    changes = []
    tasks = []
    for name in names:
        fields = tuple(draw(st.lists(_field_changes(), min_size=1, max_size=3)))
        action = draw(st.sampled_from([Action.UPDATE, Action.CREATE, Action.RENAME]))
        changes.append(
            Change(
                action,
                name,
                draw(_TEXT),
                task_id=draw(_TEXT),
                fields=fields,
                previous_name=draw(_TEXT) if action is Action.RENAME else None,
                source=draw(_TEXT),
                breaking=tuple(draw(st.lists(_TEXT, max_size=2))),
            )
        )
        kind = draw(st.sampled_from(["pending", "live_edit", "conflict", "converged"]))
        attributions = tuple(
            FieldAttribution(
                f.pointer.split("/")[1],
                kind,
                f.before,
                f.after,
                draw(_VALUE),
                git_changes=(f,) if draw(st.booleans()) else (),
                live_changes=(f,),
            )
            for f in fields
        )
        commit = CommitInfo("d" * 40, draw(_TEXT), draw(_TEXT), draw(_TEXT))
        tasks.append(
            TaskAttribution(
                name,
                "changed",
                kind,
                attributions,
                live_updated_at=draw(_TEXT),
                commit=commit,
                path=draw(_TEXT),
            )
        )
    base = BaseInfo(draw(_TEXT), "e" * 40)
    threeway = ThreeWay(base, tuple(tasks)) if draw(st.booleans()) else None
    return Plan(tuple(changes), threeway=threeway, target=draw(_TEXT), namespace=draw(_TEXT))


@given(_plans())
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_no_rendered_line_is_wider_than_120_columns(plan: Plan) -> None:
    for drift in (False, True):
        for colour in (False, True):
            text = render_plan_text(plan, drift=drift, colour=colour)
            plain = re.sub(r"\x1b\[[0-9;]*m", "", text)
            for line in plain.splitlines():
                assert len(line) <= WIDTH, line
                # A continuation starts with our mark or a sign, never with untrusted text.
                assert not line.lstrip(" ").startswith("::"), line
        for line in diff_lines(render_plan_markdown(plan, drift=drift)):
            assert len(line) <= WIDTH, line
