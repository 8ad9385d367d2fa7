"""Loading: the C parser, positions, and every hostile-input refusal of load.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from titan_gitops.load import (
    MAX_DEPTH,
    LineDict,
    LineList,
    list_definition_files,
    load_definition_files,
    load_yaml_file,
    load_yaml_text,
    read_definition_bytes,
    scan_nesting_depth,
)
from titan_gitops.load.constructor import make_yaml


def test_the_loader_uses_the_c_parser() -> None:
    assert make_yaml().Parser.__name__ == "CParser"


def test_keys_and_items_carry_their_file_line_and_column() -> None:
    text = "# comment\nkind: task\nurls:\n  - https://a.example/\n  - https://b.example/\n"
    documents, problems = load_yaml_text(text, "d/t.yaml")
    assert problems == []
    data = documents[0].data
    assert isinstance(data, LineDict)
    assert (documents[0].line, documents[0].col) == (2, 1)
    assert data.src == "d/t.yaml"
    assert data.key_pos["kind"] == (2, 1)
    assert data.key_pos["urls"] == (3, 1)
    urls = data["urls"]
    assert isinstance(urls, LineList)
    assert urls.item_pos == [(4, 5), (5, 5)]


def test_files_loaded_one_after_another_share_places_keys_and_short_texts() -> None:
    from titan_gitops.load.libyaml import load_fast

    long_text = "Extract the name and price of every product on the page."
    text = f"kind: task\nname: shop-{{n}}\nexecution_type: single\nobjective: {long_text}\n"
    first = load_fast(text.format(n=1), "a.yaml")
    second = load_fast(text.format(n=2), "b.yaml")
    assert first is not None
    assert second is not None
    a, b = first[0].data, second[0].data
    # Each file keeps its own values and places ...
    assert (a["name"], b["name"]) == ("shop-1", "shop-2")
    assert (a.src, b.src) == ("a.yaml", "b.yaml")
    assert (
        a.key_pos
        == b.key_pos
        == {
            "kind": (1, 1),
            "name": (2, 1),
            "execution_type": (3, 1),
            "objective": (4, 1),
        }
    )
    # ... held once across files: one tuple per place, one string per key and short text.
    assert a.key_pos["objective"] is b.key_pos["objective"]
    assert a.pos is b.pos
    assert all(x is y for x, y in zip(a, b, strict=True))
    assert a["execution_type"] is b["execution_type"]
    assert a["objective"] == b["objective"] == long_text


def test_yaml_1_2_keeps_yes_and_no_as_strings() -> None:
    documents, problems = load_yaml_text("a: yes\nb: no\nc: on\n", "t.yaml")
    assert problems == []
    assert documents[0].data == {"a": "yes", "b": "no", "c": "on"}


def test_several_documents_in_one_file_each_keep_their_start_line() -> None:
    documents, problems = load_yaml_text("a: 1\n---\nb: 2\n", "t.yaml")
    assert problems == []
    assert [(d.data, d.line) for d in documents] == [({"a": 1}, 1), ({"b": 2}, 3)]


def test_duplicate_keys_are_refused_naming_both_lines() -> None:
    _, problems = load_yaml_text("name: a\nobjective: x\nname: b\n", "t.yaml")
    assert [(p.line, p.message) for p in problems] == [
        (3, "duplicate key 'name' (first at line 1)")
    ]


def test_every_problem_of_a_file_is_reported_not_only_the_first() -> None:
    text = "a: 1\na: 2\nb: !!python/name:os.system x\nc: 2024-01-01\n"
    _, problems = load_yaml_text(text, "t.yaml")
    assert [p.line for p in problems] == [2, 3, 4]


@pytest.mark.parametrize(
    "value",
    [
        "!!python/object/apply:os.system ['id']",
        "!!python/name:os.system x",
        "!custom x",
        "!!binary aGk=",
    ],
)
def test_non_core_tags_are_refused(value: str) -> None:
    _, problems = load_yaml_text(f"payload: {value}\n", "t.yaml")
    assert len(problems) == 1
    assert "is not allowed" in problems[0].message
    assert problems[0].line == 1


def test_anchors_and_aliases_are_refused_before_anything_is_built() -> None:
    documents, problems = load_yaml_text("a: &x [1]\nb: *x\n", "t.yaml")
    assert documents == []
    assert [(p.line, p.message.split(" (")[0]) for p in problems] == [
        (1, "anchors are not allowed"),
        (2, "aliases are not allowed"),
    ]


def test_a_billion_laughs_bomb_is_refused_in_one_short_report() -> None:
    lines = ['l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, 12):
        refs = ",".join([f"*l{level - 1}"] * 9)
        lines.append(f"l{level}: &l{level} [{refs}]")
    documents, problems = load_yaml_text("\n".join(lines) + "\n", "bomb.yaml")
    assert documents == []
    assert len(problems) == 2
    assert "98 others" in problems[1].message


def test_dates_are_refused_with_a_hint_to_quote() -> None:
    documents, problems = load_yaml_text("objective: 2024-01-01\n", "t.yaml")
    assert documents[0].data == {"objective": "2024-01-01"}
    assert problems[0].message.endswith("quote it: '2024-01-01'")


def test_infinity_is_not_json() -> None:
    _, problems = load_yaml_text("limits: {x: .inf}\n", "t.yaml")
    assert "not a JSON number" in problems[0].message


def test_keys_must_be_plain_strings() -> None:
    _, problems = load_yaml_text("1: one\n? [a]\n: b\n", "t.yaml")
    assert [p.line for p in problems] == [1, 2]


def test_a_syntax_error_is_a_located_problem() -> None:
    _, problems = load_yaml_text("kind: task\nname: x\n  urls: [y]\n", "t.yaml")
    assert problems[0].line == 3
    assert problems[0].message.startswith("invalid YAML")


def test_an_unquoted_cron_gets_a_hint_to_quote_it() -> None:
    _, problems = load_yaml_text("schedule: */5 * * * *\n", "t.yaml")
    assert "must be quoted" in problems[0].message


def test_files_over_one_mebibyte_are_refused_without_reading_them(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_bytes(b"a: " + b"x" * (10 * 1024 * 1024) + b"\n")
    raw, problems = read_definition_bytes(path, "big.yaml")
    assert raw is None
    assert "the limit is 1 MiB" in problems[0].message


def test_non_utf8_bytes_are_located(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_bytes(b"kind: task\nname: caf\xe9\n")
    _, problems = load_yaml_file(path, "t.yaml")
    assert [(p.line, p.col, p.message) for p in problems] == [
        (2, 10, "the file is not valid UTF-8")
    ]


def test_a_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_bytes("\ufeffkind: task\n".encode())
    documents, problems = load_yaml_file(path, "t.yaml")
    assert problems == []
    assert documents[0].data == {"kind": "task"}


@pytest.mark.parametrize(
    ("text", "deep"),
    [
        ("a: " + "[" * 65 + "]" * 65 + "\n", True),
        ("a: " + "[" * 60 + "]" * 60 + "\n", False),
        ("".join("  " * i + f"k{i}:\n" for i in range(70)) + "  " * 70 + "x: 1\n", True),
        ("".join("  " * i + f"k{i}:\n" for i in range(40)) + "  " * 40 + "x: 1\n", False),
        ("- " * 70 + "x\n", True),
        ("a: '" + "[" * 100 + "'\n", False),
    ],
)
def test_nesting_depth_scan(text: str, deep: bool) -> None:
    depth, _ = scan_nesting_depth(text)
    assert (depth > MAX_DEPTH) is deep


def test_a_fifty_thousand_level_bomb_never_reaches_the_parser(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text("a: " + "[" * 50_000 + "]" * 50_000 + "\n", encoding="utf-8")
    documents, problems = load_yaml_file(path, "t.yaml")
    assert documents == []
    assert problems[0].message == f"nesting is deeper than {MAX_DEPTH} levels"


def test_empty_and_comment_only_files_are_warnings(tmp_path: Path) -> None:
    (tmp_path / "empty.yaml").write_text("", encoding="utf-8")
    (tmp_path / "comments.yml").write_text("# nothing yet\n---\n", encoding="utf-8")
    result = load_definition_files(tmp_path)
    assert result.problems == []
    assert result.documents == []
    assert sorted((Path(w.path).name, w.severity) for w in result.warnings) == [
        ("comments.yml", "warning"),
        ("empty.yaml", "warning"),
    ]


def test_hidden_files_and_other_suffixes_are_skipped(tmp_path: Path) -> None:
    (tmp_path / ".hidden.yaml").write_text("x: 1\n", encoding="utf-8")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "a.yaml").write_text("x: 1\n", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("x: 1\n", encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.yml").write_text("x: 1\n", encoding="utf-8")
    files, problems = list_definition_files(tmp_path)
    assert problems == []
    assert [Path(display).name for _, display in files] == ["b.yml"]


def test_a_symlink_leaving_the_root_is_an_error(tmp_path: Path) -> None:
    outside = tmp_path / "outside.yaml"
    outside.write_text("kind: task\n", encoding="utf-8")
    root = tmp_path / "defs"
    root.mkdir()
    (root / "link.yaml").symlink_to(outside)
    (root / "inside.yaml").write_text("kind: task\n", encoding="utf-8")
    (root / "alias.yaml").symlink_to(root / "inside.yaml")
    files, problems = list_definition_files(root)
    assert [Path(d).name for _, d in files] == ["alias.yaml", "inside.yaml"]
    assert [(Path(p.path).name, p.message) for p in problems] == [
        ("link.yaml", "symlink points outside the definitions directory")
    ]


def test_the_project_file_is_kept_apart(tmp_path: Path) -> None:
    (tmp_path / "titan-gitops.yaml").write_text("namespace: shop-\n", encoding="utf-8")
    (tmp_path / "t.yaml").write_text("kind: task\n", encoding="utf-8")
    result = load_definition_files(tmp_path)
    assert result.project is not None
    assert result.project.data == {"namespace": "shop-"}
    assert [d.data for d in result.documents] == [{"kind": "task"}]


def test_yaml_1_2_urls_in_flow_lists_load_through_the_fallback_parser() -> None:
    text = "urls: [https://a.example/x, https://b.example/]\nwhen: 2024-01-01\n"
    documents, problems = load_yaml_text(text, "t.yaml")
    urls = documents[0].data["urls"]
    assert urls == ["https://a.example/x", "https://b.example/"]
    assert urls.item_pos == [(1, 8), (1, 29)]
    assert [(p.line, p.col) for p in problems] == [(2, 7)]


@pytest.mark.parametrize("opening", ["[", "{a: "])
def test_text_nested_far_deeper_than_files_may_be_is_a_problem_not_a_crash(opening: str) -> None:
    # Files are capped at MAX_DEPTH when read; text handed to the loader directly (the in-place
    # editor's read-back, adopt) must not reach the C composer's stack either. Run apart, since
    # the failure this guards against is the process dying.
    import subprocess
    import sys

    closing = {"[": "]", "{a: ": "}"}[opening]
    script = (
        "from titan_gitops.load import load_yaml_text\n"
        f"text = {opening!r} * 50000 + 'x' + {closing!r} * 50000\n"
        "documents, problems = load_yaml_text(text, 'deep.yaml')\n"
        "print(len(documents), [p.message for p in problems])\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-500:]
    assert done.stdout.strip() == "0 ['nesting is too deep to read']"
