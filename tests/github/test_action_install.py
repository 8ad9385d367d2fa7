"""The Action's install: its own venv, from a hash-locked file covering pyproject.toml, cached."""

from __future__ import annotations

import importlib.util
import re
import sys
import tomllib
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version
from ruamel.yaml import YAML

REPO = Path(__file__).resolve().parents[2]
LOCK = REPO / "requirements" / "action.lock"
PINNED_LINE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)(\s*;[^\\]*)?\s*\\$")
HASH_LINE = re.compile(r"^\s+--hash=sha256:[0-9a-f]{64}(\s*\\)?$")


def read_lock() -> dict[str, tuple[Version, int]]:
    """name -> (pinned version, number of hashes); fails on any line it does not expect."""
    pins: dict[str, tuple[Version, int]] = {}
    current = ""
    for number, line in enumerate(LOCK.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        pinned = PINNED_LINE.match(line)
        if pinned:
            current = canonicalize_name(pinned.group(1))
            assert current not in pins, f"line {number}: {current} pinned twice"
            pins[current] = (Version(pinned.group(2)), 0)
            continue
        assert HASH_LINE.match(line), f"line {number} is neither a pin nor a hash: {line!r}"
        assert current, f"line {number}: a hash before any pin"
        version, hashes = pins[current]
        pins[current] = (version, hashes + 1)
    return pins


def runtime_requirements() -> list[Requirement]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    build = project["build-system"]["requires"]
    return [Requirement(r) for r in [*project["project"]["dependencies"], *build]]


def test_every_pin_in_the_lock_carries_hashes() -> None:
    pins = read_lock()
    assert pins
    for name, (_version, hashes) in pins.items():
        assert hashes >= 1, f"{name} has no --hash"


@pytest.mark.parametrize("requirement", runtime_requirements(), ids=str)
def test_the_lock_covers_each_requirement_of_pyproject(requirement: Requirement) -> None:
    pins = read_lock()
    name = canonicalize_name(requirement.name)
    assert name in pins, f"{requirement} is missing from {LOCK.name}: regenerate it (README)"
    version, _hashes = pins[name]
    assert requirement.specifier.contains(version, prereleases=True), (
        f"{LOCK.name} pins {name}=={version}, outside {requirement}: regenerate it (README)"
    )


def load_installer() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "install_action", REPO / "requirements" / "install_action.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_cache_key_follows_the_lock_python_and_sources(tmp_path: Path) -> None:
    installer = load_installer()
    for name in ("pyproject.toml", "README.md"):
        (tmp_path / name).write_text("x\n", encoding="utf-8")
    (tmp_path / "requirements").mkdir()
    (tmp_path / "requirements" / "action.lock").write_text("a==1\n", encoding="utf-8")
    (tmp_path / "titan_gitops" / "__pycache__").mkdir(parents=True)
    (tmp_path / "titan_gitops" / "a.py").write_text("A = 1\n", encoding="utf-8")
    key, prefix = installer.cache_keys(tmp_path)
    assert key.startswith(prefix)
    assert f"-{sys.platform}-" in prefix
    assert f"-{sys.version_info.major}.{sys.version_info.minor}." in prefix
    # Bytecode is not a source.
    (tmp_path / "titan_gitops" / "__pycache__" / "a.pyc").write_bytes(b"\0")
    assert installer.cache_keys(tmp_path) == (key, prefix)
    # Another source: the same prefix (the venv is restored, only the package reinstalled).
    (tmp_path / "titan_gitops" / "a.py").write_text("A = 2\n", encoding="utf-8")
    key2, prefix2 = installer.cache_keys(tmp_path)
    assert (prefix2, key2 != key) == (prefix, True)
    # Another lock: another prefix (nothing restored).
    (tmp_path / "requirements" / "action.lock").write_text("a==2\n", encoding="utf-8")
    assert installer.cache_keys(tmp_path)[1] != prefix


def test_the_definitions_cache_is_keyed_by_the_directories_then_the_commit() -> None:
    installer = load_installer()
    environ = {"RUNNER_TEMP": "/runner/temp", "TG_DIRECTORY": "tasks", "GITHUB_SHA": "ab" * 20}
    path, key, prefix = installer.definitions_cache(environ)
    assert path == "/runner/temp/titan-gitops-definitions"
    assert key == prefix + "ab" * 20
    assert prefix.startswith(f"titan-gitops-definitions-{sys.platform}-")
    # Other directories: another prefix, so one never restores the other's packs.
    other = installer.definitions_cache({**environ, "TG_DIRECTORY": "other"})
    assert other[2] != prefix
    assert installer.definitions_cache({**environ, "TG_DIRECTORIES": "a,b"})[2] != prefix
    # The key holds nothing but the prefix and hex digits (never a comma, whatever the input).
    odd = installer.definitions_cache({**environ, "GITHUB_SHA": "x,y", "TG_DIRECTORY": "a,b"})
    assert odd[1] == odd[2] + "local"
    assert "," not in odd[1]


def test_a_venv_restored_under_the_exact_key_is_only_checked(tmp_path: Path) -> None:
    installer = load_installer()
    venv = tmp_path / "venv"
    python = installer.venv_python(venv)
    python.parent.mkdir(parents=True)
    python.symlink_to(sys.executable)
    (venv / installer.MARKER).write_text("the-key\n", encoding="utf-8")
    assert installer.install(venv, "the-key") == (python, "kept")


def steps() -> list[dict[str, Any]]:
    action = YAML(typ="safe").load((REPO / "action.yml").read_text(encoding="utf-8"))
    return list(action["runs"]["steps"])


def test_the_action_leaves_the_callers_python_alone_and_caches_by_the_installers_key() -> None:
    by_id = {s.get("id"): s for s in steps()}
    setup = by_id["python"]
    assert setup["with"]["update-environment"] is False
    cache, definitions = [s for s in steps() if s.get("uses", "").startswith("actions/cache@")]
    assert re.fullmatch(r"actions/cache@[0-9a-f]{40}", cache["uses"])
    # hashFiles() sees only the workspace, never the action's own files: the key is computed.
    assert cache["with"] == {
        "path": "${{ steps.venv.outputs.path }}",
        "key": "${{ steps.venv.outputs.key }}",
        "restore-keys": "${{ steps.venv.outputs.restore-key }}",
    }
    assert "if" not in cache
    # The validated-definitions cache: for the commands that plan or validate, never apply.
    assert definitions["uses"] == cache["uses"]
    assert definitions["with"] == {
        "path": "${{ steps.venv.outputs.definitions-path }}",
        "key": "${{ steps.venv.outputs.definitions-key }}",
        "restore-keys": "${{ steps.venv.outputs.definitions-restore-key }}",
    }
    assert definitions["if"] == (
        "inputs.command == 'plan' || inputs.command == 'drift' || inputs.command == 'validate'"
    )
    run = by_id["run"]
    assert run["env"]["TITAN_GITOPS_CACHE_DIR"] == "${{ steps.venv.outputs.definitions-path }}"
    python = {"TG_SETUP_PYTHON": "${{ steps.python.outputs.python-path }}"}
    directories = {
        "TG_DIRECTORY": "${{ inputs.directory }}",
        "TG_DIRECTORIES": "${{ inputs.directories }}",
    }
    for step_id, mode, env in (
        ("venv", "key", python | directories),
        ("install", "install", python),
    ):
        step = by_id[step_id]
        assert step["env"] == env
        assert step["run"].endswith(f'/requirements/install_action.py" {mode}')
    order = [s.get("id") for s in steps()]
    assert order.index("venv") < order.index("install") < order.index("run")
    assert "pip install" not in str(steps())
