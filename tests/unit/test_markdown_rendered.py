"""Proof by rendering: the review surface as GitHub renders it (cmark-gfm, GitHub's extensions).

Each golden Markdown, the pull request comment and the drift issue of hostile plans are rendered
to HTML and read as a reviewer would: the verdict first, the caution an alert, the counts a
table, every <details> closed, no stray Markdown or escapes in the visible text, every name shown
exactly as it is, and nothing a name or value can add: no tag, no link, no mention.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import cmarkgfm
import pytest
from cmarkgfm.cmark import Options

from titan_gitops.escape import escape_terminal
from titan_gitops.github.drift_issue import compose_drift_issue
from titan_gitops.github.review import compose_reviewed_comment
from titan_gitops.model import Action, Change, FieldChange, Plan
from titan_gitops.render.sections import NAME_CHARS, cut_text, link_to
from titan_gitops.secrets import SecretSet

SCENARIOS = Path(__file__).parents[1] / "scenarios"
GOLDENS = sorted([*SCENARIOS.glob("*/plan.md"), *SCENARIOS.glob("*/drift.md")])
# What GitHub's comment renderer enables: its extensions, raw HTML (GitHub then sanitises it).
EXTENSIONS = ["table", "strikethrough", "autolink", "tagfilter", "tasklist"]
OPTIONS = Options.CMARK_OPT_UNSAFE | Options.CMARK_OPT_GITHUB_PRE_LANG
# Every tag and attribute our Markdown may render to; anything else came from a user string.
TAGS = {
    "h3", "h4", "p", "strong", "em", "code", "pre", "table", "thead", "tbody", "tr", "th", "td",
    "details", "summary", "b", "ul", "li", "blockquote", "a", "sub",
}  # fmt: skip
ATTRIBUTES = {("pre", "lang"), ("th", "align"), ("td", "align"), ("a", "href")}
# Names may hold anything: they are checked whole, as the text of their <code>; prose is not.
PROSE = ("pre", "code")
REPOSITORY = "https://github.com/o/r/blob/0123abcd/"
RUN_URL = "https://github.com/o/r/actions/runs/1"
SECRET = "hunter2-secret-value"
HOSTILE_NAMES = (
    "shop-tmp_debug*x*__y__\\_z",
    "<img src=x onerror=alert(1)>",
    "</code></summary></details><script>alert(1)</script>",
    "@octocat and @org/team",
    "a`b``c```d",
    "&amp;lt;&lt;&",
    "[click](https://evil.example/login)",
    "**Plan: 0 to create · 0 to update · 0 to rename · 0 to delete**",
    "> [!CAUTION]\n> nothing to see",
    "<!-- hidden",
    "a|b|c",
)


@dataclass
class Node:
    """One element of the rendered HTML (text children as str)."""

    tag: str
    attrs: list[tuple[str, str | None]] = field(default_factory=list)
    children: list[Node | str] = field(default_factory=list)

    def text(self, skip: Sequence[str] = ()) -> str:
        return "".join(
            c if isinstance(c, str) else "" if c.tag in skip else c.text(skip)
            for c in self.children
        )

    def elements(self) -> list[Node]:
        return [c for c in self.children if isinstance(c, Node)]

    def walk(self) -> Iterator[Node]:
        yield self
        for child in self.elements():
            yield from child.walk()

    def find_all(self, tag: str) -> list[Node]:
        return [n for n in self.walk() if n.tag == tag]


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("document")
        self.stack = [self.root]
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, attrs)
        self.stack[-1].children.append(node)
        if tag not in ("br", "hr", "img", "input"):
            self.stack.append(node)

    def handle_endtag(self, tag: str) -> None:
        if self.stack[-1].tag != tag:
            self.problems.append(f"</{tag}> closes <{self.stack[-1].tag}>")
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)

    def handle_comment(self, data: str) -> None:
        self.stack[-1].children.append(Node("!--", [], [data]))


def render(markdown: str) -> str:
    html: str = cmarkgfm.markdown_to_html_with_extensions(
        markdown, options=OPTIONS, extensions=EXTENSIONS
    )
    return html


def parse(markdown: str) -> Node:
    """The rendered HTML as a tree; fails on any tag left open or closed out of order."""
    builder = _TreeBuilder()
    builder.feed(render(markdown))
    builder.close()
    open_tags = [n.tag for n in builder.stack[1:]]
    assert not builder.problems, builder.problems
    assert not open_tags, open_tags
    return builder.root


def assert_only_our_html(document: Node, hrefs: Sequence[str] = (REPOSITORY, RUN_URL)) -> None:
    """No tag, attribute, link or comment that a user string could have added."""
    for node in document.walk():
        if node is document or node.tag == "!--":
            continue
        assert node.tag in TAGS, f"<{node.tag}> rendered: {node}"
        for name, value in node.attrs:
            assert (node.tag, name) in ATTRIBUTES, f"<{node.tag} {name}={value!r}> rendered"
            if name == "href":
                assert str(value).startswith(tuple(hrefs)), f"a link to {value!r}"
    comments = [n for n in document.walk() if n.tag == "!--"]
    assert all("titan-gitops:" in n.text() for n in comments), comments
    for details in document.find_all("details"):
        assert details.elements()[0].tag == "summary", "each <details> opens with its summary"


def assert_clean_text(document: Node, skip: Sequence[str] = ("pre",)) -> None:
    """Visible text (but what `skip` names) holds no Markdown, escapes or entities shown raw."""
    text = document.text(skip=(*skip, "!--"))
    assert "**" not in text
    assert "\\" not in text, text[max(text.index("\\") - 80, 0) : text.index("\\") + 80]
    for entity in ("&lt;", "&gt;", "&amp;", "&quot;", "&#"):
        assert entity not in text, entity
    # A mention anywhere outside a code block would notify someone.
    assert re.search(r"@[A-Za-z0-9]", text) is None


def shown_name(name: str) -> str:
    """A name as a reviewer reads it: unsafe characters made visible, long ones cut, a mention
    kept from notifying by a word joiner after its `@`."""
    return re.sub(r"@(?=\w)", "@\u2060", cut_text(escape_terminal(name), NAME_CHARS))


def code_texts(document: Node) -> set[str]:
    return {n.text() for n in document.find_all("code")}


def golden_id(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


@pytest.mark.parametrize("path", GOLDENS, ids=[golden_id(p) for p in GOLDENS])
def test_every_golden_renders_as_a_reviewer_reads_it(path: Path) -> None:
    # The goldens hold `<id-1>` for ids (and commits, minutes), which HTML would read as a tag.
    tokens = r"<(id|time|sha|commit|minute)-(\d+)>"
    markdown = re.sub(tokens, r"\1-\2", path.read_text(encoding="utf-8"))
    document = parse(markdown)
    assert_only_our_html(document, hrefs=())
    assert_clean_text(document)
    top = [e for e in document.elements() if e.tag != "!--"]
    assert top[0].tag == "h3"
    verdict = top[1]
    assert verdict.tag == "p"
    assert verdict.elements()[0].tag == "strong"
    assert re.match(r"(Plan: \d+ to create|No changes\.|Drift: |No drift\.)", verdict.text())
    if "[!CAUTION]" in markdown:
        caution = top[2]
        assert caution.tag == "blockquote"
        assert caution.elements()[0].text() == "[!CAUTION]"
        assert caution.elements()[1].tag == "ul"
    if "| Tasks |" in markdown:
        (table,) = document.find_all("table")
        rows = table.find_all("tbody")[0].find_all("tr")
        counted = re.findall(r"^\| (?:[-+~→=]|!!?) \|", markdown, flags=re.MULTILINE)
        assert len(rows) == len(counted) > 0
        assert all(int(row.elements()[2].text()) > 0 for row in rows)
    # Every folded section renders folded (a plan with no change has none).
    folded = markdown.count("<details>\n<summary>")
    assert len(document.find_all("details")) == folded
    assert (folded > 0) is not verdict.text().startswith(("No changes.", "No drift."))


def rendered_comment(plan: Plan) -> tuple[str, Node]:
    mask = SecretSet.of([SECRET]).mask
    body = compose_reviewed_comment(
        plan,
        title="titan-gitops plan: teams/shop",
        directory="teams/shop",
        sha="a" * 40,
        footer="<sub>footer</sub>",
        overflow_note="_cut_",
        mask=mask,
        full_plan=f"the step summary of [this run]({RUN_URL})",
        link=link_to(REPOSITORY),
    )
    return body, parse(body)


def template_updates(count: int, *, breaking: tuple[str, ...] = ()) -> list[Change]:
    """`count` updates made by one template change: the same fields, values and breaks."""
    same = (
        FieldChange("/output_schema/properties/score/type", "number", "string"),
        FieldChange("/output_schema/required", ["name"], ["name", "score"]),
    )
    return [
        Change(
            action=Action.UPDATE,
            name=f"shop-review-digest-for-the-team-in-region-{i:04d}",
            reason="differs",
            task_id=f"t{i}",
            fields=same,
            breaking=breaking,
        )
        for i in range(count)
    ]


def group_of(document: Node) -> Node:
    (group,) = [
        d
        for d in document.find_all("details")
        if "tasks, the same change" in d.elements()[0].text()
    ]
    return group


def test_146_identical_updates_are_one_section_with_the_names_folded_and_the_diff_once() -> None:
    other = Change(
        action=Action.UPDATE,
        name="shop-other",
        reason="differs",
        task_id="o",
        fields=(FieldChange("/objective", "a", "b"),),
    )
    plan = Plan(changes=(*template_updates(146), other), change_digest="c" * 64)
    _, document = rendered_comment(plan)
    assert_only_our_html(document)
    assert_clean_text(document)
    group = group_of(document)
    assert group.elements()[0].text().startswith("~ update 146 tasks, the same change: ")
    first, folded = group.elements()[1], group.elements()[2]
    assert first.tag == "p"
    assert len(first.find_all("code")) == 10
    assert folded.tag == "details"
    assert folded.elements()[0].text() == "136 more"
    assert len(folded.find_all("code")) == 136
    diffs = [p.text() for p in document.find_all("pre")]
    assert sum("score.type" in d for d in diffs) == 1
    assert len(document.find_all("details")) == 3  # the group, its folded names, shop-other


def test_updates_whose_secrets_differ_are_not_one_group_and_show_no_secret() -> None:
    def update(name: str, old: str, new: str) -> Change:
        return Change(
            action=Action.UPDATE,
            name=name,
            reason="differs",
            task_id=name,
            fields=(FieldChange("/payload/key", old, new, sensitive=True),),
        )

    changes = (
        update("shop-a", "old-secret-one", "new-secret-one"),
        update("shop-b", "old-secret-one", "new-secret-two"),
        update("shop-c", "old-secret-one", "new-secret-one"),
    )
    body, document = rendered_comment(Plan(changes=changes, change_digest="c" * 64))
    assert "secret-" not in body
    summaries = [s.text() for s in document.find_all("summary")]
    assert summaries == [
        "~ update 2 tasks, the same change: shop-a, shop-c",
        "~ update shop-b",
    ]
    diffs = [p.text() for p in document.find_all("pre")]
    assert diffs == ["~ payload.key: (sensitive value)\n"] * 2


def big_diff(i: int) -> tuple[FieldChange, ...]:
    return (FieldChange("/objective", f"old {i} " + "o" * 1_500, f"new {i} " + "n" * 1_500),)


def test_a_change_shown_by_name_only_reads_as_its_name() -> None:
    # Too many large deletes and breaking changes for every section: the last are listed by
    # name only, as Markdown list items, where a name must not turn into emphasis or a link.
    names = ("a*b*c", "x\\_y", "[x](/evil)", "**bold**", "plain")
    deletes = [
        Change(action=Action.DELETE, name=f"gone-{i:03d}", reason="r" * 500, task_id="i" * 300)
        for i in range(100)
    ]
    breaking = [
        Change(
            action=Action.UPDATE,
            name=f"{n}-{i}",
            reason="differs",
            task_id=str(i),
            fields=big_diff(i),
            breaking=("output_schema p: property removed",),
        )
        for i, n in enumerate(names * 10)
    ]
    _, document = rendered_comment(Plan(changes=(*deletes, *breaking), change_digest="c" * 64))
    assert_only_our_html(document)
    assert_clean_text(document, skip=PROSE)
    listed = [li for ul in document.elements() if ul.tag == "ul" for li in ul.elements()]
    assert all(not li.find_all("ul") for li in listed), "a sign read as a nested list"
    lines = [li.text().strip() for li in listed]
    summaries = [s.text() for s in document.find_all("summary")]
    assert "- delete gone-099" in lines
    for change in breaking:
        line = f"~ update {change.name} ⚠️ breaking"
        assert line in summaries or line in lines, line
    assert "~ update x\\_y-46 ⚠️ breaking" in lines


def test_a_url_in_a_name_or_a_reason_is_shown_but_not_made_a_link() -> None:
    urls = ("https://evil.example/login", "www.evil.example", "ftp://evil.example/x")
    changes = [
        Change(
            action=Action.DELETE,
            name=url,
            reason=f"orphan, see {url}",
            task_id=f"d{i}",
            breaking=(f"output_schema {url}: property removed",),
        )
        for i, url in enumerate(urls)
    ]
    _, document = rendered_comment(Plan(changes=tuple(changes), namespace=urls[1]))
    assert_only_our_html(document)
    assert not document.find_all("a")
    codes = code_texts(document)
    for url in urls:
        assert url in codes
        assert f"orphan, see {url}" in [e.text() for e in document.find_all("em")]


def hostile_plan() -> Plan:
    """2,000 changes; the deletes and breaking changes come last in plan order, with hostile
    names, a 100,000-character one, and diffs too large for all of them to be shown in full."""
    creates = [
        Change(
            action=Action.CREATE,
            name=f"shop-new-{i:04d}",
            reason="not live",
            source=f"tasks/new {i}).yaml:{i + 1}",
            fields=(FieldChange("/objective", None, f"text {i} " + "c" * 1_000),),
        )
        for i in range(1_000)
    ]
    updates = [
        Change(
            action=Action.UPDATE,
            name=f"shop-upd-{i:04d}",
            reason="differs",
            task_id=f"u{i}",
            fields=big_diff(i),
        )
        for i in range(976)
    ]
    names = (*HOSTILE_NAMES, "shop-" + "z" * 100_000)
    deletes = [
        Change(action=Action.DELETE, name=n, reason="orphan", task_id=f"d{i}")
        for i, n in enumerate(names)
    ]
    breaking = [
        Change(
            action=Action.UPDATE,
            name=f"b{i}-{n}",
            reason="differs",
            task_id=f"b{i}",
            fields=(*big_diff(i), FieldChange("/payload/key", SECRET, "other-secret-value")),
            breaking=("output_schema score: property removed",),
        )
        for i, n in enumerate(names)
    ]
    return Plan(
        changes=(*creates, *updates, *deletes, *breaking),
        namespace="shop-",
        target="https://titan.example",
        change_digest="c" * 64,
    )


def test_the_capped_comment_of_a_hostile_plan_shows_every_delete_and_breaking_name() -> None:
    plan = hostile_plan()
    body, document = rendered_comment(plan)
    assert SECRET not in body
    assert_only_our_html(document)
    assert_clean_text(document, skip=PROSE)
    top = [e for e in document.elements() if e.tag != "!--"]
    assert top[0].text() == "titan-gitops plan: teams/shop"
    assert top[1].text().startswith("Plan: 1000 to create · 988 to update · 0 to rename")
    assert top[2].tag == "blockquote"
    assert top[2].elements()[0].text() == "[!CAUTION]"
    codes = code_texts(document)
    dangerous = [c for c in plan.changes if c.action is Action.DELETE or c.breaking]
    for change in dangerous:
        assert shown_name(change.name) in codes, change.name[:80]
    # The sections shown are the dangerous ones first; what is left out is counted.
    summaries = [s.text() for s in document.find_all("summary")]
    assert summaries[0].startswith("- delete ")
    assert "not shown (update: " in document.text()
    assert "the full plan is in the step summary of this run" in document.text()


def test_the_drift_issue_of_a_hostile_report_stays_inert_and_closed() -> None:
    plan = hostile_plan()
    body = compose_drift_issue(
        plan,
        title="titan-gitops drift: teams/shop",
        directory="teams/shop",
        run_url=RUN_URL,
        mask=SecretSet.of([SECRET]).mask,
        checked_at="2026-11-30 14:05 UTC",
        link=link_to(REPOSITORY),
    )
    assert SECRET not in body
    document = parse(body)
    assert_only_our_html(document)
    assert_clean_text(document, skip=PROSE)
    top = [e for e in document.elements() if e.tag != "!--"]
    assert top[1].text() == ("Drift: 988 edited live · 1000 missing live · 12 created outside git")
    # Live and git are named once, before any diff; what was created outside git is named.
    legend = "In each diff, - is the live value and + the value in git."
    assert legend in [p.text() for p in top]
    codes = code_texts(document)
    for change in plan.changes:
        if change.action is Action.DELETE:
            assert shown_name(change.name) in codes, change.name[:80]


@pytest.mark.parametrize("breaking", [(), ("output_schema score: type changed",)])
def test_a_template_change_to_2000_tasks_is_still_shown_once(breaking: tuple[str, ...]) -> None:
    plan = Plan(changes=tuple(template_updates(2_000, breaking=breaking)), change_digest="c" * 64)
    _body, document = rendered_comment(plan)
    assert_only_our_html(document)
    group = group_of(document)
    assert group.elements()[0].text().startswith("~ update 2,000 tasks, the same change: ")
    assert sum("score.type" in p.text() for p in document.find_all("pre")) == 1
    # The names past what fits are counted, not dropped silently.
    assert re.search(r"and [0-9,]+ more", group.text())


def test_a_cut_inside_a_diff_that_shows_a_closing_tag_still_closes_the_section() -> None:
    from titan_gitops.render.markdown import cut_markdown

    diff = "```diff\n- objective: a\n+ objective: </details>\n" + "+ line\n" * 500
    text = f"<details>\n<summary>~ update a</summary>\n\n{diff}```\n</details>\n\nafter\n"
    cut = cut_markdown(text, limit=1_000, note="_The plan was cut._")
    document = parse(cut)
    # The note is outside the folded section, where a reviewer sees it.
    assert document.elements()[-1].text() == "The plan was cut."
    assert len(document.find_all("details")) == 1


def test_a_created_yaml_block_cannot_be_broken_out_of_and_its_link_stays_one_link() -> None:
    objective = "text\n````\n</details>\n> [!CAUTION]\n[x](javascript:alert(1))"
    create = Change(
        action=Action.CREATE,
        name="shop-a",
        reason="not live",
        source="tasks/a b)#c [x].yaml:7",
        fields=(
            FieldChange("/objective", None, objective),
            FieldChange("/payload", None, {"``` ": "`", "k": "v " * 100}),
        ),
    )
    _, document = rendered_comment(Plan(changes=(create,), change_digest="c" * 64))
    assert_only_our_html(document)
    (link,) = document.find_all("a")
    assert link.attrs == [("href", REPOSITORY + "tasks/a%20b%29%23c%20%5Bx%5D.yaml#L7")]
    assert link.text() == "tasks/a b)#c [x].yaml:7"
    (block,) = document.find_all("pre")
    assert "objective: |-\n  text\n  ````\n  </details>\n  > [!CAUTION]\n" in block.text()
    assert [b.tag for b in document.find_all("blockquote")] == []
