"""Mutation points of a module and the one instrumented copy of it that holds them all.

A mutant is one small wrong edit: a comparison flipped (`==` → `!=`, `<` → `>=`, `in` → `not in`),
`and` swapped with `or`, a condition negated, a number changed (n → n + 1) or a boolean flipped, a
`return X` made `return None`, a statement replaced by `pass`.

Every mutant of a module is compiled into one copy of it (a mutant schema): each mutation point
asks the builtin `_titan_mutant` which mutant is active and takes the mutated branch only for its
own number, so the unmutated run (-1) behaves exactly as the source does. The copy keeps the
source's line numbers, so coverage of the source maps onto mutants and tracebacks read right.
"""

from __future__ import annotations

import ast
import builtins
import copy
import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

SWITCH = "_titan_mutant"

FLIPPED: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.Lt: ast.GtE,
    ast.GtE: ast.Lt,
    ast.Gt: ast.LtE,
    ast.LtE: ast.Gt,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
}
# Statements a mutant may replace by `pass`; compound statements and definitions are left whole.
PASSABLE = (
    ast.Expr,
    ast.Assign,
    ast.AugAssign,
    ast.AnnAssign,
    ast.Raise,
    ast.Continue,
    ast.Break,
    ast.Delete,
)
SNIPPET = 72


@dataclass(frozen=True)
class Mutant:
    """One mutation point: where, what it changes, whether it acts when the module is imported."""

    number: int
    path: str
    line: int
    end_line: int
    qualname: str
    operator: str
    before: str
    after: str
    at_import: bool
    key: str = ""

    def describe(self) -> str:
        """`path:line  operator  before → after`, one line."""
        return f"{self.path}:{self.line}  {self.operator}  {self.before} → {self.after}"


@dataclass
class _Point:
    operator: str
    node: ast.AST
    mutated: ast.AST
    qualname: str
    at_import: bool


def _short(node: ast.AST) -> str:
    text = " ".join(ast.unparse(node).split())
    return text if len(text) <= SNIPPET else text[: SNIPPET - 1] + "…"


def _is_docstring(parent: ast.AST, node: ast.stmt) -> bool:
    body = getattr(parent, "body", None)
    return (
        isinstance(parent, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and isinstance(body, list)
        and bool(body)
        and body[0] is node
        and isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    )


def _skipped_expressions(tree: ast.Module) -> set[int]:
    """Ids of nodes never mutated: annotations, f-string parts, `TYPE_CHECKING` blocks."""
    skipped: set[int] = set()

    def skip(node: ast.AST | None) -> None:
        if node is not None:
            skipped.update(id(sub) for sub in ast.walk(node))

    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            skip(node.returns)
            for arg in [*node.args.args, *node.args.kwonlyargs, *node.args.posonlyargs]:
                skip(arg.annotation)
            skip(node.args.vararg.annotation if node.args.vararg else None)
            skip(node.args.kwarg.annotation if node.args.kwarg else None)
        elif isinstance(node, ast.AnnAssign):
            skip(node.annotation)
        elif _never_mutated(node):
            skip(node)
    return skipped


def _never_mutated(node: ast.AST) -> bool:
    """f-strings (their text is a message), `if TYPE_CHECKING:` blocks, `cast`, `TypeVar`."""
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.If):
        return "TYPE_CHECKING" in ast.unparse(node.test)
    return isinstance(node, ast.Call) and ast.unparse(node.func) in ("TypeVar", "cast")


