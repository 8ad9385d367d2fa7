"""Markdown render: summary first, deletions and breaking changes on top, escaped, capped."""

from __future__ import annotations

from titan_gitops.escape import escape_text, fence
from titan_gitops.model import Action, Change, FieldChange, Plan
from titan_gitops.render.cron_words import describe_cron
from titan_gitops.render.markdown import render_plan_markdown
from titan_gitops.secrets import SecretSet


def change(action: Action, name: str, **kw: object) -> Change:
    return Change(action=action, name=name, reason="because", **kw)  # type: ignore[arg-type]


def test_the_verdict_comes_first_then_the_cautions_then_the_non_zero_counts() -> None:
    plan = Plan(
        changes=(
            change(Action.CREATE, "shop-a"),
            change(Action.DELETE, "shop-gone", task_id="id-1"),
        )
    )
    text = render_plan_markdown(plan)
    verdict = "**Plan: 1 to create · 0 to update · 0 to rename · 1 to delete**"
    assert text.split("\n\n")[1] == verdict
    caution = "> [!CAUTION]\n> - **1 task will be deleted:** <code>shop-gone</code>"
    assert text.index(verdict) < text.index(caution) < text.index("| | Change | Tasks |")
    assert "| - | delete | 1 |\n| + | create | 1 |\n\n<details>" in text
    assert "update | 0" not in text
    # Deletes come first; the id is in the body, not the one-line summary.
    assert text.index("<b>delete</b>") < text.index("<b>create</b>")
    assert "<summary>- <b>delete</b> <code>shop-gone</code></summary>" in text
    assert "id <code>id-1</code>" in text


def test_breaking_changes_are_in_the_verdict_the_caution_and_the_badge() -> None:
    plan = Plan(
        changes=(
            change(Action.UPDATE, "shop-a", task_id="x", breaking=("output_schema p: removed",)),
            change(Action.UPDATE, "shop-b", task_id="y", fields=(FieldChange("/q", 1, 2),)),
        )
    )
    text = render_plan_markdown(plan)
    assert "to delete** · **⚠️ 1 breaking**" in text
    assert "> - **Breaking output_schema change in 1 task:** <code>shop-a</code>" in text
    assert "<summary>~ <b>update</b> <code>shop-a</code> ⚠️ <b>breaking</b></summary>" in text
    assert "- **Breaking:** output\\_schema p: removed" in text
    # A breaking change is read before any other update.
    assert text.index("<code>shop-a</code> ⚠️") < text.index("<code>shop-b</code></summary>")


def test_a_summary_line_is_html_escaped_only() -> None:
    plan = Plan(changes=(change(Action.DELETE, "shop-tmp_debug*<x>", task_id="1"),))
    text = render_plan_markdown(plan)
    assert "<summary>- <b>delete</b> <code>shop-tmp_debug*&lt;x&gt;</code></summary>" in text


def test_equal_updates_are_one_section_with_the_names_folded_past_ten() -> None:
    same = (FieldChange("/objective", "old", "new"),)
    updates = tuple(
        change(Action.UPDATE, f"shop-{i:02d}", task_id=str(i), fields=same) for i in range(14)
    )
    other = change(Action.UPDATE, "shop-x", task_id="x", fields=(FieldChange("/q", 1, 2),))
    text = render_plan_markdown(Plan(changes=(*updates, other)))
    assert text.count("<details>") == 3  # the group, its folded names, shop-x
    assert "~ <b>update</b> 14 tasks, the same change: <code>shop-00</code>, " in text
    assert "<code>shop-02</code> and 11 more</summary>" in text
    assert text.count('- objective: "old"') == 1
    assert "<summary>4 more</summary>" in text
    assert "<code>shop-13</code>" in text.split("<summary>4 more</summary>")[1]


def test_a_created_task_is_yaml_with_a_long_value_folded() -> None:
    schema = {"type": "object", "properties": {f"p{i}": {"type": "string"} for i in range(20)}}
    fields = (
        FieldChange("/name", None, "shop-a"),
        FieldChange("/output_schema", None, schema),
        FieldChange("/schedule", None, "0 * * * *"),
    )
    text = render_plan_markdown(Plan(changes=(change(Action.CREATE, "shop-a", fields=fields),)))
    assert '```yaml\nname: shop-a\nschedule: "0 * * * *"  # every hour at minute 0' in text
    assert "<summary>output_schema (23 lines)</summary>" in text
    assert "  p0: {type: string}" in text


