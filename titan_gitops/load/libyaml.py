"""The fast load path: libyaml through PyYAML's C parser (nodes composed in C), YAML 1.2 core
schema resolution of our own, and a constructor of our own building the same `LineDict` /
`LineList` as the reference path (ruamel's C parser, constructor.py).

It takes only what it can load exactly as the reference does and hands everything else back
(`None`): texts with tags, directives, anchors or aliases, anything libyaml refuses, and anything
the reference reports as a problem (dates, non-finite numbers, non-string or duplicate keys).
Problems are rare in a repository, so they cost a second, reference load. PyYAML bundles libyaml
0.2.x and ruamel.yaml.clib 0.1.x: they disagree on plain scalars holding `:` or `?` inside flow
collections. libyaml 0.1.x refuses `?` there, so such texts go to the reference. It refuses `:`
too (`urls: [https://a.example/]`), and the reference then reads the whole text with ruamel's
pure-Python parser, which reads such a scalar as libyaml 0.2.x does; it refuses a mapping inside
a flow sequence written with a quoted key right before its `:` (`["a":b]`), and reads edge forms
of block scalars and a few other things otherwise (`_pure_may_differ`), so a text holding such a
scalar and any of them goes to the reference.
"""

from __future__ import annotations

import math
import re
from sys import intern
from typing import Any

import yaml  # type: ignore[import-untyped]
from yaml.nodes import MappingNode, ScalarNode, SequenceNode  # type: ignore[import-untyped]

try:
    from yaml._yaml import CParser  # type: ignore[import-untyped]
except ImportError:  # pragma: no cover - PyYAML's wheels carry libyaml
    CParser = object


from titan_gitops.load.caps import MAX_DEPTH, scan_nesting_depth
from titan_gitops.load.located import LineDict, LineList, Position
from titan_gitops.load.yaml11 import TEXT_TRAP_FIRST, describe_trap
from titan_gitops.model import SourceDocument

# Whether PyYAML has libyaml: the fast path is taken by default only then.
WITH_LIBYAML = bool(getattr(yaml, "__with_libyaml__", False)) and CParser is not object

_CORE = "tag:yaml.org,2002:"
_STR = _CORE + "str"
_INT = _CORE + "int"
_FLOAT = _CORE + "float"
_BOOL = _CORE + "bool"
_NULL = _CORE + "null"
_OTHER = _CORE + "other"  # timestamp, merge, value: the reference refuses them all

# What may stand before a tag, anchor or alias (besides whitespace), and after an anchor's `&`
# or an alias's `*` only if it is none (documents.py's _ANCHOR_OR_ALIAS, to the character).
_BEFORE_NODE_PROPERTY = "[]{},:?-\ufeff"
_NOT_A_NAME = "[]{},'\""
_LINE_BREAKS = "\r\n\x85\u2028\u2029\ufeff"


