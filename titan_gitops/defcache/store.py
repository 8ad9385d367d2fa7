"""Where packs are kept: an owner-only folder, one file per definitions directory, read only when
it is the user's own and no one else can write it, written atomically and owner-only."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING, Any

from titan_gitops.defcache.strict import UNREADABLE
from titan_gitops.errors import ConfigError

if TYPE_CHECKING:
    from titan_gitops.defcache.pack import Pack

# The packs' format: part of the fingerprint, so a pack of another format is never read.
FORMAT = 3

# Turns the cache off when set to "off"; TITAN_GITOPS_CACHE_DIR moves it.
SWITCH_VARIABLE = "TITAN_GITOPS_CACHE"
FOLDER_VARIABLE = "TITAN_GITOPS_CACHE_DIR"
# Far above any real pack (about 2 KiB per task); a bigger file is not read.
MAX_PACK_BYTES = 512 * 1024 * 1024
# Beside each pack, the directory's verdict (verdict.py).
VERDICT_SUFFIX = ".verdict.json"
# The libraries whose behaviour validation depends on: an upgrade of one starts afresh.
_LIBRARIES = (
    "pydantic",
    "pydantic_core",
    "jsonschema",
    "jsonschema_specifications",
    "referencing",
    "croniter",
    "dateutil",
    "pytz",
    "yaml",
    "ruamel.yaml",
    "_ruamel_yaml",
)


def cache_folder(environ: Mapping[str, str]) -> Path | None:
    """Where packs live: TITAN_GITOPS_CACHE_DIR, else titan-gitops/definitions under
    XDG_CACHE_HOME or ~/.cache; None when TITAN_GITOPS_CACHE is "off" or no home is known."""
    if environ.get(SWITCH_VARIABLE, "").strip().lower() == "off":
        return None
    chosen = environ.get(FOLDER_VARIABLE, "")
    if chosen:
        return Path(chosen)
    base = environ.get("XDG_CACHE_HOME", "")
    if base and os.path.isabs(base):
        return Path(base) / "titan-gitops" / "definitions"
    home = environ.get("HOME", "")
    if home and os.path.isabs(home):
        return Path(home) / ".cache" / "titan-gitops" / "definitions"
    return None


def tool_fingerprint(libraries: Sequence[str] = _LIBRARIES) -> str:
    """The code that validates: this package's files and the `libraries`', by path, size and
    modification time (an edit or an upgrade changes it), and the interpreter's version."""
    digest = hashlib.sha256(f"{FORMAT}\0{sys.version}".encode())
    package = Path(__file__).parents[1]  # titan_gitops
    for folder, subfolders, files in os.walk(package):
        subfolders[:] = sorted(d for d in subfolders if d != "__pycache__")
        for name in sorted(files):
            if name.endswith(".py"):
                info = os.stat(os.path.join(folder, name))
                digest.update(f"{folder}/{name}\0{info.st_size}\0{info.st_mtime_ns}\0".encode())
    for library in libraries:
        try:
            spec = find_spec(library)
        except (ImportError, ValueError):
            spec = None
        origin = spec.origin if spec is not None else None
        if origin and os.path.isfile(origin):
            info = os.stat(origin)
            digest.update(f"{origin}\0{info.st_size}\0{info.st_mtime_ns}\0".encode())
        else:
            digest.update(f"{library}\0absent\0".encode())
    return digest.hexdigest()


class DefinitionCache:
    """The packs under one folder (made owner-only), read and written per definitions directory."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._fingerprint: str | None = None

    @property
    def fingerprint(self) -> str:
        if self._fingerprint is None:
            self._fingerprint = tool_fingerprint()
        return self._fingerprint

    def pack_path(self, root: Path, suffix: str = ".json") -> Path:
        named = f"{root}\0{os.path.realpath(root)}\0{os.getcwd()}".encode("utf-8", "surrogatepass")
        return self.folder / f"{hashlib.sha256(named).hexdigest()[:40]}{suffix}"

    def verdict_path(self, root: Path) -> Path:
        return self.pack_path(root, VERDICT_SUFFIX)

    def read(self, root: Path) -> Pack:
        """The directory's pack, or an empty one when there is none that can be trusted."""
        from titan_gitops.defcache.pack import Pack, pack_from_text

        try:
            raw = self.read_bytes(self.pack_path(root))
            return Pack() if raw is None else pack_from_text(raw, self.fingerprint, str(root))
        except UNREADABLE:
            return Pack()

    def read_json(self, path: Path) -> Any:
        """What the JSON file at `path` holds; None when `read_bytes` gives nothing.

        Raises:
            OSError, ValueError: the file could not be read or is not JSON.
        """
        raw = self.read_bytes(path)
        return None if raw is None else json.loads(raw)

    def read_bytes(self, path: Path) -> bytes | None:
        """The bytes of the file at `path`; None when it is missing, too big, or not the user's
        own private file in the user's own private folder.

        Raises:
            OSError: the file could not be read (the working directory, which `pack_path` reads,
                may be gone too).
        """
        if not (_is_own_private(self.folder) and _is_own_private(path)):
            return None
        with open(path, "rb") as handle:
            raw = handle.read(MAX_PACK_BYTES + 1)
        return None if len(raw) > MAX_PACK_BYTES else raw

    def write(self, root: Path, pack: Pack, *, secrets: Iterable[str] = ()) -> None:
        """Store `pack` for `root`, owner-only; a failure leaves the cache as it was. Nothing is
        stored when the text would hold one of `secrets` (the run's substituted values): no
        reusable file can hold one, and this makes sure."""
        from titan_gitops.defcache.pack import pack_text

        # ASCII with escapes: any string a definition can hold comes back as it went in.
        text = pack_text(pack, self.fingerprint, str(root))
        if any(s in text or json.dumps(s)[1:-1] in text for s in secrets if s):
            # Nor is the last one kept: it may hold what is now substituted (a token moved from
            # a task file into the environment).
            with contextlib.suppress(OSError, ConfigError):
                self.pack_path(root).unlink(missing_ok=True)
            return
        self.write_text(lambda: self.pack_path(root), text)

    def write_text(self, where: Callable[[], Path], text: str) -> None:
        """Store ASCII `text` at the path `where` names, owner-only and atomically; a failure
        (the working directory gone too) leaves the cache as it was."""
        from titan_gitops.atomic import write_bytes_atomic

        try:
            path = where()
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            if not _is_own_private(self.folder):
                return
            write_bytes_atomic(path, text.encode("ascii"), durable=False, private=True)
        except (OSError, ConfigError):
            return


def _is_own_private(path: Path) -> bool:
    """True for a folder or regular file (not a link) of this user that no one else can write."""
    try:
        info = os.lstat(path)
    except OSError:
        return False
    kind_ok = stat.S_ISDIR(info.st_mode) or stat.S_ISREG(info.st_mode)
    owner_ok = not hasattr(os, "getuid") or info.st_uid == os.getuid()
    return kind_ok and owner_ok and not info.st_mode & 0o022


def open_cache(environ: Mapping[str, str]) -> DefinitionCache | None:
    """The cache `environ` chooses (`cache_folder`), or None when it is turned off."""
    folder = cache_folder(environ)
    return DefinitionCache(folder) if folder is not None else None
