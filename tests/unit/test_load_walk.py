"""The directory walk and the path checks: whatever cannot be read is a located problem."""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from pathlib import Path

import pytest

from titan_gitops.errors import ValidationFailed
from titan_gitops.load import (
    INCOMPLETE_EXPORT_MARKER,
    MAX_FILE_BYTES,
    MAX_FOLDER_DEPTH,
    check_definitions_root,
    list_definition_files,
    load_definition_files,
    read_definition_bytes,
)
from titan_gitops.load.caps import _read_up_to
from titan_gitops.load.paths import (
    describe_kind,
    describe_os_error,
    name_problem,
    regular_file_problem,
    show_name,
)
from titan_gitops.pipeline import validate_directory

TASK = (
    "kind: task\nname: {name}\nurls: ['https://shop.example.com/']\nobjective: Extract prices.\n"
    "execution_type: single\noutput_schema: {schema}\n"
)


def listed(root: Path) -> tuple[list[str], list[tuple[str, str]]]:
    """(display paths of the files, (display path, message) of the problems), relative to root."""
    files, problems = list_definition_files(root)
    prefix = str(root) + os.sep
    return (
        [display.removeprefix(prefix) for _, display in files],
        [(p.path.removeprefix(prefix), p.message) for p in problems],
    )


def nest(folder: Path, levels: int) -> Path:
    for _ in range(levels):
        folder = folder / "n"
        folder.mkdir()
    return folder


# --- the walk ----------------------------------------------------------------------------------


def test_files_of_a_folder_come_before_its_subfolders_all_sorted(tmp_path: Path) -> None:
    for relative in ("b.yaml", "a.yml", "z/c.yaml", "m/d.yaml", "m/k/e.yaml", "m/f.yaml"):
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text("x: 1\n", encoding="utf-8")
    files, problems = listed(tmp_path)
    assert problems == []
    assert files == ["a.yml", "b.yaml", "m/d.yaml", "m/f.yaml", "m/k/e.yaml", "z/c.yaml"]


def test_symlinks_to_files_inside_the_root_are_read_even_from_hidden_folders(
    tmp_path: Path,
) -> None:
    (tmp_path / ".shared").mkdir()
    (tmp_path / ".shared" / "t.yaml").write_text("x: 1\n", encoding="utf-8")
    (tmp_path / "t.yaml").symlink_to(".shared/t.yaml")
    (tmp_path / "notes.txt").symlink_to("/etc/hostname")
    files, problems = listed(tmp_path)
    assert (files, problems) == (["t.yaml"], [])


@pytest.mark.parametrize("name", ["gone.yaml", "gone-folder"])
def test_a_dangling_symlink_of_any_name_is_refused(tmp_path: Path, name: str) -> None:
    (tmp_path / name).symlink_to("nowhere")
    files, problems = listed(tmp_path)
    assert files == []
    assert problems == [(name, problems[0][1])]
    assert problems[0][1].startswith("the symlink's target does not exist")


def test_a_symlink_loop_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").symlink_to("b.yaml")
    (tmp_path / "b.yaml").symlink_to("a.yaml")
    _, problems = listed(tmp_path)
    assert [path for path, _ in problems] == ["a.yaml", "b.yaml"]
    assert all(message.startswith("symlink loop") for _, message in problems)


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("..", "symlink loop: the folder link points at a folder that holds it"),
        (".", "symlink loop: the folder link points at a folder that holds it"),
        ("../other", "symlinked folders are not followed"),
        ("/tmp", "symlink points outside the definitions directory"),
    ],
)
def test_a_symlinked_folder_is_refused_never_skipped(
    tmp_path: Path, target: str, message: str
) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "other").mkdir()
    (tmp_path / "sub" / "link").symlink_to(target)
    _, problems = listed(tmp_path)
    assert len(problems) == 1
    assert problems[0][0] == "sub/link"
    assert problems[0][1].startswith(message)


def test_a_folder_or_fifo_named_like_a_definition_is_refused(tmp_path: Path) -> None:
    (tmp_path / "folder.yaml").mkdir()
    (tmp_path / "folder.yaml" / "t.yaml").write_text("x: 1\n", encoding="utf-8")
    os.mkfifo(tmp_path / "pipe.yaml")
    (tmp_path / "link.yaml").symlink_to("pipe.yaml")
    files, problems = listed(tmp_path)
    assert files == []
    assert problems == [
        ("folder.yaml", "is a folder, not a definition file; rename it"),
        ("link.yaml", "points at a FIFO, not a regular file; definitions must be plain files"),
        ("pipe.yaml", "is a FIFO, not a regular file; definitions must be plain files"),
    ]


