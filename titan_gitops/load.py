"""Stage: definition files → located YAML documents, refusing hostile input before it can bite.

Uses ruamel.yaml's safe loader on the C parser. Every mapping and list comes back as a
`LineDict` / `LineList` that remembers its file and the line and column of each key and item, so
any later stage can point into the file. Caps run on the raw text before the parser sees it.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
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
from titan_gitops.model import SourceDocument

MAX_FILE_BYTES = 1024 * 1024
MAX_DEPTH = 64
PROJECT_FILE = "titan-gitops.yaml"
YAML_SUFFIXES = (".yaml", ".yml")

_CORE = "tag:yaml.org,2002:"
_ALLOWED_TAGS = frozenset(
    _CORE + t for t in ("str", "int", "float", "bool", "null", "map", "seq", "timestamp")
)

_STR = _CORE + "str"
# A `&` or `*` where an anchor or alias could start; cron's `* * *` and URL `&` do not match.
_ANCHOR_OR_ALIAS = re.compile(r"(?:^|[\s\[\]{},:?-])[&*][^\s\[\]{},'\"]")

Position = tuple[int, int]


class LineDict(dict[str, Any]):
    """A mapping that knows its file and the 1-based line and column of itself and its keys."""

    __slots__ = ("key_pos", "key_src", "pos", "src")

    def __init__(self, src: str = "", pos: Position = (1, 1)) -> None:
        # dict.__new__ already made the empty mapping; skipping dict.__init__ saves a call per node.
        self.src = src
        self.pos = pos
        self.key_pos: dict[str, Position] = {}
        # Set only on merged mappings, whose keys may come from several files.
        self.key_src: dict[str, str] | None = None


class LineList(list[Any]):
    """A list that knows its file and the 1-based line and column of itself and its items."""

    __slots__ = ("item_pos", "pos", "src")

    def __init__(self, src: str = "", pos: Position = (1, 1)) -> None:
        # dict.__new__ already made the empty mapping; skipping dict.__init__ saves a call per node.
        self.src = src
        self.pos = pos
        self.item_pos: list[Position] = []


def _position(node: Node) -> Position:
    return (node.start_mark.line + 1, node.start_mark.column + 1)


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
            data[key] = self.construct_object(value_node)
        return data

    def construct_line_list(self, node: Any) -> LineList:
        data = LineList(self.src, _position(node))
        for child in node.value:
            data.item_pos.append(_position(child))
            data.append(self.construct_object(child))
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


class _Loader(CParser, _LocatingConstructor, _FastResolver):  # type: ignore[misc]
    """The C reader/scanner/parser/composer joined to the locating constructor, as ruamel does."""

    def __init__(self, text: str, src: str) -> None:
        CParser.__init__(self, text)
        self._parser = self._composer = self._scanner = self
        _LocatingConstructor.__init__(self, loader=self)
        _FastResolver.__init__(self, version=None, loadumper=self)
        self.src = src
        self.problems = []
        self.doc_positions = []


class _PureLoader(Reader, Scanner, Parser, Composer, _LocatingConstructor, VersionedResolver):
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


@dataclass
class LoadResult:
    """What loading a directory gave: documents per file, problems, warnings."""

    documents: list[SourceDocument] = field(default_factory=list)
    project: SourceDocument | None = None
    # Files whose text holds `${`: only their documents need variable substitution.
    variable_paths: set[str] = field(default_factory=set)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)


_INDENT = re.compile(r"^( *)\S", re.MULTILINE)
_DASHES = re.compile(r"^ *((?:- +)+)", re.MULTILINE)


def _depth_bound(text: str) -> int:
    """A cheap upper bound of the depth: distinct indents + most dashes on a line + all opens."""
    indents = len(set(_INDENT.findall(text)))
    dashes = max((m.count("-") for m in _DASHES.findall(text)), default=0)
    return indents + dashes + text.count("[") + text.count("{")


def scan_nesting_depth(text: str, limit: int | None = None) -> tuple[int, int]:
    """A conservative upper bound of the nesting depth of YAML text, and the line reaching it.

    With `limit`, stops at the first line deeper than it.

    Counts indentation levels, `- ` markers opening a line, and open flow brackets; it may
    over-count (a bracket in a block scalar) but never under-counts deep flow or block nesting.
    """
    if limit is not None and _depth_bound(text) <= limit:
        return 0, 0
    indents: list[int] = []
    flow = 0
    worst, worst_line = 0, 0
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.lstrip(" ")
        if not stripped or stripped.startswith("#"):
            continue
        indent = len(line) - len(stripped)
        while indents and indents[-1] > indent:
            indents.pop()
        if not indents or indents[-1] < indent:
            indents.append(indent)
        dashes = 0
        rest = stripped
        while rest.startswith("- ") or rest == "-":
            dashes += 1
            rest = rest[2:].lstrip(" ")
        if not any(bracket in rest for bracket in "[]{}"):
            # No flow brackets on this line: its depth is its indentation plus open flows.
            if len(indents) + dashes + flow > worst:
                worst, worst_line = len(indents) + dashes + flow, number
                if limit is not None and worst > limit:
                    return worst, worst_line
            continue
        quote = ""
        for char in rest:
            if quote:
                if char == quote:
                    quote = ""
            elif char in "'\"":
                quote = char
            elif char in "[{":
                flow += 1
                if len(indents) + dashes + flow > worst:
                    worst, worst_line = len(indents) + dashes + flow, number
                    if limit is not None and worst > limit:
                        return worst, worst_line
            elif char in "]}":
                flow = max(0, flow - 1)
            elif char == "#":
                break
        if len(indents) + dashes + flow > worst:
            worst, worst_line = len(indents) + dashes + flow, number
            if limit is not None and worst > limit:
                return worst, worst_line
    return worst, worst_line


def read_definition_text(path: Path, display: str) -> tuple[str | None, list[Problem]]:
    """The file's text, or a located problem: too big, unreadable, not UTF-8, or too deep."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            return None, [_file_problem(display, f"file is {size} bytes; the limit is 1 MiB")]
        with path.open("rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        return None, [_file_problem(display, f"cannot read the file: {exc.strerror or exc}")]
    if len(raw) > MAX_FILE_BYTES:
        return None, [_file_problem(display, "file is larger than the 1 MiB limit")]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        return None, [Problem(display, line, col, "", "the file is not valid UTF-8")]
    text = text.removeprefix("\ufeff")
    depth, line = scan_nesting_depth(text, MAX_DEPTH)
    if depth > MAX_DEPTH:
        message = f"nesting is deeper than {MAX_DEPTH} levels"
        return None, [Problem(display, line, 1, "", message)]
    return text, []


def _file_problem(display: str, message: str) -> Problem:
    return Problem(display, 1, 1, "", message)


def _alias_problems(loader_class: type[Any], text: str, display: str) -> list[Problem]:
    # Only files that contain `&` or `*` can hold anchors or aliases; the event scan is cheap and
    # runs before anything is constructed, so an alias bomb never expands.
    first: dict[str, Problem] = {}
    counts = {"alias": 0, "anchor": 0}
    loader = loader_class(text, display)
    try:
        while loader.check_event():
            event = loader.get_event()
            anchor = getattr(event, "anchor", None)
            if anchor is None:
                continue
            kind = "alias" if type(event).__name__ == "AliasEvent" else "anchor"
            counts[kind] += 1
            if kind not in first:
                line, col = event.start_mark.line + 1, event.start_mark.column + 1
                sign = "*" if kind == "alias" else "&"
                plural = "aliases" if kind == "alias" else "anchors"
                message = f"{plural} are not allowed ({sign}{anchor}); write the value out"
                first[kind] = Problem(display, line, col, "", message)
    finally:
        loader.dispose()
    # One problem per kind keeps a bomb of thousands of aliases to a readable report.
    problems = []
    for kind, problem in first.items():
        more = counts[kind] - 1
        if more:
            noun = "other" if more == 1 else "others"
            problem = Problem(
                problem.path, problem.line, problem.col, "", f"{problem.message} ({more} {noun})"
            )
        problems.append(problem)
    return problems


def _load_with(
    loader_class: type[Any], text: str, display: str
) -> tuple[list[SourceDocument], list[Problem]]:
    if _ANCHOR_OR_ALIAS.search(text):
        problems = _alias_problems(loader_class, text, display)
        if problems:
            return [], problems
    documents: list[SourceDocument] = []
    loader = loader_class(text, display)
    try:
        while loader.check_data():
            data = loader.get_data()
            index = len(documents)
            line, col = loader.doc_positions[index]
            documents.append(SourceDocument(display, index, data, line, col))
    finally:
        loader.dispose()
    return documents, loader.problems


def load_yaml_text(text: str, display: str) -> tuple[list[SourceDocument], list[Problem]]:
    """Every document of `text` with positions, or located problems; never raises for bad YAML."""
    try:
        try:
            return _load_with(_Loader, text, display)
        except Exception as exc:
            # libyaml keeps YAML 1.1's rule and refuses `urls: [https://a.example/]`; YAML 1.2
            # allows it, so only such a file takes the slower pure-Python parser.
            if "found unexpected ':'" not in str(getattr(exc, "problem", "")):
                raise
            return _load_with(_PureLoader, text, display)
    except RecursionError:
        return [], [_file_problem(display, "nesting is too deep to read")]
    except MemoryError:
        return [], [_file_problem(display, "the file is too large to read")]
    except Exception as exc:
        # Any parser failure on hostile input must end as a located problem, never a traceback.
        return [], [_parser_problem(exc, display)]


def _parser_problem(exc: Exception, display: str) -> Problem:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    line = mark.line + 1 if mark is not None else 1
    col = mark.column + 1 if mark is not None else 1
    problem = getattr(exc, "problem", None)
    context = getattr(exc, "context", None)
    message = str(problem or exc.__class__.__name__)
    if context:
        message = f"{context}: {message}"
    message = message.split("\n")[0]
    if "found unexpected ':'" in message:
        message += " (quote a value that contains ':', such as a URL inside [...])"
    if "alias" in message or "found character '*'" in message or "'*'" in message:
        message += " (a value starting with * must be quoted, e.g. schedule: '*/5 * * * *')"
    return Problem(display, line, col, "", f"invalid YAML: {message}")


def load_yaml_file(path: Path, display: str) -> tuple[list[SourceDocument], list[Problem]]:
    """Read, cap and load one file."""
    text, problems = read_definition_text(path, display)
    if text is None:
        return [], problems
    return load_yaml_text(text, display)


def is_blank_yaml(text: str) -> bool:
    """True for a file holding only whitespace, comments and document markers."""
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#") and stripped not in ("---", "..."):
            return False
    return True


def list_definition_files(root: Path) -> tuple[list[tuple[Path, str]], list[Problem]]:
    """Every visible `*.yaml`/`*.yml` under `root`, sorted, as (path, display path).

    Hidden files and directories are skipped; symlinks are followed only when they stay inside
    the root (a symlink leaving it is an error), and symlinked directories are not descended.
    """
    files: list[tuple[Path, str]] = []
    problems: list[Problem] = []
    real_root = root.resolve()
    for current, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        here = Path(current)
        for name in sorted(names):
            if name.startswith(".") or not name.endswith(YAML_SUFFIXES):
                continue
            path = here / name
            display = str(path)
            if path.is_symlink():
                target = path.resolve()
                if not target.is_relative_to(real_root):
                    problems.append(
                        _file_problem(display, "symlink points outside the definitions directory")
                    )
                    continue
            if not path.is_file():
                continue
            files.append((path, display))
    return files, problems


def load_definition_files(root: Path) -> LoadResult:
    """Load every definition file under `root`, and the project file at its top."""
    result = LoadResult()
    files, problems = list_definition_files(root)
    result.problems.extend(problems)
    project_path = root / PROJECT_FILE
    for path, display in files:
        text, problems = read_definition_text(path, display)
        if text is None:
            result.problems.extend(problems)
            continue
        documents, problems = load_yaml_text(text, display)
        result.problems.extend(problems)
        if "${" in text:
            result.variable_paths.add(display)
        if path == project_path:
            if documents:
                result.project = documents[0]
            if len(documents) > 1:
                second = documents[1]
                message = "the project file holds one document only"
                result.problems.append(Problem(display, second.line, second.col, "", message))
            continue
        if not problems and (is_blank_yaml(text) or all(d.data is None for d in documents)):
            result.warnings.append(
                Problem(display, 1, 1, "", "empty file: no definitions", severity="warning")
            )
            continue
        result.documents.extend(d for d in documents if d.data is not None or len(documents) == 1)
    return result
