"""Writing a file safely: every file the tool writes appears whole or not at all, in place.

The bytes go to a temporary file created exclusively (O_CREAT|O_EXCL|O_NOFOLLOW) under a random
name in the target's own directory, so a planted file or symlink beside the target is never
opened or followed; the file is fsynced, then renamed over the target. A target that is a
symbolic link is replaced (the link itself), never written through. The temporary file is removed
on every failure path, Ctrl-C included. The new file gets the mode of the regular file it
replaces, or the umask's default for a new file (as `open(path, "w")` would): what we write is
masked, and a team's exported definitions must stay readable to their repository.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from pathlib import Path
from types import TracebackType
from typing import IO

from titan_gitops.errors import ConfigError

# Hidden (a leading dot), so the loader never reads a temporary file as a definition.
_TEMPORARY = ".{name}.{token}.tmp"
_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


def write_text_atomic(
    path: Path, text: str, *, parents: bool = False, durable: bool = True
) -> None:
    """Write `text` (UTF-8) to `path` atomically; `parents` creates missing folders first.

    `durable=False` leaves the rename's durability to one `sync_folder` call by a caller that
    writes many files into one folder (each folder sync costs milliseconds).

    Raises:
        ConfigError: the path cannot be written (a folder, a missing or unwritable folder,
            a read-only file system); the message names the path.
    """
    write_bytes_atomic(path, text.encode("utf-8"), parents=parents, durable=durable)


def write_bytes_atomic(
    path: Path,
    data: bytes,
    *,
    parents: bool = False,
    durable: bool = True,
    private: bool = False,
) -> None:
    """Write `data` to `path` atomically; `parents` creates missing folders first. A `private`
    file is readable and writable by its owner only, from before its first byte is written.

    Raises:
        ConfigError: the path cannot be written; the message names the path.
    """
    if parents:
        make_directory(path.parent)
    _refuse_a_directory(path)
    mode = 0o600 if private else _mode_to_keep(path)
    temporary = path.parent / _TEMPORARY.format(name=path.name, token=os.urandom(8).hex())
    try:
        # Inside the try: a Ctrl-C landing just after the file is created still removes it. The
        # name is random and created exclusively, so removing it can only remove our own file.
        descriptor = os.open(temporary, _FLAGS, 0o666)
        with os.fdopen(descriptor, "wb") as handle:
            if mode is not None:
                os.fchmod(handle.fileno(), mode)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException as exc:
        # Every way out (an I/O error, Ctrl-C, a signal turned into an exception) leaves no
        # temporary file behind; the target is still the old file.
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        if isinstance(exc, OSError):
            raise ConfigError(f"cannot write {path}: {_reason(exc, path.parent)}") from None
        raise
    if durable:
        sync_folder(path.parent)


class PendingFile:
    """A file streamed into place: bytes go to an exclusive temporary beside `path`, which only
    `commit` renames over it (fsynced); leaving the `with` block without a commit removes it.

    `start` (re)opens the temporary empty, so a retried download begins afresh.
    """

    def __init__(self, path: Path) -> None:
        _refuse_a_directory(path)
        self.path = path
        self._mode = _mode_to_keep(path)
        self._temporary: Path | None = None
        self._handle: IO[bytes] | None = None

    def __enter__(self) -> PendingFile:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.discard()

    def start(self) -> IO[bytes]:
        """An empty temporary file to write into (any earlier one is removed)."""
        self.discard()
        temporary = self.path.parent / _TEMPORARY.format(
            name=self.path.name, token=os.urandom(8).hex()
        )
        self._temporary = temporary
        try:
            handle = os.fdopen(os.open(temporary, _FLAGS, 0o666), "wb")
        except OSError as exc:
            self._temporary = None
            raise ConfigError(
                f"cannot write {self.path}: {_reason(exc, self.path.parent)}"
            ) from None
        self._handle = handle
        if self._mode is not None:
            os.fchmod(handle.fileno(), self._mode)
        return handle

    def commit(self) -> None:
        """Rename what was written over `path`, durably; the temporary is gone afterwards."""
        handle = self._handle if self._handle is not None else self.start()
        temporary = self._temporary
        try:
            handle.flush()
            os.fsync(handle.fileno())
            handle.close()
            self._handle = None
            os.replace(str(temporary), self.path)
        except OSError as exc:
            raise ConfigError(
                f"cannot write {self.path}: {_reason(exc, self.path.parent)}"
            ) from None
        self._temporary = None
        sync_folder(self.path.parent)

    def discard(self) -> None:
        """Close and remove the temporary file, if there is one."""
        if self._handle is not None:
            with contextlib.suppress(OSError):
                self._handle.close()
            self._handle = None
        if self._temporary is not None:
            with contextlib.suppress(OSError):
                os.unlink(self._temporary)
            self._temporary = None


def check_file_target(path: Path) -> None:
    """Refuse, before any work, a file that `write_*_atomic(path, parents=True)` could not write.

    A probe file is created exclusively (under a random hidden name) and removed at once in the
    nearest folder that exists: only the file system can say whether a file may be made there.

    Raises:
        ConfigError: `path` is a folder, a part of it is not a folder, or no file can be created
            there; the message names the path.
    """
    _refuse_a_directory(path)
    _probe(path.parent, f"cannot write {path}")


def check_folder_target(path: Path) -> None:
    """Refuse, before any work, a folder that `make_directory` and a write into it could not make.

    Raises:
        ConfigError: something other than a folder is in the way, or no file can be created there.
    """
    if os.path.lexists(path) and not path.is_dir():
        raise ConfigError(f"cannot write to {path}: it exists and is not a folder")
    _probe(path, f"cannot write to {path}")


def _probe(folder: Path, failure: str) -> None:
    """Create and remove a file in `folder`, or the nearest part of it that exists."""
    existing = folder
    while not os.path.lexists(existing) and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise ConfigError(f"{failure}: {existing} is not a folder")
    probe = existing / _TEMPORARY.format(name="titan-gitops-probe", token=os.urandom(8).hex())
    try:
        os.close(os.open(probe, _FLAGS, 0o600))
    except OSError as exc:
        raise ConfigError(f"{failure}: {_reason(exc, existing)}") from None
    with contextlib.suppress(OSError):
        os.unlink(probe)


def make_directory(path: Path) -> None:
    """Create the folder `path` and its parents unless it is there.

    Raises:
        ConfigError: it cannot be created, or something other than a folder is in the way.
    """
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise ConfigError(f"cannot write to {path}: it exists and is not a folder") from None
    except OSError as exc:
        raise ConfigError(f"cannot create the folder {path}: {_reason(exc, path.parent)}") from None


def remove_file(path: Path) -> None:
    """Remove the file `path` if it is there (never a folder).

    Raises:
        ConfigError: it is there and cannot be removed.
    """
    try:
        os.unlink(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise ConfigError(f"cannot remove {path}: {_reason(exc, path.parent)}") from None
    sync_folder(path.parent)


def _refuse_a_directory(path: Path) -> None:
    """Refuse a folder, and a device, pipe or socket: renaming over one would replace it (as
    root, `--out /dev/null` would leave a regular file where the device was)."""
    try:
        info = os.lstat(path)
    except OSError:
        return  # absent, or unreachable: os.open names the real reason
    if stat.S_ISDIR(info.st_mode):
        raise ConfigError(f"cannot write {path}: it is a folder; give a file name")
    if not (stat.S_ISREG(info.st_mode) or stat.S_ISLNK(info.st_mode)):
        raise ConfigError(
            f"cannot write {path}: it is not a regular file (a device, pipe or socket); "
            "give a file name"
        )


def _mode_to_keep(path: Path) -> int | None:
    """The permission bits of the regular file at `path` (not through a link), if any."""
    try:
        info = os.lstat(path)
    except OSError:
        return None
    return stat.S_IMODE(info.st_mode) if stat.S_ISREG(info.st_mode) else None


def sync_folder(folder: Path) -> None:
    """Make the renames into `folder` durable (a file system that cannot sync a folder is not
    an error)."""
    try:
        descriptor = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def _reason(exc: OSError, folder: Path) -> str:
    """Why a file in `folder` could not be made, in words (a missing folder named as such)."""
    if exc.errno == errno.ENOENT:
        # /proc and the like answer "no such file" for a folder that is there.
        if folder.is_dir():
            return f"no new file can be created in {folder}"
        return "its folder does not exist"
    if exc.errno == errno.EISDIR:
        return "it is a folder; give a file name"
    if exc.errno == errno.ENOTDIR:
        return "a part of the path is not a folder"
    return exc.strerror.lower() if exc.strerror else type(exc).__name__
