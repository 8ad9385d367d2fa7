"""Property: random definition files, written as a person would (comments, blank lines, plain
and quoted scalars, literal blocks, flow and block styles, indented and flat sequences, several
documents, `\\r\\n`, a byte order mark), and random edits of one task → the result reads back as
exactly the expected data, and every line outside the edited keys' lines is unchanged (difflib:
only hunks inside those spans, a new key only right after the mapping's last one)."""

from __future__ import annotations

import difflib
import itertools
import json
import re
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from titan_gitops.errors import CannotEdit
from titan_gitops.load import load_yaml_text
from titan_gitops.yamledit import REMOVE, edit_task, remove_task

WORDS = ("shop", "price", "yes", "no", "on", "010", "1e3", "null", "~", "a: b", "x #y", "it's")
KEYS = ("objective", "urls", "schedule", "payload", "limits", "previous_names", "description")
_PLAIN = re.compile(r"[a-z][a-z0-9 ]*[a-z0-9]|[a-z]")
_NOT_PLAIN_WORDS = frozenset(("yes", "no", "on", "off", "null", "true", "false", "y", "n"))

texts = st.lists(st.sampled_from(WORDS), min_size=1, max_size=3).map(" ".join)
multi_line = st.tuples(
    st.lists(texts, min_size=2, max_size=3).map("\n".join), st.sampled_from(("", "\n", "\n\n"))
).map("".join)
scalars = st.one_of(texts, st.integers(-5, 500), st.booleans(), st.none())
values = st.recursive(
    st.one_of(scalars, multi_line, st.just("ding\a"), st.just("  lead")),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(WORDS), inner, max_size=3)
    ),
    max_leaves=6,
)


@dataclass
class Doc:
    lines: list[str] = field(default_factory=list)
    spans: dict[str, tuple[int, int]] = field(default_factory=dict)  # key -> first, last line
    data: dict[str, Any] = field(default_factory=dict)


def comment(draw: Any) -> str:
    text: str = draw(st.sampled_from(("", "", "  # note", " # why: this")))
    return text


def scalar(draw: Any, value: Any) -> str:
    if not isinstance(value, str):
        return json.dumps(value)
    style = draw(st.sampled_from(("plain", "single", "double")))
    if style == "plain" and _PLAIN.fullmatch(value) and value not in _NOT_PLAIN_WORDS:
        return value
    if style == "double" or "\a" in value:
        return json.dumps(value)
    return "'" + value.replace("'", "''") + "'"


def is_flat(value: Any) -> bool:
    items = list(value.values()) if isinstance(value, dict) else list(value)
    return all(not isinstance(v, list | dict) and "\n" not in str(v) for v in items)


def inline(draw: Any, value: Any) -> str | None:
    """`value` on one line (a scalar, or a flow collection), or None for a block."""
    if isinstance(value, str) and "\n" in value:
        return None
    if isinstance(value, list | dict):
        if value and (not is_flat(value) or draw(st.booleans())):
            return None
        if isinstance(value, list):
            return "[" + ", ".join(scalar(draw, v) for v in value) + "]"
        return (
            "{" + ", ".join(f"{scalar(draw, k)}: {scalar(draw, v)}" for k, v in value.items()) + "}"
        )
    return scalar(draw, value)


def block(draw: Any, value: Any, col: int, dash: int) -> list[str]:
    """The lines under a key (or dash) at column `col - 2` holding `value` in block style."""
    pad = " " * col
    if isinstance(value, str):
        ends = len(value) - len(value.rstrip("\n"))
        header = "|" + {0: "-", 1: "", 2: "+"}[ends]
        return [header, *(pad + line for line in value.rstrip("\n").split("\n"))] + [""] * (
            ends - 1
        )
    lines = [""]
    if isinstance(value, dict):
        for key, item in value.items():
            lines += entry(draw, scalar(draw, key), item, col, dash)
        return lines
    for item in value:
        lines += item_lines(draw, item, col - 2 + dash, dash)
    return lines


