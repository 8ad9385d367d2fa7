"""YAML text to located documents: the anchor/alias pre-scan, the parse, and parser failures
turned into located problems (never a traceback on hostile input)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from titan_gitops.errors import Problem
from titan_gitops.load.caps import (
    MAX_DEPTH,
    decode_definition_bytes,
    file_problem,
    read_definition_bytes,
    scan_nesting_depth,
)
from titan_gitops.model import SourceDocument

# A `&` or `*` where an anchor or alias could start; cron's `* * *` and URL `&` do not match.
# Text deeper than this never reaches a parser: ruamel's C composer recurses on the C stack, and
# tens of thousands of levels end the process. Files are capped far lower (MAX_DEPTH) when read;
# this covers text handed to the loader directly, and is deeper than Python's own recursion
# limit, so text between the two still ends as the RecursionError problem below.
_DEEPEST_TEXT = 16 * MAX_DEPTH

_ANCHOR_OR_ALIAS = re.compile(r"(?:^|[\s\[\]{},:?-])[&*][^\s\[\]{},'\"]")


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
    """Every document of `text` with positions, or located problems; never raises for bad YAML.

    Takes the libyaml fast path when PyYAML has libyaml, the reference path for what it hands back.
    """
    # Imported here: a run whose definitions are all cached never loads PyYAML.
    from titan_gitops.load.libyaml import WITH_LIBYAML, load_fast

    if WITH_LIBYAML:
        documents = load_fast(text, display)
        if documents is not None:
            return documents, []
    return load_yaml_text_reference(text, display)


def load_yaml_text_reference(text: str, display: str) -> tuple[list[SourceDocument], list[Problem]]:
    """`load_yaml_text` through ruamel's C parser and constructor.py only: the reference path."""
    from titan_gitops.load.constructor import PureYamlLoader, YamlLoader

    if scan_nesting_depth(text, _DEEPEST_TEXT)[0] > _DEEPEST_TEXT:
        return [], [file_problem(display, "nesting is too deep to read")]
    try:
        try:
            return _load_with(YamlLoader, text, display)
        except Exception as exc:
            # libyaml keeps YAML 1.1's rule and refuses `urls: [https://a.example/]`; YAML 1.2
            # allows it, so only such a file takes the slower pure-Python parser.
            if "found unexpected ':'" not in str(getattr(exc, "problem", "")):
                raise
            return _load_with(PureYamlLoader, text, display)
    except RecursionError:
        return [], [file_problem(display, "nesting is too deep to read")]
    except MemoryError:
        return [], [file_problem(display, "the file is too large to read")]
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
    raw, problems = read_definition_bytes(path, display)
    if raw is None:
        return [], problems
    return load_yaml_bytes(raw, display)


def load_yaml_bytes(raw: bytes, display: str) -> tuple[list[SourceDocument], list[Problem]]:
    """Decode, cap and load one file's bytes (read from disk or from git)."""
    text, problems = decode_definition_bytes(raw, display)
    if text is None:
        return [], problems
    return load_yaml_text(text, display)
