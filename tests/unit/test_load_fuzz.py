"""Property: whatever text a definition file holds, validation raises only our own errors."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from titan_gitops.errors import Problem, ValidationFailed
from titan_gitops.load import load_yaml_text
from titan_gitops.pipeline import validate_directory

# Pieces of YAML and of our format, so random text often parses and reaches validation.
TOKENS = st.sampled_from(
    [
        "kind: task\n",
        "kind: template\n",
        "name: t\n",
        "name: ",
        "urls:\n",
        "  - ",
        "- ",
        "https://a.example/",
        "objective: ",
        "execution_type: scheduled\n",
        "schedule: ",
        "'0 * * * *'",
        "output_schema:\n",
        "  type: object\n",
        "extends: t\n",
        "payload: ",
        "{",
        "}",
        "[",
        "]",
        ",",
        ":",
        "&a ",
        "*a",
        "!!python/name:os.system ",
        "!x ",
        "~",
        "2024-01-01",
        "1e3",
        ".inf",
        "'",
        '"',
        "#",
        "\n",
        "  ",
        "\t",
        "---\n",
        "...\n",
        "? ",
        "|\n",
        ">-\n",
        "${TITAN_VAR_X}",
        "$file: ",
        "\u202e",
        "\x00",
        "\ufeff",
        "%YAML 1.2\n",
    ]
)
TEXT = st.one_of(st.text(max_size=300), st.lists(TOKENS, max_size=40).map("".join))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TEXT)
def test_random_text_loads_or_yields_located_problems(text: str) -> None:
    _, problems = load_yaml_text(text, "t.yaml")
    assert all(p.line >= 1 and p.col >= 1 for p in problems)


SCALARS = st.sampled_from(
    [
        "1",
        "-2",
        "0x1F",
        "0o17",
        "1.5",
        "1e3",
        ".5",
        "true",
        "False",
        "yes",
        "no",
        "on",
        "~",
        "null",
        "",
        "'1'",
        '"true"',
        "a b",
        "0",
        "+1",
        "1_000",
        "12:30",
        "2024-01-01",
        ".inf",
        ".NaN",
        "0b101",
        "007",
        "Null",
        "TRUE",
        "x-y",
    ]
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.from_regex(r"[a-z]{1,6}", fullmatch=True), SCALARS), max_size=12))
def test_scalars_resolve_exactly_as_ruamel_resolves_them(pairs: list[tuple[str, str]]) -> None:
    text = "".join(f"{key}{n}: {value}\n" for n, (key, value) in enumerate(pairs))
    documents, problems = load_yaml_text(text, "t.yaml")
    stock = YAML(typ="safe", pure=False).load(text)
    if problems:
        # Ours refuses dates and non-finite numbers that ruamel would accept.
        assert all("date" in p.message or "JSON number" in p.message for p in problems)
    else:
        assert (documents[0].data if documents else None) == stock


def _problems_of(root: Path) -> list[Problem]:
    """The problems of a directory: none when it is valid; any other exception fails the test."""
    try:
        validate_directory(root, environ={"TITAN_VAR_X": "x"})
    except ValidationFailed as failed:
        return failed.problems or [Problem("", 0, 0, "", "ValidationFailed without problems")]
    return []


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TEXT)
def test_random_text_validates_or_raises_validation_failed(text: str) -> None:
    root = Path(tempfile.mkdtemp())
    try:
        (root / "t.yaml").write_text(text, encoding="utf-8", errors="surrogatepass")
        problems = _problems_of(root)
        assert all(p.line >= 1 and p.col >= 1 for p in problems)
    finally:
        shutil.rmtree(root)