def test_a_definition_links_to_its_file_at_the_commit_when_known() -> None:
    from titan_gitops.render.sections import link_to

    one = change(
        Action.UPDATE,
        "a",
        task_id="1",
        source="teams/shop/a b.yaml:3",
        fields=(FieldChange("/q", 1, 2),),
    )
    far = change(
        Action.UPDATE,
        "b",
        task_id="2",
        source="../elsewhere.yaml:1",
        fields=(FieldChange("/q", 1, 3),),
    )
    text = render_plan_markdown(
        Plan(changes=(one, far)), link=link_to("https://github.com/o/r/blob/abc/")
    )
    assert (
        "Defined in [<code>teams/shop/a b.yaml:3</code>]"
        "(https://github.com/o/r/blob/abc/teams/shop/a%20b.yaml#L3)"
    ) in text
    assert "Defined in <code>../elsewhere.yaml:1</code> ·" in text


def test_a_drift_report_says_the_sides_and_what_the_next_apply_does() -> None:
    plan = Plan(
        changes=(
            change(Action.DELETE, "shop-hotfix", task_id="1"),
            change(Action.UPDATE, "shop-a", task_id="2", fields=(FieldChange("/q", 1, 2),)),
        )
    )
    text = render_plan_markdown(plan, drift=True, checked_at="2026-11-30 14:05 UTC")
    assert "**Drift: 1 edited live · 1 created outside git**" in text
    assert "checked at 2026-11-30 14:05 UTC" in text
    assert "| ~ | edited live | 1 | sets the git values again |" in text
    assert "`-` is the live value and `+` the value in git" in text
    assert text.index("<b>edited live</b>") < text.index("<b>created outside git</b>")
    assert "[!CAUTION]" not in text


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
    assert escape_text("[x](http://e) *b* www.e") == r"\[x\](http\://e) \*b\* www\.e"


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
    assert (
        "# every hour at minute 0 → at 06:30 on weekdays, UTC (≈730 → ≈22 runs/month)"
    ) in render_plan_markdown(plan)
    assert describe_cron("@hourly") == "every hour, at minute 0 (UTC)"


