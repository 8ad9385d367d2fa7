"""Property: the libyaml fast path and the reference path (ruamel's C parser) load every text the
same way: same values and types, same key and item positions, traps, document positions, and
the same problems (path, line, column, message). Texts are definitions written in every YAML
style with edge scalars, and hostile or broken ones: tags, anchors, directives, duplicate and
complex keys, bad indentation, stray indicators, control characters."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.property.loadsnap import load_snapshot
from titan_gitops.load import load_yaml_text
from titan_gitops.load.documents import _ANCHOR_OR_ALIAS, load_yaml_text_reference
from titan_gitops.load.libyaml import (
    WITH_LIBYAML,
    _Builder,
    _Defer,
    _may_hold_tags_anchors_or_directives,
    load_fast,
)

ROOT = Path(__file__).resolve().parents[2]

EDGE = (
    "on",
    "off",
    "yes",
    "no",
    "y",
    "n",
    "Y",
    "True",
    "TRUE",
    "true",
    "false",
    "FALSE",
    "Null",
    "null",
    "NULL",
    "~",
    "",
    "010",
    "0o10",
    "0O10",
    "0x1F",
    "0b1",
    "0b_",
    "0x_",
    "_",
    "1_000",
    "1:30",
    "+1",
    "-1",
    "-.5",
    ".5",
    "1.",
    ".inf",
    "-.Inf",
    ".NaN",
    ".nan",
    "1e3",
    "1.5e-3",
    "2024-01-01",
    "2024-01-01T10:00:00Z",
    "2024-1-1 10:00:00",
    "<<",
    "=",
    "0",
    "-0",
    "00",
    "09",
    "1__0",
    "0.0",
    "+.INF",
    "12:60",
    "1_0:30.5",
    "infinity",
    "nan",
)
WORDS = (
    "task",
    "shop price",
    "https://a.example/x?q=1",
    "a:b",
    "a?b",
    "x #y",
    "it's",
    'say "hi"',
    "*/5 * * * *",
    "- x",
    "é ü",
    "tab\there",
    "a,b",
    "[x]",
    "{x}",
    "!x",
    "&x",
    "*x",
    "%x",
    "@x",
    "`x",
    "|",
    ">",
    "? x",
    ": x",
    "-",
    "a: b",
    "x" * 300,
)
KEYS = ("kind", "name", "urls", "objective", "schedule", "limits", "1", "on", "", "a b", "<<")
TAGS = (
    "!!str ",
    "!!int ",
    "!!float ",
    "!!bool ",
    "!!null ",
    "!!binary ",
    "!!set ",
    "!!omap ",
    "!!timestamp ",
    "!!map ",
    "!!seq ",
    "!custom ",
    "! ",
    "!<tag:x> ",
    "&a ",
    "*a ",
)

scalar_text = st.one_of(
    st.sampled_from(EDGE),
    st.sampled_from(WORDS),
    st.text(st.sampled_from("ab1:-?#,.'\" _[]{}!&*%@|>~\t"), max_size=8),
)
# What definitions hold: every edge scalar, and text that needs no tag, anchor or directive.
clean_text = st.one_of(
    st.sampled_from(EDGE),
    st.sampled_from(WORDS[:8]),
    st.sampled_from(WORDS[10:13]),
    st.text(st.sampled_from("ab1-#,. _é"), max_size=8),
)


@st.composite
def scalars(draw: st.DrawFn, hostile: bool = True) -> str:
    text = draw(scalar_text if hostile else clean_text)
    style = draw(st.sampled_from(("plain", "plain", "plain", "single", "double")))
    if style == "single":
        text = "'" + text.replace("'", "''") + "'"
    elif style == "double":
        text = '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if hostile and draw(st.integers(0, 9)) == 0:
        text = draw(st.sampled_from(TAGS)) + text
    return text


def trees(hostile: bool) -> st.SearchStrategy[Any]:
    keys = st.one_of(st.sampled_from(KEYS), scalars(hostile))
    return st.recursive(
        scalars(hostile).map(lambda s: ("scalar", s)),
        lambda inner: st.one_of(
            st.tuples(st.just("map"), st.lists(st.tuples(keys, inner), max_size=4), st.booleans()),
            st.tuples(st.just("seq"), st.lists(inner, max_size=4), st.booleans()),
        ),
        max_leaves=10,
    )


TREES = {True: trees(True), False: trees(False)}


def flow(node: Any) -> str:
    if node[0] == "scalar":
        return str(node[1])
    if node[0] == "map":
        return "{" + ", ".join(f"{k}: {flow(v)}" for k, v in node[1]) + "}"
    return "[" + ", ".join(flow(v) for v in node[1]) + "]"


def block(node: Any, indent: int) -> list[str]:
    pad = " " * indent
    if node[0] == "scalar" or node[2] or not node[1]:
        return [pad + flow(node)]
    lines = []
    for entry in node[1]:
        head, child = (f"{entry[0]}:", entry[1]) if node[0] == "map" else ("-", entry)
        if child[0] != "scalar" and not child[2] and child[1]:
            lines.append(pad + head)
            lines.extend(block(child, indent + 2))
        else:
            lines.append(f"{pad}{head} {flow(child)}")
    return lines


PREFIXES = (
    "",
    "",
    "",
    "---\n",
    "--- ",
    "%YAML 1.1\n---\n",
    "%YAML 1.2\n---\n",
    "%TAG !e! tag:e.example,2000:\n---\n",
    "# comment\n",
    "...\n",
    "? [a]\n: b\n",
)
INSERTS = (
    ":",
    " ",
    "  ",
    "\t",
    "\n",
    "- ",
    "? ",
    "&a ",
    "*a",
    "!",
    "#",
    "'",
    '"',
    "[",
    "]",
    "{",
    "}",
    ",",
    "\x00",
    "\x07",
    "\r\n",
    "\r",
    "é",
    "\u2028",
    "\ufeff",
    "---\n",
    "...\n",
    "%",
    "|\n",
    ">-\n",
    "\\",
)


@st.composite
def texts(draw: st.DrawFn) -> str:
    """Half clean definitions (the fast path takes most), half hostile or broken texts."""
    hostile = draw(st.booleans())
    documents = []
    for _ in range(draw(st.integers(1, 3))):
        lines = block(draw(TREES[hostile]), 0) if draw(st.integers(0, 5)) else []
        prefix = draw(st.sampled_from(PREFIXES if hostile else PREFIXES[:5]))
        documents.append(prefix + "".join(f"{ln}\n" for ln in lines))
    text = "---\n".join(documents)
    for _ in range(draw(st.integers(0, 3)) if hostile and draw(st.booleans()) else 0):
        at = draw(st.integers(0, len(text)))
        if draw(st.booleans()):
            text = text[:at] + draw(st.sampled_from(INSERTS)) + text[at:]
        else:
            text = text[:at] + text[at + draw(st.integers(1, 3)) :]
    if draw(st.integers(0, 9)) == 0:
        text = text.replace("\n", "\r\n")
    return text


def assert_same(text: str) -> None:
    assert load_snapshot(load_yaml_text(text, "d/t.yaml")) == load_snapshot(
        load_yaml_text_reference(text, "d/t.yaml")
    )


def test_the_fast_path_is_the_default_with_libyaml() -> None:
    assert WITH_LIBYAML
    assert load_fast("kind: task\n", "t.yaml") is not None


_SETTINGS: dict[str, Any] = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}


@settings(max_examples=400, **_SETTINGS)
@given(texts())
@example("urls: [https://a.example/, b]\nwhen: 2024-01-01\n")
@example("a: [b?c]\n")
@example("a: [d:e]\n")
@example("a: {k?: v}\n")
@example("a: [x, {b:}]\n")
@example("a: 0b_\n")
@example("a: !!map x\nb: !!str, x\n")
@example("%YAML 1.1\n---\na: 010\nb: [https://a.example/]\n")
def test_fast_and_reference_paths_load_alike(text: str) -> None:
    assert_same(text)


@settings(max_examples=300, deadline=None)
@given(st.text(st.sampled_from("!&*%a1 \t\n\r[]{},:?-'\"\u2028\x85\ufeff"), max_size=12))
@example("\ufeff!!int 1\n")
@example("\ufeff%YAML 1.1\n")
def test_the_fast_path_hands_over_every_text_the_reference_scans_for_anchors(text: str) -> None:
    if _ANCHOR_OR_ALIAS.search(text) or "\ufeff!" in text or "\ufeff%" in text:
        assert _may_hold_tags_anchors_or_directives(text)


@pytest.mark.slow
@settings(max_examples=10_000, **_SETTINGS)
@given(texts())
def test_fast_and_reference_paths_load_alike_many(text: str) -> None:
    assert_same(text)


FIXTURES = sorted(
    path
    for folder in ("tests", "tasks.example")
    for suffix in ("*.yaml", "*.yml")
    for path in (ROOT / folder).rglob(suffix)
)


def test_every_fixture_is_found() -> None:
    assert len(FIXTURES) > 600


def fixture_texts() -> Iterator[str]:
    """The text of every fixture that is UTF-8, without a byte order mark."""
    for path in FIXTURES:
        try:
            yield path.read_bytes().decode("utf-8").removeprefix("\ufeff")
        except UnicodeDecodeError:
            continue


def test_every_yaml_fixture_loads_alike_through_both_paths() -> None:
    fast = 0
    for text in fixture_texts():
        assert_same(text)
        fast += load_fast(text, "d/t.yaml") is not None
    # Most fixtures are clean definitions and take the fast path; the rest are hostile.
    assert fast > 300


def test_a_node_shared_through_an_alias_is_never_built_twice_on_the_fast_path() -> None:
    # The text check hands every anchor to the reference path; should it ever miss one, the
    # builder itself refuses a node it has built already, so an alias bomb cannot expand.
    text = "a: &x [one, {b: two}]\nc: *x\nd: *x\n"
    node = yaml.compose(text, Loader=yaml.CSafeLoader)
    with pytest.raises(_Defer):
        _Builder("shared.yaml").build(node, False)
    # Every document of a text is its own: equal shapes in two documents are built twice.
    documents = load_fast("a: [one]\n---\na: [one]\n", "two.yaml")
    assert documents is not None
    assert [d.data for d in documents] == [{"a": ["one"]}, {"a": ["one"]}]


# --- plain scalars holding `:` in flow collections -------------------------------------------
# libyaml 0.1.x (the reference's C parser) refuses them, and the reference then reads the whole
# text with ruamel's pure-Python parser: the fast path must read such a text as that one does.

COLON_LINE = "zz: [https://a.example/]\n"


def beside_a_colon_line(text: str) -> tuple[str, str]:
    """`text` with a key holding a URL in a flow list before it and after it (in the same
    document when `text` is a block mapping; otherwise the result may be invalid YAML, which
    both paths must then report alike)."""
    return COLON_LINE + text, f"{text.rstrip(chr(10))}\n{COLON_LINE}"


FLOW_PIECES = (
    "a", "http", "https://x.example/p", "x/?q=1", ":", "?", "::", ": ", " :", "? ", ":/", "a:b",
    "a?b", "-", "#", " #c", "/", "1:2", "12:30", "x:", ":x", "?x", "x?", "'q'", '"d"', "[", "]",
    "{", "}", ",", "\t", "!", "%", "@", "`", "|", ">", "''", '"a:b"', "'a:b'", " - ", "0o7",
    "0x1f", "1e3", ".inf", "null", "~", "yes", "on", "2024-01-01",
)  # fmt: skip


@st.composite
def flow_texts(draw: st.DrawFn) -> str:
    items = draw(
        st.lists(
            st.lists(st.sampled_from(FLOW_PIECES), min_size=1, max_size=3).map("".join),
            min_size=1,
            max_size=5,
        )
    )
    opener = draw(st.sampled_from("[{"))
    separator = draw(st.sampled_from([", ", ",", " , "]))
    body = separator.join(items)
    text = f"kind: task\nu: {opener}{body}{']' if opener == '[' else '}'}\n"
    return draw(st.sampled_from([text, COLON_LINE + text, text + "v: [a:b]\n"]))


def test_a_url_in_a_flow_list_takes_the_fast_path() -> None:
    assert load_fast("urls: [https://a.example/, http://b.example:8080/x]\n", "t.yaml")
    # `?` in a flow scalar: the reference refuses it, so it goes there.
    assert load_fast("urls: [https://a.example/?q=1]\n", "t.yaml") is None


@settings(max_examples=400, **_SETTINGS)
@given(flow_texts())
@example('u: [https://a.example/, "a":b]\n')
@example("u: [https://a.example/, a\tb]\n")
@example("u: [https://a.example/]\nv: |\n \n  \n  text\n")
@example("u: [https://a.example/]\nv: >#c\n  x\n")
@example(COLON_LINE + "v: " + "[" * 80 + "]" * 80 + "\n")
@example("{kind: 12:60}\r\n---\r\n--- ")
def test_flow_scalars_holding_a_colon_load_alike(text: str) -> None:
    assert_same(text)


@pytest.mark.slow
@settings(max_examples=10_000, **_SETTINGS)
@given(flow_texts())
def test_flow_scalars_holding_a_colon_load_alike_many(text: str) -> None:
    assert_same(text)


@settings(max_examples=400, **_SETTINGS)
@given(texts())
@example("\u2028---\r\n")
@example("a: b\rc: d\n")
@example("\ufeff{}\r\n")
@example("|\r\n---\r\n")
@example("|\n---\n")
def test_every_style_after_a_colon_document_loads_alike(text: str) -> None:
    """The definitions of every style above, read by the reference with the pure-Python parser
    (a key holding a URL in a flow list comes first or last)."""
    for variant in beside_a_colon_line(text):
        assert_same(variant)


@pytest.mark.slow
@settings(max_examples=10_000, **_SETTINGS)
@given(texts())
def test_every_style_after_a_colon_document_loads_alike_many(text: str) -> None:
    for variant in beside_a_colon_line(text):
        assert_same(variant)


def test_every_yaml_fixture_beside_a_colon_document_loads_alike() -> None:
    """Each fixture with a key holding a URL in a flow list before or after it: the reference
    reads it all with the pure-Python parser."""
    fast = 0
    for text in fixture_texts():
        for variant in beside_a_colon_line(text):
            assert_same(variant)
            fast += load_fast(variant, "d/t.yaml") is not None
    assert fast > 400