def entry(draw: Any, key: str, value: Any, col: int, dash: int) -> list[str]:
    """`key: value` at column `col`."""
    pad = " " * col
    one = inline(draw, value)
    if one is not None:
        return [f"{pad}{key}: {one}{comment(draw)}"]
    head, *rest = block(draw, value, col + 2, dash)
    return [f"{pad}{key}:{' ' + head if head else ''}{comment(draw)}", *rest]


def item_lines(draw: Any, value: Any, col: int, dash: int) -> list[str]:
    """`- value` with its dash at column `col`."""
    pad = " " * col
    one = inline(draw, value)
    if one is not None:
        return [f"{pad}- {one}{comment(draw)}"]
    # A list in a list item: its dashes must sit right of this one.
    head, *rest = block(draw, value, col + 2, 2 if isinstance(value, list) else dash)
    if isinstance(value, dict):
        # The first key goes on the dash's line.
        return [f"{pad}- {rest[0][col + 2 :]}", *rest[1:]]
    return [f"{pad}-{' ' + head if head else ''}", *rest]


def fillers(draw: Any, choices: tuple[str, ...], count: itertools.count[int]) -> list[str]:
    """Blank and comment lines, each unique (blank ones by their spaces), so that difflib can
    only match a line with itself."""
    return [
        " " * next(count) if line == "" else f"{line} {next(count)}"
        for line in draw(st.lists(st.sampled_from(choices), max_size=2))
    ]


@st.composite
def documents(draw: Any, name: str, count: itertools.count[int]) -> Doc:
    doc = Doc()
    dash = draw(st.sampled_from((0, 2)))
    doc.lines += fillers(draw, ("# head", "", "# more"), count)
    keys = ["kind", "name", *draw(st.lists(st.sampled_from(KEYS), unique=True, max_size=5))]
    for key in keys:
        value = {"kind": "task", "name": name}.get(key) or draw(values)
        first = len(doc.lines)
        doc.lines += entry(draw, key, value, 0, dash)
        doc.spans[key] = (first, len(doc.lines) - 1)
        doc.data[key] = value
        # After a block scalar, an indented comment or a blank line would be its content.
        between = ("# between",) if "\\n" in json.dumps(value) else ("", "# between", "  # in")
        doc.lines += fillers(draw, between, count)
    return doc


@st.composite
def files(draw: Any) -> tuple[str, list[Doc]]:
    lines: list[str] = []
    docs: list[Doc] = []
    count = itertools.count()
    for i in range(draw(st.integers(1, 3))):
        if i:
            lines.append(draw(st.sampled_from(("---", "--- # next"))))
        doc = draw(documents(f"shop-{i}", count))
        doc.spans = {k: (a + len(lines), b + len(lines)) for k, (a, b) in doc.spans.items()}
        lines += doc.lines
        docs.append(doc)
    newline = draw(st.sampled_from(("\n", "\r\n")))
    bom = draw(st.sampled_from(("", "\ufeff")))
    return bom + newline.join(lines) + newline, docs


def read(text: str) -> list[Any]:
    documents, problems = load_yaml_text(text.removeprefix("\ufeff"), "t.yaml")
    assert problems == []
    return [json.loads(json.dumps(d.data)) for d in documents]


def lines(text: str) -> list[str]:
    """The lines of `text` with their ends."""
    return text.splitlines(keepends=True)


def hunks(before: str, after: str) -> list[tuple[str, int, int]]:
    matcher = difflib.SequenceMatcher(None, lines(before), lines(after), autojunk=False)
    return [(tag, i1, i2) for tag, i1, i2, _, _ in matcher.get_opcodes() if tag != "equal"]


SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(st.data())
def test_edits_touch_only_the_edited_keys(data: st.DataObject) -> None:
    text, docs = data.draw(files())
    assert read(text) == [d.data for d in docs]
    target = docs[data.draw(st.integers(0, len(docs) - 1))]
    editable = [k for k in target.data if k not in ("kind", "name")]
    edited = data.draw(st.lists(st.sampled_from(editable), unique=True)) if editable else []
    changes = {k: data.draw(st.one_of(values, st.just(REMOVE))) for k in edited}
    missing = [k for k in (*KEYS, "extra") if k not in target.data]
    added = data.draw(st.lists(st.sampled_from(missing), unique=True, max_size=2))
    changes.update({k: data.draw(values) for k in added})

    try:
        after = edit_task(text, display="t.yaml", name=target.data["name"], changes=changes)
    except CannotEdit:
        # A refusal is accepted only where dropping a removed key's lines would hand a line
        # below them (an indented comment) to the value above (a block): keeping every other
        # line then takes a placeholder in the key's place, which the edit does not write.
        assert removal_disturbs_the_rest(text, docs, target, changes)
        return

    expected = {**target.data, **changes}
    expected = {k: v for k, v in expected.items() if v is not REMOVE}
    assert read(after) == [expected if d is target else d.data for d in docs]
    assert after.startswith("\ufeff") == text.startswith("\ufeff")
    assert ("\r\n" in after) == ("\r\n" in text)
    untouched(text, after, [target.spans[k] for k in edited], end_of(target) if added else None)


def removal_disturbs_the_rest(
    text: str, docs: list[Doc], target: Doc, changes: dict[str, Any]
) -> bool:
    """True when `text` with only the removed keys' lines dropped no longer reads as before in
    every key the edit leaves alone (or no longer reads at all)."""
    dropped = {
        line
        for key, value in changes.items()
        if value is REMOVE
        for line in range(target.spans[key][0], target.spans[key][1] + 1)
    }
    kept = [line for n, line in enumerate(lines(text.removeprefix("\ufeff"))) if n not in dropped]
    documents, problems = load_yaml_text("".join(kept), "t.yaml")
    if problems:
        return True
    read_back = [json.loads(json.dumps(d.data)) for d in documents]
    left_alone = {k: v for k, v in target.data.items() if k not in changes}
    wanted = [left_alone if d is target else d.data for d in docs]
    if len(read_back) != len(wanted):
        return True
    got = [
        {k: v for k, v in data.items() if k in left_alone} if d is target else data
        for d, data in zip(docs, read_back, strict=True)
    ]
    return got != wanted


def end_of(doc: Doc) -> int:
    return max(last for _, last in doc.spans.values()) + 1


def untouched(before: str, after: str, spans: list[tuple[int, int]], insert: int | None) -> None:
    """`after` is `before` with only the lines of `spans` replaced and lines inserted at line
    `insert`: every other line is there, unchanged and in order.

    When difflib's hunks all fall inside the spans, every other line is in one of its equal
    blocks. difflib may pair a line with an equal one elsewhere (a `- []` of a dropped key with
    the same line of a new one); then the exact check decides: the untouched runs of lines, in
    order, with anything (the new lines) between them where a span or the insertion was.
    """
    outside = []
    for tag, i1, i2 in hunks(before, after):
        if i1 == i2:  # lines inserted before line i1
            inside = any(first <= i1 <= last + 1 for first, last in spans) or i1 == insert
        else:
            inside = all(any(a <= i <= b for a, b in spans) for i in range(i1, i2))
        if not inside:
            outside.append((tag, i1, i2))
    if not outside:
        return
    old = lines(before)
    cuts = sorted([*spans, *([(insert, insert - 1)] if insert is not None else [])])
    pattern, at = "", 0
    for first, last in cuts:
        pattern += re.escape("".join(old[at:first])) + "(.*?)"
        at = max(at, last + 1)
    pattern += re.escape("".join(old[at:]))
    assert re.fullmatch(pattern, after, re.DOTALL), (outside, before, after)


@SETTINGS
@given(st.data())
def test_removing_a_task_deletes_only_its_lines(data: st.DataObject) -> None:
    text, docs = data.draw(files())
    target = docs[data.draw(st.integers(0, len(docs) - 1))]

    after = remove_task(text, display="t.yaml", name=target.data["name"])

    if len(docs) == 1:
        assert after == ""
        return
    assert read(after) == [d.data for d in docs if d is not target]
    assert after.startswith("\ufeff") == text.startswith("\ufeff")
    bom = "\ufeff"
    assert {tag for tag, _, _ in hunks(text.removeprefix(bom), after.removeprefix(bom))} == {
        "delete"
    }