def test_folders_may_nest_to_the_cap_and_no_deeper(tmp_path: Path) -> None:
    deepest = nest(tmp_path, MAX_FOLDER_DEPTH)
    (deepest / "t.yaml").write_text("x: 1\n", encoding="utf-8")
    files, problems = listed(tmp_path)
    assert (len(files), problems) == (1, [])
    nest(deepest, 100)
    files, problems = listed(tmp_path)
    assert len(files) == 1
    assert problems == [
        (
            "n/" * MAX_FOLDER_DEPTH + "n",
            f"folders nest deeper than {MAX_FOLDER_DEPTH} levels under the definitions "
            "directory; move the definitions higher up",
        )
    ]


def test_the_marker_of_an_interrupted_export_is_refused_in_any_folder(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / INCOMPLETE_EXPORT_MARKER).write_text("", encoding="utf-8")
    (tmp_path / "sub" / "t.yaml").write_text("x: 1\n", encoding="utf-8")
    _, problems = listed(tmp_path)
    assert problems == [
        (
            f"sub/{INCOMPLETE_EXPORT_MARKER}",
            "an export into this folder was interrupted, so its files may be incomplete; "
            "run export again, or delete this marker once you have checked the files",
        )
    ]


@pytest.mark.parametrize(
    ("raw", "shown", "message"),
    [
        (b"bad\xff.yaml", "bad\\xff.yaml", "the name is not valid UTF-8; rename it"),
        (b"a\nNo changes.yaml", "a\\nNo changes.yaml", "the name holds a control character"),
        (b"a\x1b]0;x\x07.yaml", "a\\x1b]0;x\\x07.yaml", "the name holds a control character"),
        ("\u202eyaml.txt.yaml".encode(), "\\u202eyaml.txt.yaml", "the name holds a control"),
        (b"folder\xfe", "folder\\xfe", "the name is not valid UTF-8; rename it"),
    ],
)
def test_an_unprintable_name_is_refused_and_shown_escaped(
    tmp_path: Path, raw: bytes, shown: str, message: str
) -> None:
    path = os.path.join(os.fsencode(tmp_path), raw)
    if raw.endswith(b".yaml"):
        Path(os.fsdecode(path)).write_text("x: 1\n", encoding="utf-8")
    else:
        os.mkdir(path)
    files, problems = listed(tmp_path)
    assert files == []
    assert problems[0][0] == shown
    assert problems[0][1].startswith(message)
    assert str(problems[0][0]).isprintable()


def test_the_whole_tree_is_reported_at_once(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").symlink_to("nowhere.yaml")
    (tmp_path / "b.yaml").mkdir()
    (tmp_path / "c.yaml").write_text("kind: task\n", encoding="utf-8")
    result = load_definition_files(tmp_path)
    assert [Path(p.path).name for p in result.problems] == ["a.yaml", "b.yaml"]
    assert [d.data for d in result.documents] == [{"kind": "task"}]


# --- reading one file ---------------------------------------------------------------------------


def test_a_fifo_swapped_in_after_listing_is_refused_without_blocking(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "t.yaml")
    raw, problems = read_definition_bytes(tmp_path / "t.yaml", "t.yaml")
    assert raw is None
    assert [(p.path, p.line, p.message) for p in problems] == [
        ("t.yaml", 1, "the file is a FIFO, not a regular file")
    ]


@pytest.mark.parametrize("size", [0, 1, 4096, MAX_FILE_BYTES])
def test_a_file_is_read_whole_up_to_the_cap_by_path_or_by_name(tmp_path: Path, size: int) -> None:
    data = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    path = tmp_path / "t.yaml"
    path.write_bytes(data)
    assert read_definition_bytes(path, "t.yaml") == (data, [])
    assert read_definition_bytes(str(path), "t.yaml") == (data, [])


def test_reading_an_open_file_stops_at_its_end_or_at_the_size_asked() -> None:
    reader, writer = os.pipe()
    try:
        os.write(writer, b"0123456789abcdef")
        assert _read_up_to(reader, 10) == b"0123456789"
        os.close(writer)
        assert _read_up_to(reader, 10) == b"abcdef"
        assert _read_up_to(reader, 10) == b""
    finally:
        os.close(reader)
        with contextlib.suppress(OSError):
            os.close(writer)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: None, "the file does not exist"),
        (lambda p: p.mkdir(), "the file is a folder, not a regular file"),
        (lambda p: p.symlink_to(p.name), "the file is a symlink loop"),
    ],
)
def test_a_file_that_vanished_or_changed_after_listing_is_a_located_problem(
    tmp_path: Path, make: object, message: str
) -> None:
    path = tmp_path / "t.yaml"
    make(path)  # type: ignore[operator]
    raw, problems = read_definition_bytes(path, "t.yaml")
    assert raw is None
    assert [(p.path, p.line, p.col, p.message) for p in problems] == [("t.yaml", 1, 1, message)]


