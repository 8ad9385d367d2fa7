"""Property: whatever the command line, the CLI answers with a message and exit 0, 1 or 2.

Argument vectors are built from the real parser: every command and subcommand, its flags with
valid, invalid, missing and extreme values, odd paths, and its positionals given or left out.
They run through `main` against the embedded emulator in a temporary working directory, so
nothing leaves the machine and nothing is written outside it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from titan_gitops.cli import main
from titan_gitops.cli.parser import build_parser
from titan_gitops.emulator.serve import build_parser as build_serve_parser

EXAMPLE = Path(__file__).resolve().parents[2] / "tasks.example"
TASK = "shop-product-extraction"

# Paths that stay inside the temporary directory (one level of `..` lands in its parent, also
# ours), plus a few that exist outside it but cannot be written or read as definitions.
PATHS = st.sampled_from(
    [
        "defs",
        "defs/",
        "defs/tasks",
        "defs/titan-gitops.yaml",
        "out",
        "out/plan.json",
        "out/x.yaml",
        "new-folder/deeper/file.json",
        "plan.json",
        ".",
        "..",
        "../sibling.json",
        "",
        " ",
        "-",
        "missing",
        "a file",
        "naïve-ü.json",
        "line\nbreak",
        "tab\there",
        "\x1b[31mred",
        "x" * 300,
        "/".join(["deep"] * 60),
        "pipe",
        "defs/titan-gitops.yaml/under-a-file",
        "/proc/x",
        "/proc/self/status",
    ]
)
TEXT = st.text(
    alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=12
)
NUMBERS = st.sampled_from(
    [
        "0",
        "1",
        "-1",
        "2",
        "4",
        "10",
        "1e308",
        "-0",
        "nan",
        "inf",
        "-inf",
        "0.05",
        "1.5",
        "99999",
        "9" * 40,
        "0x10",
        "",
        " 3 ",
        "1_000",
        "١٢",
    ]
)


# A value that works, per destination: most vectors should get past the parser and do real work.
GOOD = {
    "directory": ["defs", "defs/"],
    "task": [TASK, "shop-price-monitor"],
    "out": ["out/plan.json", "out", "exported"],
    "plan": ["plan.json", "out/plan.json"],
    "api_url": ["local", "LOCAL"],
    "token": ["t0ken"],
    "parallelism": ["1", "8"],
    "allow_deletes": ["0", "10"],
    "timeout": ["3", "0.5"],
    "interval": ["0.05"],
    "only": ["shop-*", "shop-price-monitor"],
    "exclude": ["shop-p*"],
    "namespace": ["shop-"],
    "export": ["out/results.json"],
    "csv": ["out/results.csv"],
    "secret_payload": ["defs/titan-gitops.yaml", "payload.json"],
}


def _value(action: argparse.Action) -> st.SearchStrategy[str]:
    """Values for one flag or positional: often one that works, else its own choices, numbers,
    paths, names or any text."""
    good = GOOD.get(action.dest, [])
    if action.choices:
        good = good + sorted(map(str, action.choices))
    pools: list[st.SearchStrategy[str]] = [TEXT, NUMBERS]
    if good:
        pools = [st.sampled_from(good)] * 4 + pools
    metavar = str(action.metavar or action.dest).upper()
    if metavar in ("FILE", "DIR", "PATH") or action.dest in ("out", "directory", "db"):
        pools += [PATHS, PATHS]
    if metavar in ("TASK", "ID", "PREFIX", "GLOB", "N", "S"):
        pools.append(st.sampled_from([TASK, "shop-*", "shop-", "nomatch", "*", "[", "0"]))
    return st.one_of(*pools)


def _flag(action: argparse.Action) -> st.SearchStrategy[list[str]]:
    """One optional flag: alone, with a value, or missing the value it needs."""
    name = st.sampled_from(action.option_strings)
    if action.nargs == 0:
        return name.map(lambda n: [n])
    return st.one_of(
        st.tuples(name, _value(action)).map(list),
        name.map(lambda n: [n]),  # the value left out
        st.tuples(name, _value(action)).map(lambda pair: [f"{pair[0]}={pair[1]}"]),
    )


def _commands(
    parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """Every (sub)command path and its parser, `emulator serve` with its own full parser."""
    yield prefix, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                if (*prefix, name) == ("emulator", "serve"):
                    yield ("emulator", "serve"), build_serve_parser()
                else:
                    yield from _commands(sub, (*prefix, name))


def _argv(path: tuple[str, ...], parser: argparse.ArgumentParser) -> st.SearchStrategy[list[str]]:
    flags = [
        a
        for a in parser._actions
        if a.option_strings
        and not isinstance(a, argparse._SubParsersAction)
        and a.dest not in ("help", "version")
    ]
    positionals = [
        a
        for a in parser._actions
        if not a.option_strings and not isinstance(a, argparse._SubParsersAction)
    ]
    given_positionals = st.tuples(
        *(st.one_of(_value(a), _value(a), _value(a), st.just(None)) for a in positionals)
    )
    chosen_flags = st.lists(st.sampled_from(flags), max_size=4) if flags else st.just([])
    strays = st.one_of(
        st.just([]), st.just([]), st.just([]), st.sampled_from(["--no-such-flag", "extra", "--"])
    ).map(lambda stray: [stray] if isinstance(stray, str) else stray)

    @st.composite
    def build(draw: st.DrawFn) -> list[str]:
        argv = list(path)
        for value in draw(given_positionals):
            if value is not None:
                argv.append(value)
        for action in draw(chosen_flags):
            argv += draw(_flag(action))
        argv += draw(strays)
        if path[:1] == ("apply",) and draw(st.booleans()):
            argv.append("--auto-approve")
        if path == ("emulator", "serve"):
            # Never actually serve: a port no parser accepts ends every vector.
            argv += ["--port", "-5"]
        return argv

    return build()


COMMANDS = list(_commands(build_parser()))
ARGV = st.one_of(*(_argv(path, parser) for path, parser in COMMANDS))
# Extra weight on what a user starts with, `--help` anywhere included.
ARGV = st.one_of(ARGV, st.lists(st.sampled_from(["--help", "-h", "--version"]), max_size=2))


# The environment a command reads; a target that is not loopback or the embedded emulator is
# refused before any request, so nothing leaves the machine.
ENVIRONMENT_NAMES = ("TITAN_API_URL", "TITAN_TOKEN", "TITAN_AUTH_HEADER", "NO_COLOR", "TERM")
ENVIRON = st.fixed_dictionaries(
    {
        # A run told to wait is cut short by the command deadline (exit 1), not left to poll.
        "TITAN_DEADLINE": st.sampled_from(["4", "4", "4", "nan", "-1", "1e9"]),
    },
    optional={
        "TITAN_API_URL": st.sampled_from(["local", "LOCAL", " ", "ftp://x", "http://a.example"]),
        "TITAN_TOKEN": st.sampled_from(["t0ken", "", "bad token\n"]),
        "TITAN_AUTH_HEADER": st.sampled_from(["x-api-key", "bearer", "bogus"]),
        "NO_COLOR": st.just("1"),
        "TERM": st.sampled_from(["dumb", "xterm"]),
    },
)


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    """tasks.example as `defs`, a FIFO and a file, in a fresh directory inside another."""
    with tempfile.TemporaryDirectory() as root:
        work = Path(root) / "work"
        work.mkdir()
        shutil.copytree(EXAMPLE, work / "defs")
        os.mkfifo(work / "pipe")
        # Live tasks to run, export and drift from.
        previous = Path.cwd()
        os.chdir(work)
        try:
            assert main(["apply", "defs", "--auto-approve"]) == 0
        finally:
            os.chdir(previous)
        yield work


def test_the_command_list_covers_every_command() -> None:
    names = {path for path, _ in COMMANDS}
    for command in ("validate", "plan", "apply", "drift", "export", "run", "schema"):
        assert (command,) in names
    for action in ("list", "get", "pause", "resume", "stop"):
        assert ("executions", action) in names
    assert ("emulator", "serve") in names


@settings(
    max_examples=250,  # about 9 s; a 4,000-example run found nothing more
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(argv=ARGV, environ=ENVIRON)
def test_any_command_line_ends_in_a_message_never_a_traceback(
    argv: list[str],
    environ: dict[str, str],
    workdir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(workdir)
    for name in ENVIRONMENT_NAMES:
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    capsys.readouterr()
    try:
        code = main(argv)
    finally:
        monkeypatch.undo()
    out, err = capsys.readouterr()
    assert code in (0, 1, 2), (argv, code, err)
    assert "Traceback" not in out + err, (argv, err)
    assert "unexpected error" not in err, (argv, err)
