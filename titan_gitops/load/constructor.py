"""The YAML reader behind the load stage: ruamel's safe loader on the C parser, building
`LineDict` / `LineList` that remember the file, line and column of every key and item.

Refused constructs (tags other than plain YAML's, non-string or duplicate keys, dates, non-finite
numbers, a node built twice through an alias) are recorded as located problems, never raised.
Plain values that YAML 1.1 reads differently (`010`, `on`, `1:30`) are noted on their container
(`traps`); validate decides which fields they matter in.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

from _ruamel_yaml import CParser  # type: ignore[import-not-found]
from ruamel.yaml import YAML
from ruamel.yaml.composer import Composer
from ruamel.yaml.constructor import SafeConstructor
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.parser import Parser
from ruamel.yaml.reader import Reader
from ruamel.yaml.resolver import VersionedResolver
from ruamel.yaml.scanner import Scanner
from ruamel.yaml.tag import Tag

from titan_gitops.errors import Problem
from titan_gitops.load.caps import MAX_DEPTH
from titan_gitops.load.located import LineDict, LineList, Position, Trap
from titan_gitops.load.yaml11 import describe_trap

_CORE = "tag:yaml.org,2002:"
_ALLOWED_TAGS = frozenset(
    _CORE + t for t in ("str", "int", "float", "bool", "null", "map", "seq", "timestamp")
)

_STR = _CORE + "str"


def _position(node: Node) -> Position:
    return (node.start_mark.line + 1, node.start_mark.column + 1)


def _trap(node: Any, value: Any) -> Trap | None:
    # Only plain scalars are resolved by their text; quoted and block ones are always strings.
    # The C parser gives a plain scalar the style '', the pure one None.
    if node.__class__ is not ScalarNode or node.style:
        return None
    message = describe_trap(node.value, value)
    if message is None:
        return None
    line, col = _position(node)
    return (line, col, message)


class _LocatingConstructor(SafeConstructor):
    """Builds LineDict/LineList, and records refused constructs as problems instead of raising.

    Recording rather than raising keeps every problem of a file, not only the first one.
    """

    src: str = ""
    problems: list[Problem]
    doc_positions: list[Position]

    def _refuse(self, node: Node, message: str) -> None:
        line, col = _position(node)
        self.problems.append(Problem(self.src, line, col, "", message))

    def construct_document(self, node: Any) -> Any:
        self.doc_positions.append(_position(node))
        self.seen_nodes: set[int] = set()
        return self.construct_object(node, deep=True)

    def construct_object(self, node: Any, deep: bool = False) -> Any:
        """Build plain data directly (no generators: nesting is capped before parsing)."""
        # The event pre-check reports anchors and aliases; this guard makes sure a node shared by
        # an alias is never built twice, so an alias bomb cannot expand even if that check missed.
        if id(node) in self.seen_nodes:
            self._refuse(node, "anchors and aliases are not allowed")
            return None
        self.seen_nodes.add(id(node))
        ctag = node.ctag
        # The C parser hands resolved tags over as plain strings: skip ruamel's Tag rendering.
        tag = ctag.suffix if ctag.handle is None and ctag.suffix in _ALLOWED_TAGS else node.tag
        if tag not in _ALLOWED_TAGS:
            self._refuse(node, f"the tag {_show_tag(tag)} is not allowed (plain YAML only)")
            return None
        if isinstance(node, MappingNode):
            return self.construct_line_dict(node)
        if isinstance(node, SequenceNode):
            return self.construct_line_list(node)
        if tag == _STR:
            return node.value
        return self.yaml_constructors[tag](self, node)

    def construct_line_dict(self, node: Any) -> LineDict:
        data = LineDict(self.src, _position(node))
        first_seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode) or key_node.tag != _STR:
                self._refuse(key_node, "mapping keys must be plain strings")
                continue
            key = key_node.value
            line, col = _position(key_node)
            if key in first_seen:
                self._refuse(key_node, f"duplicate key {key!r} (first at line {first_seen[key]})")
                continue
            self.seen_nodes.add(id(key_node))
            first_seen[key] = line
            data.key_pos[key] = (line, col)
            value = data[key] = self.construct_object(value_node)
            trap = _trap(value_node, value)
            if trap is not None:
                if data.traps is None:
                    data.traps = {}
                data.traps[key] = trap
        return data

    def construct_line_list(self, node: Any) -> LineList:
        data = LineList(self.src, _position(node))
        for child in node.value:
            data.item_pos.append(_position(child))
            value = self.construct_object(child)
            trap = _trap(child, value)
            if trap is not None:
                if data.traps is None:
                    data.traps = {}
                data.traps[len(data)] = trap
            data.append(value)
        return data

    def construct_yaml_timestamp(self, node: Any, values: Any = None) -> str:
        # A date is not JSON: refuse it here, where its line is known, and keep the text.
        self._refuse(
            node, f"{node.value} is read as a date, not a string; quote it: '{node.value}'"
        )
        return str(node.value)

    def construct_yaml_float(self, node: Any) -> float | str:  # type: ignore[override]
        value = super().construct_yaml_float(node)
        if isinstance(value, float) and not math.isfinite(value):
            self._refuse(node, f"{node.value} is not a JSON number; quote it if it is text")
            return str(node.value)
        return value


_LocatingConstructor.add_constructor(
    _CORE + "timestamp", _LocatingConstructor.construct_yaml_timestamp
)
_LocatingConstructor.add_constructor(_CORE + "float", _LocatingConstructor.construct_yaml_float)


def _show_tag(tag: str) -> str:
    return "!!" + tag[len(_CORE) :] if tag.startswith(_CORE) else tag


def make_yaml() -> YAML:
    """A safe YAML loader on the C parser with the locating constructor."""
    yaml = YAML(typ="safe", pure=False)
    yaml.Constructor = _LocatingConstructor
    return yaml


class _FastResolver(VersionedResolver):
    """ruamel's YAML 1.2 resolver with its per-scalar version lookup done once per loader.

    libyaml's parser reports no `%YAML` version to the resolver, so ruamel always resolves by
    its default (1.2) there, after two caught AttributeErrors per scalar; the answer is cached.
    """

    _table: dict[Any, list[tuple[str, Any]]] | None = None
    _tags: ClassVar[dict[str, Tag]] = {}

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is ScalarNode:
            if implicit[0]:
                table = self._table
                if table is None:
                    table = self._table = self.versioned_resolver
                first = table.get(value[0] if value else "", ())
                for tag, regexp in (*first, *table.get(None, ())):
                    if regexp.match(value):
                        cached = self._tags.get(tag)
                        if cached is None:
                            cached = self._tags[tag] = Tag(suffix=tag)
                        return cached
            return self.DEFAULT_SCALAR_TAG
        if kind is SequenceNode:
            return self.DEFAULT_SEQUENCE_TAG
        return self.DEFAULT_MAPPING_TAG


class YamlLoader(CParser, _LocatingConstructor, _FastResolver):  # type: ignore[misc]
    """The C reader/scanner/parser/composer joined to the locating constructor, as ruamel does.

    Loaders are built per text: `YamlLoader(text, display)`; `problems` and `doc_positions`
    fill as documents are built.
    """

    def __init__(self, text: str, src: str) -> None:
        CParser.__init__(self, text)
        self._parser = self._composer = self._scanner = self
        _LocatingConstructor.__init__(self, loader=self)
        _FastResolver.__init__(self, version=None, loadumper=self)
        self.src = src
        self.problems = []
        self.doc_positions = []


class PureYamlLoader(Reader, Scanner, Parser, Composer, _LocatingConstructor, VersionedResolver):
    """The pure-Python pipeline with the same constructor, for YAML 1.2 that libyaml refuses."""

    def __init__(self, text: str, src: str) -> None:
        self.comment_handling = None
        # The composer's own depth guard; the raw-text scan has already capped depth at 64.
        self.max_depth = MAX_DEPTH + 1
        Reader.__init__(self, text, loader=self)
        Scanner.__init__(self, loader=self)
        Parser.__init__(self, loader=self)
        Composer.__init__(self, loader=self)
        _LocatingConstructor.__init__(self, loader=self)
        VersionedResolver.__init__(self, None, loader=self)
        self.src = src
        self.problems = []
        self.doc_positions = []
