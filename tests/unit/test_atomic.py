"""The safe writer: whole files or none, never through a link, no temporary file left behind."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from titan_gitops.atomic import (
    PendingFile,
    make_directory,
    remove_file,
    write_bytes_atomic,
    write_text_atomic,
)
from titan_gitops.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


def test_writes_a_new_file_with_the_umask_default(tmp_path: Path) -> None:
    target = tmp_path / "plan.json"
    old = os.umask(0o027)
    try:
        write_text_atomic(target, "héllo\n")
    finally:
        os.umask(old)
    assert target.read_text(encoding="utf-8") == "héllo\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert leftovers(tmp_path) == []


def test_replacing_keeps_the_mode_of_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "plan.json"
    target.write_text("old")
    target.chmod(0o600)
    write_bytes_atomic(target, b"new")
    assert target.read_bytes() == b"new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_a_symlinked_target_is_replaced_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("keep")
    outside.chmod(0o644)
    target = tmp_path / "out" / "plan.json"
    target.parent.mkdir()
    target.symlink_to(outside)
    write_text_atomic(target, "new")
    assert outside.read_text() == "keep"
    assert not target.is_symlink()
    assert target.read_text() == "new"


def test_planted_neighbours_are_never_opened(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("keep")
    for name in ("plan.json.tmp", ".plan.json.tmp", "plan.json.part"):
        (tmp_path / name).symlink_to(outside)
    write_text_atomic(tmp_path / "plan.json", "new")
    assert outside.read_text() == "keep"


def test_a_folder_target_is_a_clear_error(tmp_path: Path) -> None:
    target = tmp_path / "plans"
    target.mkdir()
    with pytest.raises(ConfigError, match=re.escape(f"cannot write {target}: it is a folder")):
        write_text_atomic(target, "x")
    assert list(target.iterdir()) == []
    assert leftovers(tmp_path) == []


def test_a_missing_folder_is_a_clear_error_unless_parents_are_made(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "plan.json"
    with pytest.raises(
        ConfigError, match=re.escape(f"cannot write {target}: its folder does not exist")
    ):
        write_text_atomic(target, "x")
    write_text_atomic(target, "x", parents=True)
    assert target.read_text() == "x"


def test_a_file_in_the_way_of_a_folder_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigError, match="exists and is not a folder"):
        make_directory(tmp_path / "file")
    with pytest.raises(ConfigError, match="cannot"):
        write_text_atomic(tmp_path / "file" / "plan.json", "x", parents=True)


def test_an_unwritable_place_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match=re.escape("cannot write /proc/titan-gitops.json")):
        write_text_atomic(Path("/proc/titan-gitops.json"), "x")
    with pytest.raises(ConfigError, match="cannot create the folder /proc/titan-gitops"):
        write_text_atomic(Path("/proc/titan-gitops/plan.json"), "x", parents=True)


# A real write failure: a child process that may not grow a file past 4 KiB (EFBIG). A child,
# because the limit would also stop pytest writing its own output to a file.
_WRITE_PAST_LIMIT = """
import resource, signal, sys
from pathlib import Path
from titan_gitops.atomic import write_bytes_atomic
from titan_gitops.errors import ConfigError
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (4096, resource.RLIM_INFINITY))
try:
    write_bytes_atomic(Path(sys.argv[1]), b"x" * 16384)
except ConfigError as exc:
    print(exc)
"""


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "plan.json"
    target.write_text("old")
    done = subprocess.run(
        [sys.executable, "-c", _WRITE_PAST_LIMIT, str(target)],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    )
    assert done.stdout.strip() == f"cannot write {target}: file too large"
    assert target.read_text() == "old"
    assert leftovers(tmp_path) == []


def test_remove_file(tmp_path: Path) -> None:
    target = tmp_path / "marker"
    target.write_text("")
    remove_file(target)
    remove_file(target)
    assert not target.exists()
    (tmp_path / "folder").mkdir()
    with pytest.raises(ConfigError, match="cannot remove"):
        remove_file(tmp_path / "folder")


def test_a_pending_file_appears_only_on_commit_and_never_through_a_link(tmp_path: Path) -> None:
    outside = tmp_path / "outside.bin"
    outside.write_bytes(b"keep")
    target = tmp_path / "media.bin"
    target.symlink_to(outside)
    with PendingFile(target) as pending:
        pending.start().write(b"first attempt")
        pending.start().write(b"second")
        assert target.is_symlink()
        pending.commit()
    assert not target.is_symlink()
    assert target.read_bytes() == b"second"
    assert outside.read_bytes() == b"keep"
    assert leftovers(tmp_path) == []


def test_a_pending_file_left_without_commit_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "media.bin"
    target.write_bytes(b"old")

    def fail_midway() -> None:
        with PendingFile(target) as pending:
            pending.start().write(b"partial")
            raise RuntimeError("the download failed")

    with pytest.raises(RuntimeError):
        fail_midway()
    assert target.read_bytes() == b"old"
    assert leftovers(tmp_path) == []
    with pytest.raises(ConfigError, match="it is a folder"):
        PendingFile(tmp_path)
