"""The README is tested: its definitions validate, its commands and flags exist, its flows work."""

from __future__ import annotations

import argparse
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from titan_gitops.cli import main
from titan_gitops.cli.parser import build_parser
from titan_gitops.emulator.serve import build_parser as build_serve_parser

REPO = Path(__file__).resolve().parents[2]
README = (REPO / "README.md").read_text(encoding="utf-8")
# A fenced block, indented or not: its language, and its text with the fence's indent removed.
_FENCE = re.compile(r"^( *)```(\w*)\n(.*?)^\1```$", re.M | re.S)
_INLINE = re.compile(r"(?<!`)`([^`\n]+)`(?!`)")
_VARIABLE = re.compile(r"\$\{(TITAN_VAR_\w+)\}")


def fenced_blocks(language: str) -> list[tuple[int, str]]:
    """(README line, text) of every fenced block in `language`."""
    found = []
    for match in _FENCE.finditer(README):
        if match.group(2) == language:
            indent = len(match.group(1))
            text = "".join(line[indent:] for line in match.group(3).splitlines(keepends=True))
            found.append((README.count("\n", 0, match.start()) + 1, text))
    return found


def _prose() -> str:
    """The README without its fenced blocks, where inline code spans live."""
    return _FENCE.sub("", README)


def _split_commands(line: str) -> list[str]:
    """The `titan-gitops …` commands of one shell line (split at &&, ||, ;, | and &)."""
    parts = re.split(r"&&|\|\||;|(?<!\\)\||&\s*$", line)
    return [part.strip() for part in parts if part.strip().startswith("titan-gitops ")]


def shown_commands() -> list[str]:
    """Every `titan-gitops …` command the README shows, in shell blocks and inline code."""
    commands = []
    for language in ("sh", "bash", ""):
        for _, text in fenced_blocks(language):
            for line in text.splitlines():
                commands.extend(_split_commands(line))
    for span in _INLINE.findall(_prose()):
        if span.startswith("titan-gitops "):
            # In a table a literal | is written \|; as a shell line it splits commands.
            commands.extend(c.replace("\\|", "|") for c in re.split(r"\s+/\s+", span))
    return commands


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _flags(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    return {flag: action for action in parser._actions for flag in action.option_strings}


def _command_parser(words: list[str]) -> tuple[argparse.ArgumentParser, list[str], str]:
    """The parser of the (sub)command `words` names, the words after it, and its name."""
    parser = build_parser()
    name = "titan-gitops"
    while words and _subparsers(parser):
        choices = _subparsers(parser)
        word = words[0].strip("[]")
        if word.startswith("-"):
            break
        for alternative in word.split("|"):
            assert alternative in choices, f"`{name} {alternative}` is not a command"
        name, parser, words = f"{name} {word}", choices[word.split("|")[0]], words[1:]
        if name == "titan-gitops emulator serve":
            return build_serve_parser(), words, name
    return parser, words, name


@pytest.mark.parametrize("command", shown_commands())
def test_every_command_the_readme_shows_exists_with_its_flags(command: str) -> None:
    words = command.split()[1:]
    parser, rest, name = _command_parser(words)
    flags = _flags(parser)
    for index, word in enumerate(rest):
        token = word.strip("[]").split("=")[0]
        if not token.startswith("--"):
            continue
        assert token in flags, f"`{name}` has no flag {token}"
        action = flags[token]
        following = rest[index + 1].strip("[]") if index + 1 < len(rest) else ""
        if action.choices and following and "=" not in word:
            for value in following.split("|"):
                assert value in action.choices, f"`{name} {token}` does not take {value!r}"


def test_the_readme_shows_commands_at_all() -> None:
    # The parsing above finds what it should: a broken pattern must not pass silently.
    commands = shown_commands()
    assert "titan-gitops plan tasks.example" in commands
    assert any(c.startswith("titan-gitops emulator serve --port 8080") for c in commands)
    assert any(c.startswith("titan-gitops validate DIR [--output text|json]") for c in commands)


def test_every_command_is_in_the_command_table() -> None:
    table = README.split("## Commands", 1)[1].split("\n\n", 2)[1]
    documented = {
        span.split()[1]
        for span in _INLINE.findall(table)
        if span.startswith("titan-gitops ") and len(span.split()) > 1
    }
    assert set(_subparsers(build_parser())) <= documented


def test_every_flag_the_prose_names_exists() -> None:
    parsers = [build_parser(), build_serve_parser()]
    known: set[str] = set()
    while parsers:
        parser = parsers.pop()
        known |= set(_flags(parser))
        parsers.extend(_subparsers(parser).values())
    named = {span.split()[0].split("=")[0] for span in _INLINE.findall(_prose())}
    unknown = {flag for flag in named if flag.startswith("--")} - known
    assert not unknown, f"the README names flags no command has: {sorted(unknown)}"


def definition_blocks() -> list[tuple[int, str]]:
    return [
        (line, text) for line, text in fenced_blocks("yaml") if re.search(r"^kind:", text, re.M)
    ]


@pytest.mark.parametrize(
    ("line", "text"), [pytest.param(*block, id=f"line-{block[0]}") for block in definition_blocks()]
)
def test_every_definition_in_the_readme_validates_as_written(
    line: int,
    text: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Its ${TITAN_VAR_...} placeholders come from the environment, as the README says.
    for name in _VARIABLE.findall(text):
        monkeypatch.setenv(name, f"value-of-{name.lower()}")
    (tmp_path / "defs").mkdir()
    (tmp_path / "defs" / "example.yaml").write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    code = main(["validate", "defs", "--strict"])
    assert code == 0, f"README.md line {line}:\n{capsys.readouterr().err}"


def test_the_readme_holds_a_definition_example() -> None:
    assert len(definition_blocks()) >= 1


@pytest.fixture
def stdin_terminal(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """A pseudo-terminal as standard input; write to the returned descriptor to type."""
    leader, follower = os.openpty()
    with os.fdopen(follower, "r") as stream:
        monkeypatch.setattr("sys.stdin", stream)
        yield leader
    os.close(leader)


def test_the_first_commands_of_the_readme_plan_apply_and_converge(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    stdin_terminal: int,
) -> None:
    # "pip install -e . && titan-gitops plan tasks.example", then apply (it asks for yes),
    # then a second plan says "No changes.": run from a copy, so the emulator's state is ours.
    (_, first), *_ = fenced_blocks("sh")
    (plan,) = _split_commands(first)
    shutil.copytree(REPO / "tasks.example", tmp_path / "tasks.example")
    monkeypatch.chdir(tmp_path)
    assert main(plan.split()[1:]) == 0
    assert "Plan: 6 to create" in capsys.readouterr().out
    os.write(stdin_terminal, b"yes\n")
    assert main(["apply", "tasks.example"]) == 0
    assert "Apply these changes? Only 'yes' is accepted" in capsys.readouterr().err
    assert main(plan.split()[1:]) == 0
    assert "No changes." in capsys.readouterr().out


def test_the_readme_init_line_validates_and_plans(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (line,) = [
        line
        for _, text in fenced_blocks("sh")
        for line in text.splitlines()
        if line.startswith("titan-gitops init ")
    ]
    monkeypatch.chdir(tmp_path)
    commands = _split_commands(line)
    assert [c.split()[1] for c in commands] == ["init", "validate", "plan"]
    for command in commands:
        assert main(command.split()[1:]) == 0, capsys.readouterr().err
    assert "to create" in capsys.readouterr().out
