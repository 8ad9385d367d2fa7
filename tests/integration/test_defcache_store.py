"""The validated-definitions cache's store and pack: when a pack is (re)written, what its owner
checks and caps refuse, which secrets keep it from being written, and what changes the tool's
fingerprint."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

import titan_gitops
from titan_gitops.defcache import DefinitionCache, Pack, load_and_validate, store, tool_fingerprint
from titan_gitops.defcache.pack import _spelled_as_written
from titan_gitops.errors import ValidationFailed
from titan_gitops.validate import FileResult

from .conftest import CACHED_TREE, replace_in, write_tree

BASE = CACHED_TREE


def reused(root: Path, cache: DefinitionCache) -> set[str]:
    loaded, state, _ = load_and_validate(root, environ={}, cache=cache)
    return {t.source.path for t in state.tasks} - {d.path for d in loaded.documents}


def inode(cache: DefinitionCache, root: Path) -> int:
    return os.stat(cache.pack_path(root)).st_ino


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "defs"
    write_tree(root, BASE)
    return root


def test_the_pack_is_rewritten_only_when_what_it_holds_changes(tmp_path: Path, root: Path) -> None:
    cache = DefinitionCache(tmp_path / "one" / "two" / "cache")  # folders made as needed
    load_and_validate(root, environ={}, cache=cache)
    first = inode(cache, root)
    assert reused(root, cache) == {f"{root}/tasks/a.yaml", f"{root}/tasks/b.yaml"}
    assert inode(cache, root) == first  # nothing changed: not written again
    # A comment at the end: the same tasks at the same places, other bytes. Rewritten, so the
    # next run reuses the file under its new digest.
    with (root / "tasks" / "b.yaml").open("a", encoding="utf-8") as handle:
        handle.write("# reviewed\n")
    assert reused(root, cache) == {f"{root}/tasks/a.yaml"}
    second = inode(cache, root)
    assert second != first
    assert reused(root, cache) == {f"{root}/tasks/a.yaml", f"{root}/tasks/b.yaml"}
    assert inode(cache, root) == second
    # Only the context moved (a template): rewritten.
    write_tree(root, {"templates.yaml": BASE["templates.yaml"].replace("title", "heading")})
    assert reused(root, cache) == set()
    assert inode(cache, root) != second


def _lines(cache: DefinitionCache, root: Path) -> list[str]:
    return cache.pack_path(root).read_text(encoding="ascii").splitlines(keepends=True)


def test_a_rewritten_pack_holds_the_same_lines_as_one_written_afresh(
    tmp_path: Path, root: Path
) -> None:
    write_tree(
        root,
        {f"tasks/c{n}.yaml": BASE["tasks/b.yaml"].replace("ns-b", f"ns-c{n}") for n in range(3)},
    )
    kept = DefinitionCache(tmp_path / "kept")
    load_and_validate(root, environ={}, cache=kept)
    replace_in("tasks/c1.yaml", "objective: B.", "objective: Edited.")(root)
    (root / "tasks" / "c2.yaml").unlink()
    load_and_validate(root, environ={}, cache=kept)
    afresh = DefinitionCache(tmp_path / "afresh")
    load_and_validate(root, environ={}, cache=afresh)
    header, *files = _lines(kept, root)
    assert [header, *sorted(files)] == [_lines(afresh, root)[0], *sorted(_lines(afresh, root)[1:])]
    assert len(files) == 4
    assert any('"objective": "Edited."' in line for line in files)
    assert not any("c2.yaml" in line for line in files)


def test_a_file_reused_as_read_keeps_its_line_as_read(tmp_path: Path, root: Path) -> None:
    """Only the edited file is encoded again: every other line is copied, byte for byte."""
    cache = DefinitionCache(tmp_path / "cache")
    load_and_validate(root, environ={}, cache=cache)
    header, *files = _lines(cache, root)
    # The same JSON, spaced otherwise: still read (strictly by value), and copied as it is.
    spaced = [line.replace('": ', '":  ') if "a.yaml" in line else line for line in files]
    cache.pack_path(root).write_text("".join([header, *spaced]), encoding="ascii")
    replace_in("tasks/b.yaml", "objective: B.", "objective: Edited.")(root)
    assert reused(root, cache) == {f"{root}/tasks/a.yaml"}
    after = _lines(cache, root)
    assert [line for line in after if "a.yaml" in line] == [
        line for line in spaced if "a.yaml" in line
    ]
    assert any('"objective": "Edited."' in line for line in after)
    assert reused(root, cache) == {f"{root}/tasks/a.yaml", f"{root}/tasks/b.yaml"}


def test_a_file_whose_strings_the_writer_escapes_is_reused(tmp_path: Path, root: Path) -> None:
    # Quotes, a backslash, a tab, a line break, letters past ASCII and past the BMP: every
    # escape the pack's writer uses is read back.
    objective = '"Say \\"hi\\" \\\\ caf\u00e9 \U0001f600\\tend\\nnext."'
    replace_in("tasks/b.yaml", "objective: B.", f"objective: {objective}")(root)
    cache = DefinitionCache(tmp_path / "cache")
    load_and_validate(root, environ={}, cache=cache)
    text = cache.pack_path(root).read_text(encoding="ascii")
    assert all(e in text for e in ('\\"', "\\\\", "\\t", "\\n", "\\u00e9", "\\ud83d\\ude00"))
    assert reused(root, cache) == {f"{root}/tasks/a.yaml", f"{root}/tasks/b.yaml"}


def test_a_line_is_read_only_when_each_escape_is_the_one_the_writer_uses() -> None:
    # Every character up to U+2FFF: the writer's own spelling is read; the same character as a
    # `\\u` escape only where that is the writer's spelling, and never in capitals. Nor DEL
    # written raw, nor an escaped solidus.
    for code in range(0x3000):
        line = json.dumps({"s": chr(code)})
        assert _spelled_as_written(line), line
        small, capitals = (json.dumps({"s": "x"}).replace("x", f"\\u{code:04{c}}") for c in "xX")
        assert _spelled_as_written(small) is (small == line), small
        assert _spelled_as_written(capitals) is (capitals == line), capitals
    assert _spelled_as_written(json.dumps({"s": "\U0001f600 \U0010ffff"}))
    assert not _spelled_as_written('{"s": "a\x7f"}')
    assert not _spelled_as_written('{"s": "a\\/b"}')
    assert _spelled_as_written('{"s": "a\\\\u0041"}')  # a backslash, then the text u0041


def test_a_walk_order_duplicate_is_reported_alike_when_the_context_moved(
    tmp_path: Path, root: Path
) -> None:
    """A file in the pack read again because a template moved: taken in walk order, so the
    duplicate name is reported at the same file as by a run without the cache."""
    cache = DefinitionCache(tmp_path / "cache")
    load_and_validate(root, environ={}, cache=cache)
    write_tree(root, {"templates.yaml": BASE["templates.yaml"].replace("title", "heading")})
    write_tree(root, {"tasks/z.yaml": BASE["tasks/b.yaml"]})
    with pytest.raises(ValidationFailed) as cached:
        load_and_validate(root, environ={}, cache=cache)
    with pytest.raises(ValidationFailed) as fresh:
        load_and_validate(root, environ={}, cache=None)
    assert cached.value.problems == fresh.value.problems
    # The second of the two in walk order is the one reported.
    assert [p.path for p in fresh.value.problems] == [f"{root}/tasks/z.yaml"]


def _written(tmp_path: Path, secrets: set[str]) -> bool:
    cache = DefinitionCache(tmp_path / "cache")
    result = FileResult("d/t.yaml", (), (), ())
    cache.write(tmp_path, Pack("c", {"d/t.yaml": ("0" * 64, result)}), secrets=secrets)
    return cache.pack_path(tmp_path).exists()


@pytest.mark.parametrize(
    ("secrets", "written"),
    [
        (set(), True),
        ({""}, True),  # an empty value is no secret
        ({"~"}, True),  # one character, in no pack text here
        ({"d/t.yaml"}, False),  # as written
        ({"\u00e9t\u00e9"}, True),
    ],
)
def test_a_pack_holding_a_substituted_value_is_not_written(
    tmp_path: Path, secrets: set[str], written: bool
) -> None:
    assert _written(tmp_path, secrets) is written


def test_a_secret_that_json_escapes_is_found_escaped(tmp_path: Path) -> None:
    cache = DefinitionCache(tmp_path / "cache")
    result = FileResult("d/\u00e9t\u00e9.yaml", (), (), ())
    pack = Pack("c", {"d/\u00e9t\u00e9.yaml": ("0" * 64, result)})
    cache.write(tmp_path, pack, secrets={"\u00e9t\u00e9"})
    assert not cache.pack_path(tmp_path).exists()
    cache.write(tmp_path, pack, secrets={"other"})
    assert cache.pack_path(tmp_path).exists()


def test_a_folder_others_may_only_enter_is_still_private(tmp_path: Path, root: Path) -> None:
    cache = DefinitionCache(tmp_path / "cache")
    load_and_validate(root, environ={}, cache=cache)
    cache.folder.chmod(0o711)
    assert len(reused(root, cache)) == 2
    cache.folder.chmod(0o731)  # group-writable
    assert reused(root, cache) == set()


def test_a_pack_over_the_size_cap_is_not_read(
    tmp_path: Path, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = DefinitionCache(tmp_path / "cache")
    load_and_validate(root, environ={}, cache=cache)
    size = cache.pack_path(root).stat().st_size
    monkeypatch.setattr(store, "MAX_PACK_BYTES", size)
    assert len(reused(root, cache)) == 2
    monkeypatch.setattr(store, "MAX_PACK_BYTES", size - 1)
    assert cache.read(root) == Pack()


@contextmanager
def touched(path: Path) -> Iterator[None]:
    """`path` with another modification time for the block, then its own again."""
    info = path.stat()
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns + 1_000_000_000))
    try:
        yield
    finally:
        os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))


def test_the_fingerprint_follows_the_packages_code_and_the_libraries() -> None:
    package = Path(titan_gitops.__file__).parent
    now = tool_fingerprint()
    assert tool_fingerprint() == now
    with touched(package / "defcache" / "pack.py"):
        assert tool_fingerprint() != now
    # Bytecode and package data are not the code: writing them changes nothing.
    data = next(p for p in (package / "starter").rglob("*") if p.is_file())
    with touched(data):
        assert tool_fingerprint() == now
    cached = next((package / "__pycache__").glob("*.pyc"), None)
    if cached is not None:
        with touched(cached):
            assert tool_fingerprint() == now
    # The libraries: each one present (by its file) or absent changes it.
    present = tool_fingerprint(("json",))
    assert len({present, tool_fingerprint(()), tool_fingerprint(("no_such_library_x",))}) == 3
    assert tool_fingerprint(("no.such.package",)) == tool_fingerprint(("no.such.package",))
    assert tool_fingerprint(("no.such.package",)) != tool_fingerprint(("no_such_library_x",))
