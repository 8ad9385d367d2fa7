"""A field change as a reviewer reads it: nested paths, item lists, line diffs, folded values."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from tests.unit.test_markdown import change
from titan_gitops.cron import runs_per_month
from titan_gitops.model import Action, FieldChange, Plan
from titan_gitops.render.cron_words import about, schedule_comment
from titan_gitops.render.fields import WIDTH, field_lines, fold, yaml_lines, yaml_scalar
from titan_gitops.render.markdown import render_plan_markdown
from titan_gitops.render.text import render_plan_text
from titan_gitops.secrets import SecretSet


def lines(field: FieldChange, *, arrows: bool = True) -> list[tuple[str, str, bool]]:
    return [(x.sign, x.text, x.nested) for x in field_lines(field, field.path, arrows=arrows)]


# --- paths -------------------------------------------------------------------------------------


def test_a_list_index_is_shown_in_brackets() -> None:
    field = FieldChange("/execution_plan/steps/1/limits/max_results", 10, 20)
    assert field.path == "execution_plan.steps[1].limits.max_results"
    assert FieldChange("/payload/a~1b/0", 1, 2).path == "payload.a/b[0]"
    # A leading segment is a field name whatever it looks like.
    assert FieldChange("/0/x", 1, 2).path == "0.x"


# --- short and long values ---------------------------------------------------------------------


def test_a_short_change_is_one_line_with_an_arrow_or_two_signed_lines() -> None:
    field = FieldChange("/limits/max_results", 10, 20)
    assert lines(field) == [("~", "limits.max_results: 10 → 20", False)]
    assert lines(field, arrows=False) == [
        ("-", "limits.max_results: 10", False),
        ("+", "limits.max_results: 20", False),
    ]


def test_a_long_created_value_is_pretty_printed_and_no_line_is_too_wide() -> None:
    schema = {
        "type": "object",
        "properties": {f"field_{i}": {"type": "string", "maxLength": 100} for i in range(8)},
        "required": [f"field_{i}" for i in range(8)],
    }
    (head, *body) = lines(FieldChange("/output_schema", None, schema))
    assert head == ("+", "output_schema:", False)
    assert [sign for sign, _, nested in body] == ["+"] * len(body)
    assert all(nested for _, _, nested in body)
    assert body[-1][1] == "type: object"
    assert any(text.startswith("required: [field_0, field_1") for _, text, _ in body)
    text = render_plan_text(
        Plan(
            changes=(
                change(Action.CREATE, "t", fields=(FieldChange("/output_schema", None, schema),)),
            )
        )
    )
    assert max(len(line) for line in text.splitlines()) <= WIDTH


def test_a_long_value_too_wide_either_way_is_shown_as_two_blocks() -> None:
    before, after = {"q": "a", "r": "x" * 90}, {"q": "b", "r": "x" * 90}
    assert lines(FieldChange("/payload", before, after)) == [
        ("~", "payload:", False),
        ("-", "q: a", True),
        ("-", "r: " + "x" * 90, True),
        ("+", "q: b", True),
        ("+", "r: " + "x" * 90, True),
    ]


def test_a_long_value_is_block_yaml_keeping_what_fits_in_flow_style() -> None:
    value = {"a": {"b": "x" * 20}, "c": [1, 2], "d": [{"e": "f" * 20, "g": 1}]}
    assert yaml_lines(value, width=24) == [
        "a:",
        "  b: xxxxxxxxxxxxxxxxxxxx",
        "c: [1, 2]",
        "d:",
        "  - e: ffffffffffffffffffff",
        "    g: 1",
    ]
    assert yaml_lines([], width=1) == ["[]"]


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("plain words", "plain words"),
        ("https://a.example/x?q=1&b=2", "https://a.example/x?q=1&b=2"),
        ("yes", '"yes"'),
        ("12", '"12"'),
        ("2026-01-01", '"2026-01-01"'),
        ("key: value", '"key: value"'),
        ("a #comment", '"a #comment"'),
        ("trailing ", '"trailing "'),
        ("", '""'),
        ("-dash", '"-dash"'),
        (None, "null"),
        (True, "true"),
        (1.5, "1.5"),
    ],
)
def test_a_string_is_plain_only_when_yaml_reads_it_back_as_that_string(
    value: object, shown: str
) -> None:
    assert yaml_scalar(value) == shown


# Controls are not YAML's to show: the output layer shows them escaped.
_PRINTABLE = st.characters(blacklist_categories=("Cc", "Cs", "Cf", "Co", "Cn"))
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(_PRINTABLE | st.just("\n"), max_size=12),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(_PRINTABLE, max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@given(_JSON, st.integers(min_value=8, max_value=60))
@example(["0\n"], 8)
def test_block_yaml_reads_back_as_the_value(value: object, width: int) -> None:
    from ruamel.yaml import YAML

    # A document ends with a line break, which a literal block ending the document keeps.
    text = "\n".join(yaml_lines(value, width=width)) + "\n"
    loaded = YAML(typ="safe", pure=True).load(text)
    assert loaded == value


def test_each_string_is_masked_before_it_is_laid_out() -> None:
    secret = "tok-0123456789"
    shown = yaml_lines({"a": [f"x {secret} y"]}, SecretSet.of([secret]).mask, width=10)
    assert secret not in "\n".join(shown)
    assert shown == ["a:", '  - "x *** y"']


def test_fold_cuts_at_a_space_or_at_the_width_and_indents_what_follows() -> None:
    assert fold(["  one two three four"], width=12) == ["  one two", "    three", "    four"]
    assert fold(["abcdefghij"], width=4) == ["abcd", "  ef", "  gh", "  ij"]
    assert fold([""]) == [""]


# --- lists of plain values ---------------------------------------------------------------------


def test_a_list_of_plain_values_shows_the_items_removed_and_added() -> None:
    field = FieldChange(
        "/urls", ["https://a", "https://b", "https://c"], ["https://a", "https://d", "https://c"]
    )
    assert lines(field) == [
        ("~", "urls:", False),
        ("-", '"https://b"', True),
        ("+", '"https://d"', True),
    ]


def test_a_reordered_list_says_so_and_shows_both_orders() -> None:
    field = FieldChange("/urls", ["https://a", "https://b"], ["https://b", "https://a"])
    assert lines(field) == [
        ("~", "urls: (order changed)", False),
        ("-", '["https://a", "https://b"]', True),
        ("+", '["https://b", "https://a"]', True),
    ]


def test_a_repeated_item_counts_once_per_copy() -> None:
    field = FieldChange("/proxy_locations", ["us", "us", "de"], ["us", "de"])
    assert lines(field) == [("~", "proxy_locations:", False), ("-", '"us"', True)]


# --- texts -------------------------------------------------------------------------------------


def test_a_multi_line_text_is_a_line_diff_with_context_and_ellipses() -> None:
    old = "\n".join(f"line {i}" for i in range(12))
    new = old.replace("line 6", "line six")
    assert lines(FieldChange("/objective", old, new)) == [
        ("~", "objective:", False),
        (" ", "…", True),
        *(("|", f"line {i}", True) for i in (3, 4, 5)),
        ("-", "line 6", True),
        ("+", "line six", True),
        *(("|", f"line {i}", True) for i in (7, 8, 9)),
        (" ", "…", True),
    ]


def test_a_long_one_line_text_is_folded_on_both_sides() -> None:
    old, new = "word " * 30, "word " * 29 + "verb"
    shown = lines(FieldChange("/objective", old, new))
    assert shown[0] == ("~", "objective:", False)
    assert all(len(text) <= WIDTH - 14 for _, text, _ in shown)
    assert {sign for sign, _, _ in shown[1:]} <= {"-", "+", "|"}
    assert any(sign == "+" and text.endswith("verb") for sign, text, _ in shown)


def test_a_text_turned_into_a_number_is_not_a_line_diff() -> None:
    assert lines(FieldChange("/objective", "x" * 90, 5)) == [
        ("~", f'objective: "{"x" * 90}" → 5', False)
    ]


# --- schedules ---------------------------------------------------------------------------------


def test_a_changed_schedule_says_both_in_words_with_runs_per_month() -> None:
    field = FieldChange("/schedule", "0 * * * *", "*/30 * * * *")
    assert lines(field) == [
        ("~", 'schedule: "0 * * * *" → "*/30 * * * *"', False),
        (
            "#",
            "every hour at minute 0 → every 30 minutes, UTC (≈730 → ≈1,460 runs/month)",
            True,
        ),
    ]


def test_an_added_or_removed_schedule_is_put_in_words_once() -> None:
    added = lines(FieldChange("/schedule", None, "0 9-17 * * 1-5"))
    assert added[1] == ("#", "at minute 0 of hours 9-17 on weekdays, UTC (≈196 runs/month)", True)
    removed = lines(FieldChange("/schedule", "@weekly", None))
    assert removed[1] == ("#", "every Sunday at 00:00, UTC (≈4.3 runs/month)", True)


def test_a_schedule_that_is_not_cron_gets_no_count() -> None:
    assert schedule_comment("not cron", None) == "not cron, UTC"
    assert schedule_comment(None, None) is None


def test_runs_per_month_are_counted_over_a_leap_cycle() -> None:
    assert runs_per_month("0 * * * *") == 730.5
    assert runs_per_month("* * * * *") == 43_830
    assert runs_per_month("0 0 1 * *") == 1
    assert runs_per_month("0 0 29 2 *") == 1 / 48
    # Day of month and day of week both set: either one fires, as in cron.
    either = runs_per_month("0 0 13 * 5")
    assert either is not None
    assert 4.3 < either < 5.3
    assert runs_per_month("0 0 * * 1-5") == 1045 / 48
    assert runs_per_month("@daily") == 1461 / 48
    assert runs_per_month("0 0 * 2 *") == 113 / 48
    assert runs_per_month("61 * * * *") is None


def test_counts_are_shown_to_three_figures() -> None:
    assert [about(x) for x in (730.5, 1461, 43_830, 195.9, 30.44, 4.33, 0.0208)] == [
        "730",
        "1,460",
        "43,800",
        "196",
        "30",
        "4.3",
        "0.021",
    ]


# --- secrets -----------------------------------------------------------------------------------


def test_a_sensitive_field_is_one_line_whatever_its_value() -> None:
    field = FieldChange("/payload/token", "a" * 500, "b\nc", sensitive=True)
    assert lines(field) == [("~", "payload.token: (sensitive value)", False)]


def test_a_secret_in_a_long_value_is_masked_before_the_value_is_folded() -> None:
    secret = "s3cr3t-" + "x" * 150  # longer than a line: a fold would cut it in two
    field = FieldChange("/payload", None, {"note": f"before {secret} after"})
    plan = Plan(changes=(change(Action.CREATE, "t", fields=(field,)),))
    mask = SecretSet.of([secret]).mask
    for text in (render_plan_text(plan, mask=mask), render_plan_markdown(plan, mask=mask)):
        assert "xxxxxxxxxx" not in text
        assert "***" in text


def test_markdown_puts_the_sign_first_on_every_line() -> None:
    field = FieldChange("/urls", ["https://a"], ["https://b"])
    plan = Plan(changes=(change(Action.UPDATE, "t", task_id="1", fields=(field,)),))
    text = render_plan_markdown(plan)
    assert '~ urls:\n-     "https://a"\n+     "https://b"\n' in text


def test_no_line_of_a_value_starts_like_a_workflow_command() -> None:
    old = "A\n::error::pwned\nB"
    field = FieldChange("/objective", old, old.replace("A", "C"))
    plan = Plan(changes=(change(Action.UPDATE, "t", task_id="1", fields=(field,)),))
    for text in (render_plan_text(plan), render_plan_markdown(plan)):
        assert "::error::pwned" in text
        assert not [line for line in text.splitlines() if line.strip().startswith("::")]


def test_a_text_over_several_lines_is_a_literal_block_when_it_reads_back_the_same() -> None:
    assert yaml_lines({"objective": "One.\nTwo.\n"}) == ["objective: |", "  One.", "  Two."]
    assert yaml_lines({"objective": "One.\n\nTwo."}) == ["objective: |-", "  One.", "", "  Two."]
    # A first line starting with a space, or trailing blank lines, stay quoted on one line.
    assert yaml_lines({"o": " One.\nTwo."}) == ['o: " One.\\nTwo."']
    assert yaml_lines({"o": "One.\n\n"}) == ['o: "One.\\n\\n"']


def test_the_text_summary_counts_the_changes_that_break_a_schema() -> None:
    from titan_gitops.render.text import summary_line

    breaking = change(Action.UPDATE, "a", task_id="1", breaking=("output_schema p: removed",))
    plain = change(Action.UPDATE, "b", task_id="2", fields=(FieldChange("/q", 1, 2),))
    assert summary_line(Plan(changes=(breaking, plain))) == (
        "Plan: 0 to create, 2 to update, 0 to rename, 0 to delete (⚠ 1 breaking an output_schema)."
    )
    assert summary_line(Plan(changes=(plain,))).endswith("0 to delete.")