# --- the root -----------------------------------------------------------------------------------


def test_a_bad_root_is_a_problem_naming_it(tmp_path: Path) -> None:
    assert check_definitions_root(tmp_path) is None
    (tmp_path / "file").write_text("", encoding="utf-8")
    (tmp_path / "loop").symlink_to("loop")
    found = {
        name: problem.message
        for name in ("missing", "file", "loop")
        if (problem := check_definitions_root(tmp_path / name)) is not None
    }
    assert found == {
        "missing": "the folder does not exist",
        "file": "is a regular file, not a folder of definitions",
        "loop": "symlink loop: following the link leads back to itself (or through over 40 links)",
    }
    weird = check_definitions_root(tmp_path / "a\nb")
    assert weird is not None
    assert weird.path == f"{tmp_path}/a\\nb"
    assert weird.message == "the folder's path holds a control character; rename it"


# --- `$file` references -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ref", "make", "message"),
    [
        ('"s\\0.json"', None, "the path holds a control character"),
        ('"s\\e[2J.json"', None, "the path holds a control character"),
        ("s" * 2_000, None, "the path is 2000 characters long; the limit is 1024"),
        ("s" * 300, None, f"'{'s' * 300}' is too long a path to read"),
        ("s.json", "fifo", "'s.json' is a FIFO, not a regular file"),
        ("s.json", "folder", "'s.json' is a folder, not a regular file"),
        ("s.json", "loop", "'s.json' is a symlink loop"),
        ("s.json", "dangling", "'s.json' does not exist"),
        ("t.yaml", None, "'t.yaml' holds a definition (kind: task), not a schema"),
        ('"t.yaml/"', None, "'t.yaml/' holds a definition (kind: task), not a schema"),
    ],
)
def test_an_unusable_file_reference_is_located_at_its_field(
    tmp_path: Path, ref: str, make: str | None, message: str
) -> None:
    target = tmp_path / "s.json"
    if make == "fifo":
        os.mkfifo(target)
    elif make == "folder":
        target.mkdir()
    elif make == "loop":
        target.symlink_to("s.json")
    elif make == "dangling":
        target.symlink_to("gone.json")
    (tmp_path / "t.yaml").write_text(
        TASK.format(name="t", schema=f"{{$file: {ref}}}"), encoding="utf-8"
    )
    with pytest.raises(ValidationFailed) as caught:
        validate_directory(tmp_path, environ={})
    problems = [p for p in caught.value.problems if p.field]
    assert [(Path(p.path).name, p.line, p.col, p.field) for p in problems] == [
        ("t.yaml", 6, 17, "output_schema.$file")
    ]
    assert problems[0].message.startswith(message)
    assert problems[0].message.isprintable()


# --- the helpers --------------------------------------------------------------------------------


def test_show_name_escapes_only_what_a_terminal_would_act_on() -> None:
    assert show_name("plain name.yaml") == "plain name.yaml"
    assert show_name("ünïcode ✓.yaml") == "ünïcode ✓.yaml"
    assert show_name("a\nb\x1b[2J\x9b\u202e\\") == "a\\nb\\x1b[2J\\x9b\\u202e\\\\"
    assert show_name(os.fsdecode(b"x\xff")) == "x\\xff"


def test_name_problem_names_the_reason() -> None:
    assert name_problem("fine.yaml") is None
    assert name_problem(os.fsdecode(b"\xff")) == "the name is not valid UTF-8; rename it"
    assert name_problem("a\tb") == "the name holds a control character; rename it"


def test_os_errors_and_kinds_read_as_sentences(tmp_path: Path) -> None:
    denied = PermissionError(errno.EACCES, os.strerror(errno.EACCES))
    assert describe_os_error("folder", denied) == "cannot read the folder: Permission denied"
    too_long = OSError(errno.ENAMETOOLONG, "x")
    assert describe_os_error("file", too_long).startswith("the path is too long to read")
    assert describe_kind(stat.S_IFCHR) == "a character device"
    assert describe_kind(stat.S_IFREG) == "a regular file"
    assert regular_file_problem(Path("/dev/null")) == "is a character device, not a regular file"
    assert regular_file_problem(tmp_path / "x\0y") == "holds a NUL character"
