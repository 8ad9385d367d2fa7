"""Plans and drift reports made with a base: who changed what, in text and Markdown alike."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.unit.test_markdown_rendered import assert_only_our_html, parse
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
from titan_gitops.render import threeway as tw
from titan_gitops.render.markdown import MIN_CHARS, must_show, render_plan_markdown
from titan_gitops.render.text import drift_summary_line, render_plan_text, summary_line
from titan_gitops.secrets import SecretSet

SHA = "a1b2c3d4" * 5
BASE = BaseInfo("main~1", SHA)
ADA = CommitInfo("c0ffee12" * 5, "Ada", "2026-11-20T10:00:00+00:00", "raise the limit")
AT = "2026-11-24T09:12:33.120Z"


def field(name: str, kind: str, base: Any, git: Any, live: Any) -> FieldAttribution:
    return FieldAttribution(name, kind, base, git, live)  # type: ignore[arg-type]


def attributed(name: str, story: str, kind: str, *fields: FieldAttribution, **kw: Any) -> Any:
    return TaskAttribution(name, story, kind, fields, **kw)  # type: ignore[arg-type]


def update(name: str, task_id: str, *fields: FieldChange, **kw: Any) -> Change:
    return Change(Action.UPDATE, name, "1 field differs", task_id=task_id, fields=fields, **kw)


LIVE_EDIT = attributed(
    "shop-a",
    "changed",
    "live_edit",
    field("objective", "live_edit", "Extract", "Extract", "Console fix"),
    live_updated_at=AT,
    path="defs/a.yaml",
)
CONFLICT = attributed(
    "shop-b",
    "changed",
    "conflict",
    field("objective", "conflict", "X", "Git", "Console"),
    field("urls", "pending", ["u"], ["v"], ["u"]),
    live_updated_at=AT,
    commit=ADA,
)
PENDING = attributed(
    "shop-c",
    "changed",
    "pending",
    field("limits", "pending", {"max": 1}, {"max": 2}, {"max": 1}),
    commit=ADA,
)
CREATED_LIVE = attributed("shop-d", "created_in_titan", "live_edit", live_updated_at=AT)
DELETED_LIVE = attributed("shop-e", "deleted_in_titan", "live_edit")
CONVERGED = attributed(
    "shop-f", "changed", "converged", field("token", "converged", "s1", "s2", "s2")
)
EDITED_REMOVED = attributed(
    "shop-g",
    "removed_in_git_edited_in_titan",
    "conflict",
    field("objective", "live_edit", "X", "X", "Y"),
    field("schedule", "live_edit", None, None, "0 * * * *"),
    live_updated_at=AT,
)


def unwrapped(text: str) -> str:
    """`text` with each `↳` continuation line joined back to the line it continues."""
    return re.sub(r"\n +↳ ", " ", text)


def plan_of(*tasks: TaskAttribution, changes: tuple[Change, ...] = (), base: Any = BASE) -> Plan:
    return Plan(changes, threeway=ThreeWay(base, tasks), target="prod", namespace="shop-")


def everything() -> Plan:
    return plan_of(
        LIVE_EDIT,
        CONFLICT,
        PENDING,
        CREATED_LIVE,
        DELETED_LIVE,
        CONVERGED,
        changes=(
            update("shop-a", "1", FieldChange("/objective", "Console fix", "Extract")),
            update("shop-b", "2", FieldChange("/objective", "Console", "Git")),
            update("shop-c", "3", FieldChange("/limits/max", 1, 2)),
            Change(Action.DELETE, "shop-d", "not defined", task_id="4"),
            Change(Action.CREATE, "shop-e", "no live task"),
            Change(
                Action.NO_OP,
                "shop-f",
                "matches",
                task_id="6",
                sensitive_pointers=frozenset({"/token"}),
            ),
        ),
    )


# --- the plan ---------------------------------------------------------------------------------


def test_a_plan_with_a_base_says_it_once_and_a_two_way_plan_says_nothing() -> None:
    text = render_plan_text(everything())
    assert text.count("Base: a1b2c3d (main~1)") == 1
    assert text.index("Namespace: shop-") < text.index("Base: ")
    two_way = Plan(everything().changes, target="prod", namespace="shop-")
    assert "Base" not in render_plan_text(two_way)
    assert "Base" not in render_plan_markdown(two_way)
    assert tw.NO_BASE == "Base: none — two-way plan"
    # A base given as a commit id is not said twice; a base without the directory says so.
    by_sha = plan_of(LIVE_EDIT, base=BaseInfo(SHA[:10], SHA, directory_existed=False))
    assert render_plan_text(by_sha).splitlines()[2] == (
        "Base: a1b2c3d — the directory did not exist then: every task in git is new"
    )


def test_each_reverting_change_carries_its_marker_under_its_heading() -> None:
    lines = unwrapped(render_plan_text(everything())).splitlines()

    def under(heading: str) -> str:
        return lines[lines.index(heading) + 1]

    assert under("  ~ shop-a  (update, id 1)") == (
        "      ! reverts a live edit: objective was changed in Titan at 2026-11-24T09:12Z"
    )
    assert under("  ~ shop-b  (update, id 2)") == (
        "      ! conflict: objective was changed in git (c0ffee1, Ada) and in Titan at "
        "2026-11-24T09:12Z; this apply keeps git's value"
    )
    assert under("  - shop-d  (delete, id 4)") == (
        "      ! deletes a task created in Titan at 2026-11-24T09:12Z"
    )
    assert under("  + shop-e  (create)") == "      ! recreates a task deleted in Titan"
    # A pending change is an ordinary change; a no-op is not shown at all.
    assert under("  ~ shop-c  (update, id 3)").startswith("      # ")
    assert sum(1 for line in lines if line.startswith("      ! ")) == 4


def test_a_delete_of_a_task_edited_in_titan_names_the_fields() -> None:
    plan = plan_of(
        EDITED_REMOVED, changes=(Change(Action.DELETE, "shop-g", "not defined", task_id="7"),)
    )
    assert "      ! deletes a task edited in Titan at 2026-11-24T09:12Z (objective, schedule)" in (
        render_plan_text(plan)
    )
    deleted_and_changed = attributed("shop-h", "deleted_in_titan_changed_in_git", "conflict")
    plan = plan_of(deleted_and_changed, changes=(Change(Action.CREATE, "shop-h", "none live"),))
    assert "! recreates a task deleted in Titan (git changed it too since the base)" in (
        render_plan_text(plan)
    )


def test_one_marker_line_per_field_and_no_time_when_none_is_known() -> None:
    many = attributed(
        "shop-a",
        "changed",
        "live_edit",
        *(field(f"f{i:02d}", "live_edit", 1, 1, 2) for i in range(13)),
    )
    plan = plan_of(many, changes=(update("shop-a", "1", FieldChange("/f00", 2, 1)),))
    marks = [line for line in render_plan_text(plan).splitlines() if "      ! " in line]
    assert marks[0] == "      ! reverts a live edit: f00 was changed in Titan"
    assert len(marks) == 11
    assert marks[-1] == "      ! and 3 more fields edited in Titan"


def test_the_summary_and_the_warning_count_the_reverting_changes() -> None:
    plan = everything()
    assert summary_line(plan) == (
        "Plan: 1 to create, 3 to update, 0 to rename, 1 to delete (⚠ 4 reverting live edits)."
    )
    text = unwrapped(render_plan_text(plan))
    assert (
        "Warning: 4 changes would overwrite edits made in Titan since the last apply "
        "(base a1b2c3d): shop-a, shop-b, shop-d, shop-e; apply refuses them unless overwrite "
        "is allowed."
    ) in text
    pending_only = plan_of(PENDING, changes=(update("shop-c", "3", FieldChange("/q", 1, 2)),))
    assert summary_line(pending_only) == "Plan: 0 to create, 1 to update, 0 to rename, 0 to delete."
    assert "Warning" not in render_plan_text(pending_only)


def test_markdown_plan_warns_next_to_the_cautions_and_marks_each_section() -> None:
    plan = everything()
    text = render_plan_markdown(plan)
    verdict = (
        "**Plan: 1 to create · 3 to update · 0 to rename · 1 to delete** · "
        "**⚠️ 4 reverting live edits**"
    )
    assert text.split("\n\n")[1] == verdict
    warning = (
        "> [!WARNING]\n> **4 changes would overwrite edits made in Titan since the last apply** "
        "(base <code>a1b2c3d</code>): <code>shop-a</code>, <code>shop-b</code>, "
        "<code>shop-d</code>, <code>shop-e</code>; apply refuses them unless overwrite is allowed."
    )
    assert text.index("> [!CAUTION]") < text.index(warning) < text.index("| | Change | Tasks |")
    assert "Base: <code>a1b2c3d</code> (<code>main\\~1</code>)" in text
    assert (
        "<summary>~ <b>update</b> <code>shop-a</code> ⚠️ <b>reverts a live edit</b></summary>"
        in (text)
    )
    assert (
        "- ⚠️ reverts a live edit: <code>objective</code> was changed in Titan at 2026-11-24T09:12Z"
    ) in text
    assert "<summary>~ <b>update</b> <code>shop-c</code></summary>" in text
    # Reverting changes are read first after the deletes, before an ordinary update.
    assert text.index("<code>shop-e</code> ⚠️") < text.index("<code>shop-c</code></summary>")
    for said in must_show(plan):
        assert said in text
    assert "**4 changes would overwrite edits made in Titan since the last apply**" in (
        must_show(plan)
    )
    document = parse(text)
    assert_only_our_html(document, hrefs=())


def test_equal_reverting_updates_are_not_folded_into_a_group() -> None:
    same = (FieldChange("/objective", "old", "new"),)
    changes = tuple(update(f"shop-{i}", str(i), *same) for i in range(3))
    edited = attributed(
        "shop-1", "changed", "live_edit", field("objective", "live_edit", "new", "new", "old")
    )
    text = render_plan_markdown(plan_of(edited, changes=changes))
    assert "2 tasks, the same change" in text
    assert "<summary>~ <b>update</b> <code>shop-1</code> ⚠️ <b>reverts a live edit</b>" in text


def test_a_cut_plan_keeps_every_reverting_change_and_drops_pending_ones() -> None:
    big = "x" * 1_500
    pending = [
        update(f"shop-p{i:03d}", f"p{i}", FieldChange("/objective", f"{i}{big}", f"{i}new{big}"))
        for i in range(60)
    ]
    reverting = [
        update(f"shop-r{i:02d}", f"r{i}", FieldChange("/objective", f"{i}{big}", f"{i}g{big}"))
        for i in range(12)
    ]
    tasks = [
        attributed(c.name, "changed", "live_edit", field("objective", "live_edit", 1, 1, 2))
        for c in reverting
    ] + [
        attributed(c.name, "changed", "pending", field("objective", "pending", 1, 2, 1))
        for c in pending
    ]
    plan = plan_of(*sorted(tasks, key=lambda t: t.name), changes=(*pending, *reverting))
    text = render_plan_markdown(plan, max_chars=MIN_CHARS)
    assert len(text.encode()) <= MIN_CHARS
    for change in reverting:
        assert f"<code>{change.name}</code> ⚠️ <b>reverts a live edit</b>" in text
    assert "more changes not shown (update: " in text
    assert sum(1 for c in pending if f"<code>{c.name}</code>" in text) < len(pending)
    for said in must_show(plan):
        assert said in text


# --- drift ------------------------------------------------------------------------------------


def test_drift_with_a_base_reads_class_by_class_most_urgent_first() -> None:
    text = unwrapped(render_plan_text(everything(), drift=True))
    headings = [line for line in text.splitlines() if " — " in line and line.endswith(":")]
    assert [h.split(" — ")[0] for h in headings] == [
        "Conflicts",
        "Live edits",
        "Pending (merged, not yet applied)",
        "Converged",
    ]
    assert "Live tasks differ from the definitions" not in text
    assert "changed outside git" not in text
    block = text.split("  !! shop-b  (changed in git and in Titan, id 2)\n")[1].split("\n\n")[0]
    # Each side that moved, as a plan shows a change: one line, or the items added and removed.
    assert block.splitlines() == [
        "      # objective (conflict): git since the base",
        '      ~ objective: "X" → "Git"',
        "      # objective (conflict): Titan since the base",
        '      ~ objective: "X" → "Console"',
        "      # urls (pending): git since the base; Titan as base",
        "      ~ urls:",
        '          - "u"',
        '          + "v"',
        "      changed in Titan at 2026-11-24T09:12Z",
        '      git: c0ffee1 by Ada, 2026-11-20 "raise the limit"',
    ]
    assert "  ! shop-a  (edited in Titan, id 1)\n" in text
    assert "  ! shop-d  (created in Titan, id 4)\n" in text
    assert "  ! shop-e  (deleted in Titan)\n      the next apply creates it again from git" in text
    assert "  ~ shop-c  (changed in git, not yet applied, id 3)\n" in text
    assert "      token: (sensitive) (converged)" in text
    assert text.endswith(
        "Drift: 1 conflict, 3 live edits, 1 pending (merged, not yet applied), 1 converged.\n"
    )


@pytest.mark.parametrize(
    ("task", "words"),
    [
        (attributed("s", "added_in_git", "pending"), "added in git, not yet applied"),
        (attributed("s", "removed_in_git", "pending"), "removed in git, not yet applied"),
        (EDITED_REMOVED, "removed in git and edited in Titan"),
        (attributed("s", "deleted_in_titan", "live_edit"), "deleted in Titan"),
        (attributed("s", "created_in_titan", "live_edit"), "created in Titan"),
        (attributed("s", "added_in_both", "converged"), "created in git and in Titan, alike"),
        (
            attributed("new", "changed", "pending", previous_name="old"),
            "renamed in git (old → new), not yet applied",
        ),
        (
            attributed("new", "changed", "live_edit", previous_name="old"),
            "renamed in git (old → new) and edited in Titan",
        ),
    ],
)
def test_every_story_in_words(task: TaskAttribution, words: str) -> None:
    plain = tw.Words(code=lambda t, _n: t, prose=lambda t, _n: t)
    assert tw.story_words(plain, task) == words


def test_a_removed_task_edited_live_shows_git_as_removed() -> None:
    text = render_plan_text(plan_of(EDITED_REMOVED), drift=True)
    assert (
        "      # objective (live edit): Titan since the base; the task is removed in git\n"
        '      ~ objective: "X" → "Y"\n'
        "      # schedule (live edit): Titan since the base; the task is removed in git\n"
        '      + schedule: "0 * * * *"\n'
    ) in text


def test_pending_only_says_plainly_that_nothing_changed_outside_git() -> None:
    plan = plan_of(PENDING, changes=(update("shop-c", "3", FieldChange("/limits/max", 1, 2)),))
    assert drift_summary_line(plan) == (
        "Drift: 1 pending (merged, not yet applied) — nothing changed outside git."
    )
    text = render_plan_markdown(plan, drift=True)
    assert "**Drift: 1 pending (merged, not yet applied) — nothing changed outside git**" in text
    assert drift_summary_line(plan_of()) == "No drift. Live tasks match the definitions."


def test_markdown_drift_verdict_table_and_sections() -> None:
    text = render_plan_markdown(everything(), drift=True, title="titan-gitops drift")
    verdict = (
        "**Drift: 1 conflict · 3 live edits · 1 pending (merged, not yet applied) · 1 converged**"
    )
    assert text.split("\n\n")[1] == verdict
    assert (
        "| | Since the base | Tasks | The next apply |\n|---|---|---:|---|\n"
        "| !! | conflict | 1 | sets git's values, losing the Titan edit |\n"
        "| ! | live edit | 3 | reverts the Titan edit |\n"
        "| ~ | pending | 1 | applies what was merged |\n"
        "| = | converged | 1 | does nothing |"
    ) in text
    order = ["#### Conflicts — 1 task", "#### Live edits — 3 tasks", "#### Pending", "#### Conv"]
    positions = [text.index(h) for h in order]
    assert positions == sorted(positions)
    assert "<summary>! <b>edited in Titan</b> <code>shop-a</code></summary>" in text
    assert (
        "<code>objective</code> (live edit): Titan since the base; git as base:\n\n"
        '```diff\n- objective: "Extract"\n+ objective: "Console fix"\n```\n\n'
        "- changed in Titan at 2026-11-24T09:12Z"
    ) in text
    assert "Defined in <code>defs/a.yaml</code> · id <code>1</code>" in text
    for said in must_show(everything(), drift=True):
        assert said in text
    assert_only_our_html(parse(text), hrefs=())


def test_a_cut_drift_report_keeps_every_conflict_and_live_edit() -> None:
    big = "y" * 3_000
    pending = [
        attributed(
            f"shop-p{i:03d}",
            "changed",
            "pending",
            field("objective", "pending", big, f"{i}{big}", big),
        )
        for i in range(40)
    ]
    urgent = [
        attributed(
            f"shop-l{i:03d}",
            "changed",
            "live_edit",
            field("objective", "live_edit", big, big, f"{i}{big}"),
        )
        for i in range(30)
    ]
    plan = plan_of(*urgent, *pending)
    text = render_plan_markdown(plan, drift=True, max_chars=MIN_CHARS)
    assert len(text.encode()) <= MIN_CHARS
    for task in urgent:
        assert f"<code>{task.name}</code>" in text
    assert sum(1 for t in pending if f"<code>{t.name}</code>" in text) < len(pending)
    assert re.search(r"_\d+ more tasks not shown \(pending: \d+\)", text)
    for said in must_show(plan, drift=True):
        assert said in text
    parse(text)


# --- hostile strings, secrets, times ----------------------------------------------------------

HOSTILE = "Eve\x1b[31m\n@octocat `x` <details><summary>pwn</summary>\u202e"


def hostile_plan() -> Plan:
    commit = CommitInfo(
        "d" * 40, HOSTILE, "2026-11-20\n<b>", HOSTILE + " [a](https://evil.example)"
    )
    task = attributed(
        "shop-a",
        "changed",
        "conflict",
        field("objective", "conflict", HOSTILE, "git " + HOSTILE, "```\n</details>@here"),
        field("bad\nfield<b>", "live_edit", 1, 1, 2),
        live_updated_at="yesterday\x1b[2J<i>",
        commit=commit,
    )
    return plan_of(task, changes=(update("shop-a", "1", FieldChange("/objective", "a", "b")),))


def test_hostile_strings_reach_no_terminal_raw() -> None:
    for text in (render_plan_text(hostile_plan()), render_plan_text(hostile_plan(), drift=True)):
        assert "\x1b" not in text
        assert "\u202e" not in text
        assert "\\x1b[31m\\n@octocat" in text
        # No line starts with untrusted text: each is indented under a sign or a heading.
        for line in text.splitlines():
            assert not line.startswith(("Eve", "@", "<", "`", "::"))


def test_hostile_strings_render_inert_in_markdown() -> None:
    for text in (
        render_plan_markdown(hostile_plan()),
        render_plan_markdown(hostile_plan(), drift=True),
    ):
        document = parse(text)
        assert_only_our_html(document, hrefs=())
        assert re.search(r"@[A-Za-z0-9]", document.text()) is None
        # A value is shown verbatim inside a fenced diff block, where a tag is only text.
        prose = re.sub(r"^(`{3,})diff\n.*?^\1$", "", text, flags=re.M | re.S)
        assert prose.count("<details>") == prose.count("</details>")
        assert "evil.example" not in "".join(str(v) for n in document.walk() for _k, v in n.attrs)


def test_values_are_masked_before_they_are_cut_and_sensitive_fields_show_none() -> None:
    secret = "hunter2-secret-value"
    task = attributed(
        "shop-a",
        "changed",
        "live_edit",
        field("objective", "live_edit", "x" * 50 + secret, "x" * 50 + secret, "new " + secret),
        field("payload", "live_edit", {"k": "old"}, {"k": "old"}, {"k": "new"}),
    )
    change = update(
        "shop-a",
        "1",
        FieldChange("/payload/k", "new", "old", True),
        sensitive_pointers=frozenset({"/payload/k"}),
    )
    plan = plan_of(task, changes=(change,))
    mask = SecretSet.of([secret]).mask
    for text in (
        render_plan_text(plan, drift=True, mask=mask),
        render_plan_markdown(plan, drift=True, mask=mask),
    ):
        assert "hunter2" not in text
        assert "payload" in text
        assert '"new"' not in text
        assert '"old"' not in text
        assert "(sensitive) (live edit)" in text


@pytest.mark.parametrize(
    ("stamp", "shown"),
    [
        ("2026-11-24T09:12:33Z", "2026-11-24T09:12Z"),
        ("2026-11-24T09:12:33.123456Z", "2026-11-24T09:12Z"),
        ("2026-11-24T09:12:33+00:00", "2026-11-24T09:12Z"),
        ("2026-11-24T11:12:33+02:00", "2026-11-24T11:12+02:00"),
        ("2026-11-24T09:12", "2026-11-24T09:12"),
        ("soon\x1b[2J", "soon\\x1b[2J"),
    ],
)
def test_times_are_shown_to_the_minute(stamp: str, shown: str) -> None:
    from titan_gitops.escape import escape_terminal

    words = tw.Words(
        code=lambda t, n: escape_terminal(t[:n]), prose=lambda t, n: escape_terminal(t[:n])
    )
    assert tw.minutes(words, stamp) == shown


def test_a_field_secret_in_the_base_only_shows_no_value_even_without_a_change() -> None:
    from titan_gitops.model import FieldAttribution, TaskAttribution
    from titan_gitops.render.threeway import is_sensitive

    task = TaskAttribution(
        "shop-a",
        "changed",
        "converged",
        (FieldAttribution("payload", "converged", {"k": "old"}, {"k": "new"}, {"k": "new"}),),
        sensitive_pointers=frozenset({"/payload/k"}),
    )
    assert is_sensitive("payload", None, task)
    assert not is_sensitive("objective", None, task)
    assert not is_sensitive("payload", None, None)


def test_a_list_side_shows_the_items_it_added_and_removed_not_a_cut_list() -> None:
    long = [f"https://shop.example/catalogue?page={n}" for n in range(1, 4)]
    task = attributed(
        "shop-a",
        "changed",
        "conflict",
        field("urls", "conflict", long, [*long, "https://shop.example/x"], long[1:]),
    )
    text = render_plan_text(plan_of(task), drift=True)
    git_side, live_side = text.split("# urls (conflict): Titan since the base")
    assert '          + "https://shop.example/x"' in git_side
    assert "page=1" not in git_side
    assert '          - "https://shop.example/catalogue?page=1"' in live_side
    backwards = field("urls", "live_edit", long, long, long[::-1])
    reordered = attributed("s", "changed", "live_edit", backwards)
    assert "      ~ urls: (order changed)" in render_plan_text(plan_of(reordered), drift=True)