def test_long_plans_are_capped_with_a_note() -> None:
    big = "x" * 2_000
    plan = Plan(
        changes=tuple(
            change(
                Action.UPDATE,
                f"t{i:03d}",
                task_id=str(i),
                fields=(FieldChange("/objective", f"a{i}", big),),
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


def test_the_counts_table_holds_the_non_zero_rows_only() -> None:
    from titan_gitops.render.markdown import counts_table

    change = Change(action=Action.DELETE, name="shop-x", task_id="1", reason="orphan")
    plan = Plan(changes=(change,), namespace="shop-")
    text = render_plan_markdown(plan)
    assert counts_table(plan) == "| | Change | Tasks |\n|---|---|---:|\n| - | delete | 1 |"
    assert counts_table(plan) in text
    assert "<code>shop-x</code>" in text


# --- bounds: no single value, and no number of changes, pushes the danger out -----------------


def test_cut_text_marks_what_it_cut() -> None:
    from titan_gitops.render.markdown import cut_text

    assert cut_text("short", 10) == "short"
    assert cut_text("x" * 12_345 + "abc", 3) == "xxx… (12,345 more characters)"


def test_cut_lines_cuts_at_a_line_and_says_how_much() -> None:
    from titan_gitops.render.markdown import cut_lines

    text = "\n".join(f"line {i}" for i in range(1_000))
    cut = cut_lines(text, 100)
    assert cut.splitlines()[-2].startswith("line ")
    assert cut.endswith("more characters)")
    assert len(cut.encode()) < 200
    assert cut_lines("one line", 100) == "one line"


def test_cut_markdown_counts_bytes_closes_blocks_and_keeps_the_start() -> None:
    from titan_gitops.render.markdown import cut_markdown, utf8_size

    text = "HEAD\n\n<details>\n<summary>s</summary>\n\n```diff\n" + "+ é€😀\n" * 50_000
    cut = cut_markdown(text, limit=1_000, note="_cut_")
    assert utf8_size(cut) <= 1_000
    assert cut.startswith("HEAD")
    assert cut.endswith("```\n</details>\n\n_cut_")
    # One enormous line is cut inside it rather than dropped whole.
    line = cut_markdown("HEAD " + "y" * 100_000, limit=500, note="_cut_")
    assert line.startswith("HEAD yyy")
    assert utf8_size(line) <= 500
    assert cut_markdown("fits", limit=10, note="_cut_") == "fits"


def test_one_huge_name_cannot_push_out_the_warning_or_the_table() -> None:
    from titan_gitops.render.markdown import counts_table, utf8_size

    huge = "shop-" + "&" * 100_000
    plan = Plan(
        changes=(
            change(Action.DELETE, huge, task_id="i" * 50_000),
            Change(
                action=Action.RENAME,
                name="shop-b",
                previous_name="shop-c",
                task_id="2",
                reason="r" * 1_000_000,
            ),
        )
    )
    text = render_plan_markdown(plan)
    assert utf8_size(text) <= 60_000
    assert text.index("**1 task will be deleted:**") < text.index(counts_table(plan))
    assert "shop-&amp;&amp;" in text
    assert "(99,885 more characters)" in text  # 100,005 characters, 120 shown
    assert "more characters)" in text.split("shop-b")[-1]
    assert text.count("<details>") == 2


def test_deletes_get_room_before_creates_and_what_is_left_out_is_counted() -> None:
    from titan_gitops.render.markdown import utf8_size

    creates = tuple(
        change(
            Action.CREATE,
            f"shop-new-{i:04d}",
            fields=(FieldChange("/objective", None, "o" * 1_500),),
        )
        for i in range(200)
    )
    deletes = tuple(change(Action.DELETE, f"shop-old-{i:02d}", task_id=str(i)) for i in range(30))
    text = render_plan_markdown(Plan(changes=creates + deletes), max_chars=30_000)
    assert utf8_size(text) <= 30_000
    assert all(f"shop-old-{i:02d}" in text.split("| - | delete | 30 |")[1] for i in range(30))
    assert "more changes not shown (create: " in text
    assert "delete:" not in text.split("not shown")[1]


def test_a_delete_without_room_for_its_section_keeps_a_one_line_entry() -> None:
    names = [f"shop-{i:03d}-" + "n" * 200 for i in range(400)]
    plan = Plan(
        changes=tuple(change(Action.DELETE, n, task_id=str(i)) for i, n in enumerate(names))
    )
    text = render_plan_markdown(plan, max_chars=60_000)
    assert len(text.encode()) <= 60_000
    assert "and " in text.split("will be deleted:**")[1].split("\n")[0]  # the banner is bounded
    assert "\n- \\- <b>delete</b> <code>shop-" in text  # the sign is not a nested list
    assert "not shown (delete: " in text
    assert "shown by name only: the full plan is in the output of `titan-gitops plan`" in text


def test_many_breaking_reasons_and_a_long_diff_are_cut_visibly() -> None:
    fields = tuple(FieldChange(f"/output_schema/p{i}", "a" * 3_000, None) for i in range(100))
    reasons = tuple(f"p{i}: property removed" for i in range(100))
    plan = Plan(
        changes=(change(Action.UPDATE, "shop-a", task_id="1", fields=fields, breaking=reasons),)
    )
    text = render_plan_markdown(plan)
    assert "- **Breaking:** … and 80 more" in text
    assert "(1,000 more characters)" in text  # one value: 3,000 characters, 2,000 shown
    assert text.count("- output_schema.p") < 100


def test_a_cut_never_leaves_part_of_a_masked_secret() -> None:
    secret = "tok-0123456789abcdef"
    name = "shop-" + "a" * 110 + secret
    plan = Plan(changes=(change(Action.DELETE, name, task_id="1"),))
    mask = SecretSet.of([secret]).mask
    text = render_plan_markdown(plan, mask=mask)
    assert "tok-01" not in text
    assert escape_text("***") in text


def test_the_cap_must_leave_room_for_the_head() -> None:
    import pytest

    with pytest.raises(ValueError, match="at least"):
        render_plan_markdown(Plan(changes=()), max_chars=1_000)
