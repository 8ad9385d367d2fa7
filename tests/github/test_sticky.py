"""The sticky comment: markers, lookup among bot comments, and the size cap."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from titan_gitops.github.sticky import (
    COMMENT_LIMIT,
    MAX_ITEMS,
    ApprovalRecord,
    cap_comment,
    compose_plan_comment,
    find_sticky_comment,
    format_markers,
    normalise_directory,
    parse_approval,
)

BOT = {"login": "github-actions[bot]", "type": "Bot"}
HUMAN = {"login": "mallory", "type": "User"}


def test_marker_has_the_documented_shape() -> None:
    markers = format_markers("teams/shop", "abc123", sha="f" * 40, items=["aa", "bb"])
    first, second = markers.splitlines()
    assert first == "<!-- titan-gitops:plan dir=teams/shop digest=abc123 -->"
    assert second == f"<!-- titan-gitops:changes sha={'f' * 40} items=aa,bb -->"


@given(
    st.text(min_size=1, max_size=40).filter(lambda s: s.strip() and "\x00" not in s),
    st.from_regex(r"[0-9a-f]{8,64}", fullmatch=True),
    st.lists(st.from_regex(r"[0-9a-f]{16}", fullmatch=True), max_size=5),
)
def test_markers_round_trip_for_any_directory(
    directory: str, digest: str, items: list[str]
) -> None:
    record = parse_approval("intro\n" + format_markers(directory, digest, items=items) + "\nrest")
    assert record == ApprovalRecord(
        directory=normalise_directory(directory), digest=digest, sha="", items=frozenset(items)
    )


def test_a_directory_cannot_close_the_html_comment() -> None:
    markers = format_markers("a --> <b>", "d1")
    assert markers.count("-->") == 2
    assert parse_approval(markers) == ApprovalRecord("a --> <b>", "d1", "", frozenset())


def test_too_many_items_are_not_listed() -> None:
    record = parse_approval(format_markers("x", "d", items=["ab" * 8] * (MAX_ITEMS + 1)))
    assert record is not None
    assert record.items is None


def test_only_bot_comments_for_the_same_directory_are_found() -> None:
    forged = {"id": 1, "user": HUMAN, "body": format_markers("teams/shop", "forged")}
    other = {"id": 2, "user": BOT, "body": format_markers("teams/search", "d2")}
    ours = {"id": 3, "user": BOT, "body": format_markers("./teams/shop/", "d3")}
    found = find_sticky_comment([forged, other, ours], "teams/shop")
    assert found is not None
    assert found[0]["id"] == 3
    assert found[1].digest == "d3"
    assert find_sticky_comment([forged, other], "teams/shop") is None


def test_a_long_plan_is_cut_under_the_limit_keeping_markers_and_closing_blocks() -> None:
    block = "<details>\n<summary>x</summary>\n\n```diff\n" + "+ line\n" * 50 + "```\n</details>\n"
    markdown = "### plan\n\n" + block * 2000
    body = compose_plan_comment(
        markdown,
        directory="teams/shop",
        digest="d" * 64,
        footer="footer text",
        overflow_note="_cut: see the step summary_",
    )
    assert len(body) < COMMENT_LIMIT
    assert body.startswith("<!-- titan-gitops:plan dir=teams/shop digest=" + "d" * 64)
    assert "_cut: see the step summary_" in body
    assert body.rstrip().endswith("footer text")
    head = body.split("_cut: see the step summary_")[0]
    assert head.count("<details>") == head.count("</details>")
    assert head.count("```") % 2 == 0


def test_a_short_plan_is_untouched() -> None:
    assert cap_comment("short", overflow_note="x", limit=100) == "short"


def test_the_kinds_line_is_additive_and_older_comments_still_parse() -> None:
    markers = format_markers("teams/shop", "d1", sha="f" * 40, kinds=["deletes", "changes"])
    assert markers.splitlines()[2] == "<!-- titan-gitops:labels kinds=changes,deletes -->"
    record = parse_approval(markers)
    assert record is not None
    assert record.kinds == frozenset({"changes", "deletes"})
    older = parse_approval(format_markers("teams/shop", "d1", sha="f" * 40))
    assert older == ApprovalRecord("teams/shop", "d1", "f" * 40, frozenset(), None)
    empty = parse_approval(format_markers("teams/shop", "d1", kinds=[]))
    assert empty is not None
    assert empty.kinds == frozenset()
