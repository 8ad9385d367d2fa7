"""Markdown render: summary first, deletions and breaking changes on top, escaped, capped."""

from __future__ import annotations

from titan_gitops.escape import escape_text, fence
from titan_gitops.model import Action, Change, FieldChange, Plan
from titan_gitops.render.cron_words import describe_cron
from titan_gitops.render.markdown import render_plan_markdown
from titan_gitops.secrets import SecretSet


def change(action: Action, name: str, **kw: object) -> Change:
    return Change(action=action, name=name, reason="because", **kw)  # type: ignore[arg-type]


def test_summary_table_comes_before_details_and_deletes_are_bold_on_top() -> None:
    plan = Plan(
        changes=(
            change(Action.CREATE, "shop-a"),
            change(Action.DELETE, "shop-gone", task_id="id-1"),
        )
    )
    text = render_plan_markdown(plan)
    assert text.index("**⚠️ 1 task will be deleted:**") < text.index("| + | create | 1 |")
    assert text.index("| - | delete | 1 |") < text.index("<details>")
    assert text.count("<details>") == 2


def test_breaking_changes_are_flagged_at_the_top_and_in_the_block() -> None:
    plan = Plan(
        changes=(
            change(Action.UPDATE, "shop-a", task_id="x", breaking=("output_schema p: removed",)),
        )
    )
    text = render_plan_markdown(plan)
    assert "**⚠️ Breaking output_schema change in:** <code>shop-a</code>" in text
    assert "**Breaking:**" in text


def test_user_strings_cannot_inject_html_mentions_or_break_fences() -> None:
    evil = "<img src=x onerror=alert(1)> @octocat ```"
    plan = Plan(
        changes=(
            change(
                Action.UPDATE,
                evil,
                task_id="x",
                fields=(FieldChange("/objective", "a", "```\n</details> @admin"),),
            ),
        )
    )
    text = render_plan_markdown(plan)
    assert "<img" not in text
    assert "@octocat" not in text
    assert "@admin" not in text
    # The diff fence is longer than any backtick run inside it.
    assert "````diff" in text


def test_fence_outgrows_backticks_inside() -> None:
    assert fence("a ````` b").startswith("``````")


def test_escape_text_defuses_markdown() -> None:
    assert escape_text("[x](http://e) *b*") == r"\[x\](http://e) \*b\*"


def test_schedule_is_shown_with_plain_words() -> None:
    plan = Plan(
        changes=(
            change(
                Action.UPDATE,
                "t",
                task_id="x",
                fields=(FieldChange("/schedule", "0 * * * *", "30 6 * * 1-5"),),
            ),
        )
    )
    assert "30 6 * * 1-5 = at 06:30 on weekdays (UTC)" in render_plan_markdown(plan)
    assert describe_cron("@hourly") == "every hour, at minute 0 (UTC)"


def test_long_plans_are_capped_with_a_note() -> None:
    big = "x" * 2_000
    plan = Plan(
        changes=tuple(
            change(
                Action.UPDATE,
                f"t{i:03d}",
                task_id=str(i),
                fields=(FieldChange("/objective", "a", big),),
            )
            for i in range(100)
        )
    )
    text = render_plan_markdown(plan, max_chars=60_000)
    assert len(text) < 60_000
    assert "more changes not shown" in text


def test_secrets_are_masked_even_when_escaped() -> None:
    secret = "s3cr.et_value*[x]"
    plan = Plan(changes=(change(Action.CREATE, f"name-{secret}"),))
    text = SecretSet.of([secret]).mask(render_plan_markdown(plan))
    assert secret not in text
    assert escape_text(secret) not in text


def test_no_changes_says_so() -> None:
    assert "**No changes.**" in render_plan_markdown(Plan(changes=()))
    assert "**No drift.**" in render_plan_markdown(Plan(changes=()), drift=True)


def test_quotes_and_angle_brackets_are_escaped_once() -> None:
    assert escape_text("it's <b>&") == "it's &lt;b&gt;&amp;"


def test_summary_table_rows_are_one_block() -> None:
    from titan_gitops.model import Action, Change, Plan

    change = Change(action=Action.DELETE, name="shop-x", task_id="1", reason="orphan")
    text = render_plan_markdown(Plan(changes=(change,), namespace="shop-"))
    table = text[text.index("| | Change | Tasks |") :]
    assert table.startswith("| | Change | Tasks |\n|---|---|---:|\n| + | create | 0 |\n")
    assert "<code>shop-x</code>" in text
