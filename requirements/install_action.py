"""The Action's install: titan-gitops in its own venv under RUNNER_TEMP, from the hash-locked file.

Run by action.yml with the interpreter actions/setup-python set up (update-environment: false, so
the caller's Python is never touched), in two steps around actions/cache:

    python install_action.py key      -> outputs path, key and restore-key for actions/cache, and
                                         the same three (definitions-*) for the validated-
                                         definitions cache of plan, drift and validate
    python install_action.py install  -> the venv made (or kept as restored); output python

The dependencies come from requirements/action.lock only (`pip install --require-hashes --no-deps`),
then titan-gitops itself (`--no-deps --no-build-isolation --no-index`, built from a copy so the
action's directory is left as it was). A venv restored under the exact key is only checked, not
reinstalled. Standard library only: this runs before anything is installed.
"""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

ACTION_PATH = Path(__file__).resolve().parents[1]
LOCK = ACTION_PATH / "requirements" / "action.lock"
# What the action's own package is built from: a change in any of them is a new install of it.
SOURCES = ("pyproject.toml", "README.md", "titan_gitops")
MARKER = "titan-gitops-install.txt"
PIP = ("-m", "pip", "--disable-pip-version-check", "--no-input", "--quiet")


def _digest(paths: list[Path], root: Path) -> str:
    sha = hashlib.sha256()
    for path in sorted(paths):
        sha.update(path.relative_to(root).as_posix().encode() + b"\0")
        sha.update(hashlib.sha256(path.read_bytes()).digest())
    return sha.hexdigest()


def source_files(root: Path = ACTION_PATH) -> list[Path]:
    """The files the action's package is built from (no caches)."""
    found: list[Path] = []
    for name in SOURCES:
        top = root / name
        if top.is_file():
            found.append(top)
            continue
        found += [p for p in top.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    return found


def cache_keys(root: Path = ACTION_PATH) -> tuple[str, str]:
    """(key, restore prefix): the OS, machine, this exact Python (version and where it lives, as a
    venv points at it), the lock's hash and, last, the action's own sources."""
    where = hashlib.sha256(sys.base_prefix.encode()).hexdigest()[:8]
    python = f"{platform.python_implementation()}-{platform.python_version()}-{where}"
    lock = _digest([root / "requirements" / "action.lock"], root)[:20]
    prefix = f"titan-gitops-venv-{sys.platform}-{platform.machine()}-{python}-{lock}-"
    return prefix + _digest(source_files(root), root)[:20], prefix


def definitions_cache(environ: dict[str, str] | None = None) -> tuple[str, str, str]:
    """(path, key, restore prefix) of the validated-definitions cache: one folder of packs (one
    per directory), keyed by the directories the step plans and the commit; restored from the
    newest earlier one of the same directories (packs are content-addressed, so an older one
    only costs misses)."""
    environ = dict(os.environ) if environ is None else environ
    temp = environ.get("RUNNER_TEMP") or tempfile.gettempdir()
    which = f"{environ.get('TG_DIRECTORY', '')}\0{environ.get('TG_DIRECTORIES', '')}"
    directories = hashlib.sha256(which.encode("utf-8", "surrogateescape")).hexdigest()[:16]
    prefix = f"titan-gitops-definitions-{sys.platform}-{platform.machine()}-{directories}-"
    commit = "".join(c for c in environ.get("GITHUB_SHA", "") if c in "0123456789abcdef")
    path = str(Path(temp) / "titan-gitops-definitions")
    return path, prefix + (commit[:40] or "local"), prefix


def venv_python(path: Path) -> Path:
    """The venv's interpreter."""
    if os.name == "nt":
        return path / "Scripts" / "python.exe"
    return path / "bin" / "python"


def venv_dir() -> Path:
    """Where the venv lives: under RUNNER_TEMP (emptied after every job, so only the cache keeps
    it), or TG_VENV when set."""
    if os.environ.get("TG_VENV"):
        return Path(os.environ["TG_VENV"])
    temp = os.environ.get("RUNNER_TEMP") or tempfile.gettempdir()
    return Path(temp) / "titan-gitops-venv"


def _works(python: Path) -> bool:
    if not python.exists():
        return False
    return subprocess.run([python, "-c", ""], check=False).returncode == 0


def _pip(python: Path, *args: str | Path) -> None:
    subprocess.run([python, *PIP, "install", *args], check=True)


def install(path: Path, key: str, root: Path = ACTION_PATH) -> tuple[Path, str]:
    """Make the venv at `path` hold exactly the lock and this action's package; returns its
    interpreter and what was done ("kept", "package" or "full")."""
    python = venv_python(path)
    marker = path / MARKER
    if _works(python) and marker.is_file():
        if marker.read_text(encoding="utf-8").strip() == key:
            return python, "kept"
        done = "package"
    else:
        shutil.rmtree(path, ignore_errors=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(path)
        _pip(python, "--require-hashes", "--no-deps", "-r", root / "requirements" / "action.lock")
        done = "full"
    with tempfile.TemporaryDirectory(prefix="titan-gitops-build-") as temp:
        copy = Path(temp) / "src"
        copy.mkdir()
        for name in SOURCES:
            source = root / name
            if source.is_dir():
                ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
                shutil.copytree(source, copy / name, ignore=ignore)
            else:
                shutil.copy2(source, copy / name)
        _pip(python, "--no-deps", "--no-build-isolation", "--no-index", copy)
    marker.write_text(key + "\n", encoding="utf-8")
    return python, done


def _set_outputs(**values: str) -> None:
    lines = "".join(f"{name}={value}\n" for name, value in values.items())
    target = os.environ.get("GITHUB_OUTPUT")
    if target:
        with open(target, "a", encoding="utf-8") as handle:
            handle.write(lines)
    else:
        sys.stdout.write(lines)


def main(argv: list[str]) -> int:
    if argv not in (["key"], ["install"]):
        sys.stderr.write("usage: install_action.py key|install\n")
        return 2
    key, prefix = cache_keys()
    path = venv_dir()
    if argv == ["key"]:
        _set_outputs(path=str(path), key=key, **{"restore-key": prefix})
        where, definitions, definitions_prefix = definitions_cache()
        _set_outputs(
            **{
                "definitions-path": where,
                "definitions-key": definitions,
                "definitions-restore-key": definitions_prefix,
            }
        )
        return 0
    try:
        python, done = install(path, key)
    except (OSError, subprocess.CalledProcessError) as exc:
        sys.stdout.write(f"::error title=titan-gitops install::could not install: {exc}\n")
        return 1
    said = {"kept": "restored venv kept", "package": "package updated", "full": "installed"}
    sys.stdout.write(f"titan-gitops: {said[done]} in {path}\n")
    _set_outputs(python=str(python))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