# ruamel's YAML 1.2 implicit resolvers, verbatim, by first character and in its order.
_BOOL_RE = re.compile(r"""^(?:true|True|TRUE|false|False|FALSE)$""", re.X)
_FLOAT_RE = re.compile(
    r"""^(?:
         [-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
        |[-+]?\.[0-9_]+(?:[eE][-+][0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
    re.X,
)
_INT_RE = re.compile(
    r"""^(?:[-+]?0b[0-1_]+
        |[-+]?0o?[0-7_]+
        |[-+]?[0-9_]+
        |[-+]?0x[0-9a-fA-F_]+)$""",
    re.X,
)
_MERGE_RE = re.compile(r"^(?:<<)$")
_NULL_RE = re.compile(
    r"""^(?: ~
        |null|Null|NULL
        | )$""",
    re.X,
)
_TIMESTAMP_RE = re.compile(
    r"""^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]
        |[0-9][0-9][0-9][0-9] -[0-9][0-9]? -[0-9][0-9]?
        (?:[Tt]|[ \t]+)[0-9][0-9]?
        :[0-9][0-9] :[0-9][0-9] (?:\.[0-9]*)?
        (?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$""",
    re.X,
)
_VALUE_RE = re.compile(r"^(?:=)$")
_YAML_RE = re.compile(r"^(?:!|&|\*)$")

_RESOLVERS: dict[str, list[tuple[str, re.Pattern[str]]]] = {}
for _tag, _regexp, _first in (
    (_BOOL, _BOOL_RE, "tTfF"),
    (_FLOAT, _FLOAT_RE, "-+0123456789."),
    (_INT, _INT_RE, "-+0123456789"),
    (_OTHER, _MERGE_RE, "<"),
    (_NULL, _NULL_RE, ["~", "n", "N", ""]),
    (_OTHER, _TIMESTAMP_RE, "0123456789"),
    (_OTHER, _VALUE_RE, "="),
    (_OTHER, _YAML_RE, "!&*"),
):
    for _char in _first:
        _RESOLVERS.setdefault(_char, []).append((_tag, _regexp))

_BOOL_VALUES = {"true": True, "false": False}


class _Defer(Exception):
    """The text is one for the reference path."""


class _Parser(CParser):  # type: ignore[misc]
    """libyaml's parser and composer, resolving plain scalars by YAML 1.2 as ruamel does."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
        if kind is ScalarNode:
            if implicit[0]:
                for tag, regexp in _RESOLVERS.get(value[:1], ()):
                    if regexp.match(value):
                        return tag
            return _STR
        return _CORE + ("seq" if kind is SequenceNode else "map")

    def descend_resolver(self, parent: Any, index: Any) -> None:
        pass

    def ascend_resolver(self) -> None:
        pass


def _int(text: str) -> int:
    # ruamel's SafeConstructor.construct_yaml_int for YAML 1.2, step by step (same failures).
    value = text.replace("_", "")
    sign = -1 if value[0] == "-" else 1
    if value[0] in "+-":
        value = value[1:]
    if value == "0":
        return 0
    if value.startswith("0b"):
        return sign * int(value[2:], 2)
    if value.startswith("0x"):
        return sign * int(value[2:], 16)
    if value.startswith("0o"):
        return sign * int(value[2:], 8)
    return sign * int(value)


def _float(text: str) -> float:
    # ruamel's SafeConstructor.construct_yaml_float for YAML 1.2; non-finite ones are refused.
    value = text.replace("_", "").lower()
    sign = -1 if value[0] == "-" else 1
    if value[0] in "+-":
        value = value[1:]
    number = sign * float(value)
    if not math.isfinite(number):
        raise _Defer
    return number


def _may_hold_tags_anchors_or_directives(text: str) -> bool:
    """Whether `text` may hold a tag, an anchor, an alias or a directive: a `!`, `&` or `*` at
    the start of a text, after whitespace or after an indicator (`&` and `*` with a name
    after them), or a `%` starting a line. Conservative: `a *b` counts. `str.find` is used, not
    a regular expression: a search starting on every character costs 100 us per file."""
    for char in "!&*%":
        at = text.find(char)
        while at != -1:
            before = text[at - 1] if at else "\n"
            if char == "%":
                if before in _LINE_BREAKS:
                    return True
            elif before.isspace() or before in _BEFORE_NODE_PROPERTY:
                after = text[at + 1 : at + 2]
                if char == "!" or (after and not after.isspace() and after not in _NOT_A_NAME):
                    return True
            at = text.find(char, at + 1)
    return False


def _may_trap(node: Any, value: Any) -> bool:
    # Only plain scalars can be traps, and text only when it starts as a trap can (cheap check).
    return (
        node.__class__ is ScalarNode
        and not node.style
        and (value.__class__ is not str or node.value[:1] in TEXT_TRAP_FIRST)
    )


# Definition files look alike: the same keys at the same places, the same short values (`type`,
# `string`, `single`). Every place is one shared tuple and every key and short text one shared
# string, across files: 10,000 loaded task files hold 56 MiB instead of 102 (bench/bench_plan.py).
_PLACES: dict[tuple[int, int], Position] = {}
_PLACES_MAX = 16384
_SHARED_TEXT_MAX = 32


def _place(mark: Any) -> Position:
    """The 1-based (line, column) of a 0-based mark, one tuple per place (bounded; cleared
    when full)."""
    key = (mark.line, mark.column)
    found = _PLACES.get(key)
    if found is None:
        if len(_PLACES) >= _PLACES_MAX:
            _PLACES.clear()
        found = _PLACES[key] = (mark.line + 1, mark.column + 1)
    return found


class _Builder:
    """Builds one text's documents from composed nodes; raises _Defer for anything unusual."""

    __slots__ = ("block_scalar", "built", "colon_in_flow", "map_in_flow_list", "src")

    def __init__(self, src: str) -> None:
        self.src = src
        # A plain scalar with `:` in a flow collection, and a mapping inside a flow sequence,
        # anywhere in the text: together they are a text for the reference (module docstring).
        self.colon_in_flow = False
        self.map_in_flow_list = False
        # A literal or folded block scalar (`|`, `>`): the pure-Python parser reads some of
        # their edge forms otherwise.
        self.block_scalar = False
        # Every mapping and list built so far. The text check hands anchors and aliases to the
        # reference; this makes sure a node shared through an alias is never built twice here even
        # if that check missed one, so an alias bomb cannot expand on this path either.
        self.built: set[int] = set()

    def build(self, node: Any, flow: bool) -> Any:
        cls = node.__class__
        if cls is ScalarNode:
            tag = node.tag
            if tag == _STR:
                if node.style == "|" or node.style == ">":
                    self.block_scalar = True
                elif flow and not node.style:
                    self.plain_in_flow(node.value)
                text: str = node.value
                return intern(text) if len(text) <= _SHARED_TEXT_MAX else text
            if tag == _NULL:
                return None
            if tag == _BOOL:
                return _BOOL_VALUES[node.value.lower()]
            if tag == _INT:
                return _int(node.value)
            if tag == _FLOAT:
                return _float(node.value)
            raise _Defer
        if cls is MappingNode:
            return self.build_dict(node, flow or bool(node.flow_style))
        return self.build_list(node, flow or bool(node.flow_style))

    def build_dict(self, node: Any, flow: bool) -> LineDict:
        self.first_time(node)
        data = LineDict(self.src, _place(node.start_mark))
        key_pos = data.key_pos
        for key_node, value_node in node.value:
            if key_node.__class__ is not ScalarNode or key_node.tag != _STR:
                raise _Defer
            key = intern(key_node.value)
            if key in key_pos:
                raise _Defer
            if flow and not key_node.style:
                self.plain_in_flow(key)
            key_pos[key] = _place(key_node.start_mark)
            value = data[key] = self.build(value_node, flow)
            if _may_trap(value_node, value):
                trap = self.trap(value_node, value)
                if trap is not None:
                    if data.traps is None:
                        data.traps = {}
                    data.traps[key] = trap
        return data

    def build_list(self, node: Any, flow: bool) -> LineList:
        self.first_time(node)
        data = LineList(self.src, _place(node.start_mark))
        item_pos = data.item_pos
        for child in node.value:
            if flow and child.__class__ is MappingNode:
                self.map_in_flow_list = True
            item_pos.append(_place(child.start_mark))
            value = self.build(child, flow)
            if _may_trap(child, value):
                trap = self.trap(child, value)
                if trap is not None:
                    if data.traps is None:
                        data.traps = {}
                    data.traps[len(data)] = trap
            data.append(value)
        return data

    def plain_in_flow(self, value: str) -> None:
        """A plain scalar (value or key) inside a flow collection: `?` goes to the reference,
        `:` is noted (module docstring)."""
        if "?" in value:
            raise _Defer
        if ":" in value:
            self.colon_in_flow = True

    def first_time(self, node: Any) -> None:
        if id(node) in self.built:
            raise _Defer
        self.built.add(id(node))

    @staticmethod
    def trap(node: Any, value: Any) -> tuple[int, int, str] | None:
        message = describe_trap(node.value, value)
        if message is None:
            return None
        mark = node.start_mark
        return (mark.line + 1, mark.column + 1, message)


def load_fast(text: str, display: str) -> list[SourceDocument] | None:
    """Every document of `text`, built as the reference path builds them, or None when the text
    is one for the reference path (it would report something, or the parsers may disagree)."""
    if _may_hold_tags_anchors_or_directives(text):
        return None
    builder = _Builder(display)
    documents: list[SourceDocument] = []
    parser = _Parser(text)
    try:
        while parser.check_node():
            node = parser.get_node()
            builder.built.clear()  # node ids are unique within a document, not across them
            mark = node.start_mark
            data = builder.build(node, False)
            documents.append(
                SourceDocument(display, len(documents), data, mark.line + 1, mark.column + 1)
            )
    except Exception:
        # _Defer, a parser error, a value ruamel fails to convert: the reference reports it.
        return None
    finally:
        parser.dispose()
    if builder.colon_in_flow and (
        builder.map_in_flow_list or builder.block_scalar or _pure_may_differ(text)
    ):
        return None
    return documents


# Where ruamel's pure-Python parser reads a text otherwise than libyaml 0.2.x (the YAML test
# suite and the differential tests in tests/property show each), besides block scalars: tabs,
# lines of spaces only, YAML 1.1's line breaks (NEL, LS, PS), CR, a byte order mark past the
# start, document markers (`---`, `...`: only a one-document text is taken); and a text not
# ending in a line break.
_PURE_MAY_DIFFER = re.compile(r"[\t\r\x85\u2028\u2029\ufeff]|^ +$|^(?:---|\.\.\.)", re.MULTILINE)


def _pure_may_differ(text: str) -> bool:
    """True when the pure-Python parser may read `text` otherwise than libyaml, or would run out
    of Python stack on its nesting."""
    if not text.endswith("\n") or _PURE_MAY_DIFFER.search(text):
        return True
    return scan_nesting_depth(text, MAX_DEPTH)[0] > MAX_DEPTH