class _Finder(ast.NodeVisitor):
    """Walks a module and lists its mutation points in source order."""

    def __init__(self, tree: ast.Module) -> None:
        self.points: list[_Point] = []
        self._skipped = _skipped_expressions(tree)
        self._scope: list[str] = []
        self._in_function = 0
        self._parents: list[ast.AST] = []

    def _add(self, operator: str, node: ast.AST, mutated: ast.AST) -> None:
        qualname = ".".join(self._scope) or "<module>"
        self.points.append(_Point(operator, node, mutated, qualname, self._in_function == 0))

    def generic_visit(self, node: ast.AST) -> None:
        self._parents.append(node)
        super().generic_visit(node)
        self._parents.pop()

    def _visit_scope(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> None:
        for decorator in node.decorator_list:
            self.visit(decorator)
        if not isinstance(node, ast.ClassDef):
            for default in [*node.args.defaults, *node.args.kw_defaults]:
                if default is not None:
                    self.visit(default)
        self._scope.append(node.name)
        function = not isinstance(node, ast.ClassDef)
        self._in_function += function
        self._parents.append(node)
        for statement in node.body:
            self.visit(statement)
        self._parents.pop()
        self._in_function -= function
        self._scope.pop()

    visit_FunctionDef = _visit_scope
    visit_AsyncFunctionDef = _visit_scope
    visit_ClassDef = _visit_scope

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self._in_function += 1
        self.generic_visit(node)
        self._in_function -= 1

    def visit(self, node: ast.AST) -> None:
        if id(node) in self._skipped:
            return
        parent = self._parents[-1] if self._parents else None
        if isinstance(node, ast.stmt):
            self._statement(node, parent)
        elif isinstance(node, ast.expr):
            self._expression(node)
        super().visit(node)

    def _statement(self, node: ast.stmt, parent: ast.AST | None) -> None:
        value = node.value if isinstance(node, ast.Return) else None
        if value is not None and not (isinstance(value, ast.Constant) and value.value is None):
            self._add("return None", node, ast.Return(value=ast.Constant(value=None)))
        if isinstance(node, ast.If | ast.While):
            self._add("negate condition", node.test, ast.UnaryOp(op=ast.Not(), operand=node.test))
        if not isinstance(node, PASSABLE) or not self._in_function or parent is None:
            return
        if not _is_docstring(parent, node) and not _is_ellipsis(node):
            self._add("statement → pass", node, ast.Pass())

    def _expression(self, node: ast.expr) -> None:
        if isinstance(node, ast.Compare):
            for index, op in enumerate(node.ops):
                flipped = FLIPPED.get(type(op))
                if flipped is not None:
                    mutated = copy.copy(node)
                    mutated.ops = [*node.ops[:index], flipped(), *node.ops[index + 1 :]]
                    self._add("flip comparison", node, mutated)
        elif isinstance(node, ast.BoolOp):
            other = ast.Or() if isinstance(node.op, ast.And) else ast.And()
            self._add("swap and/or", node, ast.BoolOp(op=other, values=node.values))
        elif isinstance(node, ast.IfExp):
            self._add("negate condition", node.test, ast.UnaryOp(op=ast.Not(), operand=node.test))
        elif isinstance(node, ast.Constant):
            changed = _changed_constant(node.value)
            if changed is not None:
                self._add("change constant", node, ast.Constant(value=changed[0]))

    def visit_comprehension(self, node: ast.comprehension) -> None:
        for condition in node.ifs:
            if id(condition) not in self._skipped:
                self._add(
                    "negate condition", condition, ast.UnaryOp(op=ast.Not(), operand=condition)
                )
        self.generic_visit(node)


def _is_ellipsis(node: ast.stmt) -> bool:
    return (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and node.value.value is ...
    )


def _changed_constant(value: object) -> tuple[int | float | bool] | None:
    if isinstance(value, bool):
        return (not value,)
    if isinstance(value, int):
        return (value + 1,)
    if isinstance(value, float):
        return (value + 1.0,)
    return None


@dataclass
class Module:
    """A module's mutants, numbered from `first`, and the instrumented tree that holds them."""

    path: str
    mutants: list[Mutant] = field(default_factory=list)
    tree: ast.Module | None = None
    digest: str = ""


def find_mutants(source: str, path: str, first: int) -> Module:
    """List the mutation points of one module, numbered from `first`, and build its schema."""
    tree = ast.parse(source, filename=path)
    finder = _Finder(tree)
    finder.visit(tree)
    module = Module(path, digest=hashlib.sha256(source.encode()).hexdigest())
    seen: dict[str, int] = {}
    by_node: dict[int, list[tuple[int, _Point]]] = {}
    for offset, point in enumerate(finder.points):
        number = first + offset
        before, after = _short(point.node), _short(point.mutated)
        if point.operator == "negate condition":
            after = f"not ({before})"
        base = f"{path}::{point.qualname}::{point.operator}::{before} → {after}"
        seen[base] = seen.get(base, 0) + 1
        key = base if seen[base] == 1 else f"{base} #{seen[base]}"
        node = point.node
        module.mutants.append(
            Mutant(
                number=number,
                path=path,
                line=getattr(node, "lineno", 0),
                end_line=getattr(node, "end_lineno", 0) or getattr(node, "lineno", 0),
                qualname=point.qualname,
                operator=point.operator,
                before=before,
                after=after,
                at_import=point.at_import,
                key=key,
            )
        )
        by_node.setdefault(id(node), []).append((number, point))
    schema = _Schema(by_node).visit(tree)
    assert isinstance(schema, ast.Module)
    module.tree = ast.fix_missing_locations(schema)
    return module


def _active(number: int, negate: bool = False) -> ast.Compare:
    op: ast.cmpop = ast.NotEq() if negate else ast.Eq()
    return ast.Compare(
        left=ast.Name(id=SWITCH, ctx=ast.Load()), ops=[op], comparators=[ast.Constant(number)]
    )


class _Schema(ast.NodeTransformer):
    """Rewrites each mutation point as a switch between its mutants and the original."""

    def __init__(self, by_node: dict[int, list[tuple[int, _Point]]]) -> None:
        self._by_node = by_node

    def visit(self, node: ast.AST) -> ast.AST:
        points = self._by_node.get(id(node), [])
        result: ast.AST = self.generic_visit(node)
        for number, point in points:
            result = self._switch(number, point, result)
        return result

    def _switch(self, number: int, point: _Point, current: ast.AST) -> ast.AST:
        mutated = _rebuild(point, current)
        switched: ast.AST
        if isinstance(current, ast.stmt):
            if point.operator == "statement → pass":
                switched = ast.If(test=_active(number, negate=True), body=[current], orelse=[])
            else:
                body = [cast(ast.stmt, mutated)]
                switched = ast.If(test=_active(number), body=body, orelse=[current])
        else:
            expression = cast(ast.expr, current)
            switched = ast.IfExp(
                test=_active(number), body=cast(ast.expr, mutated), orelse=expression
            )
        return ast.copy_location(switched, current)


def _rebuild(point: _Point, current: ast.AST) -> ast.AST:
    """The mutated node built around the (already instrumented) current one."""
    if point.operator == "negate condition":
        built: ast.AST = ast.UnaryOp(op=ast.Not(), operand=cast(ast.expr, current))
    elif point.operator == "swap and/or" and isinstance(current, ast.BoolOp):
        built = ast.BoolOp(
            op=ast.Or() if isinstance(current.op, ast.And) else ast.And(), values=current.values
        )
    elif point.operator == "flip comparison" and isinstance(current, ast.Compare):
        assert isinstance(point.mutated, ast.Compare)
        built = ast.Compare(
            left=current.left, ops=point.mutated.ops, comparators=current.comparators
        )
    else:
        built = copy.deepcopy(point.mutated)
    return ast.copy_location(built, current)


MANIFEST_ENV = "TITAN_GITOPS_MUTATION_MANIFEST"
ACTIVE_ENV = "TITAN_GITOPS_MUTANT"


def number_modules(manifest: list[tuple[str, str]], read: Callable[[str], str]) -> list[Module]:
    """Number the mutants of (dotted name, path) modules one after another, from 0."""
    modules: list[Module] = []
    first = 0
    for _name, path in manifest:
        module = find_mutants(read(path), path, first)
        modules.append(module)
        first += len(module.mutants)
    return modules


class _SchemaLoader(importlib.machinery.SourceFileLoader):
    """Loads a module from its mutant schema instead of its source (or a cached .pyc of it)."""

    schema: ast.Module
    compiled = False

    def get_code(self, fullname: str) -> Any:
        self.compiled = True
        return compile(self.schema, self.path, "exec", dont_inherit=True)


class _SchemaFinder(importlib.abc.MetaPathFinder):
    def __init__(self, root: Path, manifest: dict[str, tuple[str, int, str]]) -> None:
        self._root = root
        self._manifest = manifest

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname not in self._manifest:
            return None
        relative, first, digest = self._manifest[fullname]
        file = str(self._root / relative)
        module = find_mutants(Path(file).read_text(encoding="utf-8"), relative, first)
        if module.digest != digest:
            # The numbers would no longer match the runner's list of mutants.
            raise ImportError(f"{relative} changed since the mutation run started; run it again")
        assert module.tree is not None
        loader = _SchemaLoader(fullname, file)
        loader.schema = module.tree
        locations = [str(Path(file).parent)] if file.endswith("__init__.py") else None
        return importlib.util.spec_from_file_location(
            fullname, file, loader=loader, submodule_search_locations=locations
        )


def write_manifest(file: Path, modules: list[tuple[str, Module]]) -> None:
    """Record each module's dotted name, path, first number and digest, for every process."""
    rows = [
        (name, module.path, module.mutants[0].number if module.mutants else -1, module.digest)
        for name, module in modules
    ]
    file.write_text(json.dumps(rows), encoding="utf-8")


def install_hook(root: Path) -> None:
    """Import the manifest's modules from their schemas; the active mutant from the environment."""
    builtins.__dict__[SWITCH] = int(os.environ.get(ACTIVE_ENV, "-1"))
    manifest_file = os.environ.get(MANIFEST_ENV)
    if not manifest_file:
        return
    rows = json.loads(Path(manifest_file).read_text(encoding="utf-8"))
    manifest = {str(n): (str(path), int(first), str(digest)) for n, path, first, digest in rows}
    sys.meta_path.insert(0, _SchemaFinder(root, manifest))


def activate(number: int) -> None:
    """Make `number` the active mutant in this process and in every process it starts."""
    builtins.__dict__[SWITCH] = number
    os.environ[ACTIVE_ENV] = str(number)
