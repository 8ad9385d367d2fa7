"""The verdict: `validate` on a directory none of whose inputs changed says what the last clean
run said, without validating; any change to an input (a definition file, a `$file` target, where
a path resolves, the tool) and it validates afresh. Its output is always what a run without the
cache prints."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, tzinfo
from pathlib import Path

import pytest

from testing.cachefiles import packs_in, verdicts_in
from titan_gitops import cron
from titan_gitops.cli import main
from titan_gitops.defcache import DefinitionCache
from titan_gitops.defcache.verdict import Inputs, WatchedEnviron, recall

from .conftest import (
    copied_definitions_folders,
    link_in_place,
    rename_in,
    replace_in,
    rewrite_json,
    write_tree,
)

REPO = Path(__file__).resolve().parents[2]

SCHEMA = '{"type": "object", "properties": {"title": {"type": "string"}}}\n'
BASE = {
    "titan-gitops.yaml": "namespace: ns-\n",
    "templates.yaml": "kind: template\nname: base\nobjective: Extract the title.\n",
    "schemas/page.json": SCHEMA,
    "schemas/other.json": '{"type": "nothing"}\n',
    "tasks/a.yaml": (
        "kind: task\nname: ns-a\nextends: base\nurls: [https://a.example/]\n"
        "output_schema: {$file: schemas/page.json}\nexecution_type: single\n"
    ),
    # Through a symlink to the file a.yaml names: read once, resolved twice.
    "tasks/b.yaml": (
        "kind: task\nname: ns-b\nurls: [https://b.example/]\nobjective: B.\n"
        "output_schema: {$file: schemas/alias.json}\nexecution_type: single\n"
        "payload: {flag: yes}\n"
    ),
}


def make_tree(root: Path) -> Path:
    write_tree(root, BASE)
    (root / "schemas" / "alias.json").symlink_to("page.json")
    return root


Output = tuple[int, str, str]


Validate = Callable[..., Output]


@pytest.fixture
def validate(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Validate:
    """`validate(ROOT, *ARGS, cached=True)` runs `titan-gitops validate ROOT ARGS` (with the cache
    turned off when not `cached`): its exit code, stdout and stderr."""

    def run(root: Path, *args: str, cached: bool = True) -> Output:
        capsys.readouterr()
        with monkeypatch.context() as patch:
            if not cached:
                patch.setenv("TITAN_GITOPS_CACHE", "off")
            code = main(["validate", str(root), *args])
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> DefinitionCache:
    monkeypatch.setenv("TITAN_GITOPS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("TITAN_GITOPS_CACHE", raising=False)
    return DefinitionCache(tmp_path / "cache")


def test_every_folder_says_the_same_from_its_verdict(
    tmp_path: Path,
    cache: DefinitionCache,
    validate: Validate,
) -> None:
    recalled = 0
    for folder, root in copied_definitions_folders(tmp_path):
        fresh = validate(root, cached=False)
        assert validate(root) == fresh, folder
        kept = recall(cache, root)
        assert validate(root) == fresh, folder
        texts = [p.read_bytes() for p in root.rglob("*") if p.is_file()]
        # Kept exactly for the folders that validate and read no variable from the environment.
        assert (kept is not None) == (fresh[0] == 0 and not any(b"${" in t for t in texts)), folder
        recalled += kept is not None
    # Not vacuous: most of the folders are valid.
    assert recalled >= 35


@pytest.mark.parametrize(
    "args", [(), ("--output", "json"), ("--strict",), ("--github",), ("--strict", "--github")]
)
def test_warnings_come_back_in_every_output(
    tmp_path: Path,
    cache: DefinitionCache,
    validate: Validate,
    args: tuple[str, ...],
) -> None:
    root = make_tree(tmp_path / "defs")
    fresh = validate(root, *args, cached=False)
    assert "payload.flag" in fresh[1] + fresh[2], "b.yaml's `yes` gives a warning"
    first = validate(root, *args)
    assert recall(cache, root) is not None
    assert first == fresh
    assert validate(root, *args) == fresh


def _relink(name: str, target: str) -> Callable[[Path], None]:
    def edit(root: Path) -> None:
        (root / name).unlink()
        (root / name).symlink_to(target)

    return edit


def _schemas_elsewhere(root: Path) -> None:
    """The schemas folder moved out of the directory and linked back in: same bytes, outside."""
    outside = root.parent / "outside"
    shutil.move(root / "schemas", outside)
    (root / "schemas").symlink_to(outside)


EDITS: dict[str, Callable[[Path], None]] = {
    "a task's objective": replace_in("tasks/b.yaml", "objective: B.", "objective: Bee."),
    "a task made invalid": replace_in(
        "tasks/b.yaml", "execution_type: single", "execution_type: x"
    ),
    "a file added": lambda root: write_tree(
        root, {"tasks/c.yaml": BASE["tasks/b.yaml"].replace("ns-b", "ns-c")}
    ),
    "a file removed": lambda root: (root / "tasks" / "b.yaml").unlink(),
    "a file renamed": rename_in("tasks/b.yaml", "tasks/y.yaml"),
    "the project": lambda root: write_tree(root, {"titan-gitops.yaml": "namespace: other-\n"}),
    "the template": replace_in("templates.yaml", "title.\n", "title.\npayload: {also: no}\n"),
    "the schema a task names": replace_in("schemas/page.json", '"string"', '"strng"'),
    "the second name of a schema pointed elsewhere": _relink("schemas/alias.json", "other.json"),
    "a schema linked out of the directory": _relink("schemas/page.json", "../../page.json"),
    "the schemas folder moved out and linked back": _schemas_elsewhere,
    "a placeholder added": replace_in("tasks/b.yaml", "objective: B.", "objective: ${TITAN_VAR_X}"),
}


@pytest.mark.parametrize("edit", list(EDITS))
def test_any_changed_input_is_validated_afresh(
    tmp_path: Path,
    cache: DefinitionCache,
    validate: Validate,
    edit: str,
) -> None:
    root = make_tree(tmp_path / "tree" / "defs")
    (tmp_path / "tree" / "page.json").write_text('{"type": "nothing"}\n', encoding="utf-8")
    before = validate(root)
    assert before[0] == 0
    assert recall(cache, root) is not None
    EDITS[edit](root)
    assert recall(cache, root) is None
    fresh = validate(root, cached=False)
    assert validate(root) == fresh
    assert validate(root) == fresh


def test_the_edits_above_change_what_validate_says(
    tmp_path: Path, validate: Validate, monkeypatch: pytest.MonkeyPatch
) -> None:
    """So a verdict wrongly recalled after them would show in the test above."""
    monkeypatch.setenv("TITAN_VAR_X", "from the environment")
    outputs: dict[str | None, Output] = {}
    for edit in [None, *EDITS]:
        root = make_tree(tmp_path / str(len(outputs)) / "defs")
        (root.parent / "page.json").write_text('{"type": "nothing"}\n', encoding="utf-8")
        if edit is not None:
            EDITS[edit](root)
        code, out, err = validate(root, cached=False)
        outputs[edit] = (code, out.replace(str(root), "ROOT"), err.replace(str(root), "ROOT"))
    unchanged = outputs.pop(None)
    # A placeholder, read from the environment, validates alike: that run keeps no verdict.
    assert outputs.pop("a placeholder added") == unchanged
    # Only `recall` sees an edited objective: validate says "valid" before and after.
    assert [edit for edit, output in outputs.items() if output == unchanged] == [
        "a task's objective"
    ]


def test_a_run_that_reads_the_environment_keeps_no_verdict(
    tmp_path: Path, cache: DefinitionCache, validate: Validate, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_tree(tmp_path / "defs")
    EDITS["a placeholder added"](root)
    monkeypatch.setenv("TITAN_VAR_X", "from the environment")
    assert validate(root)[0] == 0
    assert validate(root)[0] == 0
    assert verdicts_in(cache.folder) == []
    monkeypatch.delenv("TITAN_VAR_X")
    code, _, err = validate(root)
    assert code == 1
    assert "TITAN_VAR_X is not set" in err


def test_any_lookup_in_the_environment_is_noted() -> None:
    for look in (
        lambda env: env.get("A"),
        lambda env: "A" in env,
        lambda env: env["B"],
        lambda env: next(iter(env)),
        lambda env: len(env),
    ):
        inputs = Inputs()
        look(WatchedEnviron({"B": "b"}, inputs))
        assert inputs.consulted
    assert not Inputs().consulted


def test_a_failed_run_keeps_no_verdict_and_a_clean_one_replaces_it(
    tmp_path: Path,
    cache: DefinitionCache,
    validate: Validate,
) -> None:
    root = make_tree(tmp_path / "defs")
    EDITS["a task made invalid"](root)
    assert validate(root)[0] == 1
    assert verdicts_in(cache.folder) == []
    replace_in("tasks/b.yaml", "execution_type: x", "execution_type: single")(root)
    assert validate(root)[0] == 0
    (verdict,) = verdicts_in(cache.folder)
    inode = verdict.stat().st_ino
    assert validate(root)[0] == 0
    assert validate(root)[0] == 0
    assert verdict.stat().st_ino == inode, "an unchanged verdict is not written again"
    assert verdict.stat().st_mode & 0o777 == 0o600
    EDITS["a task's objective"](root)
    assert validate(root)[0] == 0
    assert verdict.stat().st_ino != inode
    assert recall(cache, root) is not None


TAMPERING: dict[str, Callable[[Path], object]] = {
    "not JSON": lambda verdict: verdict.write_text("{", encoding="utf-8"),
    "a list": lambda verdict: verdict.write_text("[]", encoding="utf-8"),
    "another format": rewrite_json(lambda data: data.update(format=1)),
    "another tool": rewrite_json(lambda data: data.update(tool="0" * 64)),
    "another root": rewrite_json(lambda data: data.update(root="elsewhere")),
    "a count that is a boolean": rewrite_json(lambda data: data.update(tasks=True)),
    "a negative count": rewrite_json(lambda data: data.update(templates=-1)),
    "a warning made an error": rewrite_json(
        lambda data: data["warnings"][0].__setitem__(5, "error")
    ),
    "a warning at line 0": rewrite_json(lambda data: data["warnings"][0].__setitem__(1, 0)),
    "files not a string": rewrite_json(lambda data: data.update(files=None)),
    "a path pair cut short": rewrite_json(lambda data: data["paths"][0].pop()),
    "a read with another digest": rewrite_json(lambda data: data["reads"][0].__setitem__(2, "0")),
    "a key missing": rewrite_json(lambda data: data.pop("warnings")),
    "writable by others": lambda verdict: verdict.chmod(0o666),
    "a symlink": link_in_place,
}


@pytest.mark.parametrize("tampering", list(TAMPERING))
def test_a_verdict_that_is_not_what_this_code_wrote_is_ignored(
    tmp_path: Path,
    cache: DefinitionCache,
    validate: Validate,
    tampering: str,
) -> None:
    root = make_tree(tmp_path / "defs")
    fresh = validate(root)
    (verdict,) = verdicts_in(cache.folder)
    TAMPERING[tampering](verdict)
    assert recall(cache, root) is None
    assert validate(root) == fresh


def test_a_plan_keeps_the_verdict_validate_then_uses(
    tmp_path: Path, cache: DefinitionCache, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_tree(tmp_path / "defs")
    monkeypatch.setenv("TITAN_API_URL", "local")
    monkeypatch.chdir(tmp_path)
    assert main(["plan", str(root)]) == 0
    assert len(verdicts_in(cache.folder)) == 1
    assert len(packs_in(cache.folder)) == 1
    assert recall(cache, root) is not None


def test_a_recalled_validate_imports_nothing_that_validates(tmp_path: Path) -> None:
    """What makes it start fast: no YAML parser, pydantic, jsonschema or croniter is imported."""
    root = tmp_path / "tasks.example"
    shutil.copytree(REPO / "tasks.example", root, symlinks=True)
    program = (
        "import sys\n"
        "from titan_gitops.cli import main\n"
        "code = main(['validate', sys.argv[1]])\n"
        "heavy = {'yaml', 'ruamel.yaml', 'pydantic', 'jsonschema', 'croniter', 'httpx',"
        " 'deepdiff'}\n"
        "print(code, sorted(set(sys.modules) & heavy))\n"
    )
    environ = {**os.environ, "TITAN_GITOPS_CACHE_DIR": str(tmp_path / "cache")}
    environ.pop("TITAN_GITOPS_CACHE", None)
    runs = [
        subprocess.run(
            [sys.executable, "-c", program, str(root)],
            env=environ,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for _ in range(2)
    ]
    assert runs[0].endswith("0 ['croniter', 'jsonschema', 'pydantic', 'yaml']\n")
    assert runs[1].endswith("0 []\n")


# Found by the audit of the verdict: validation that depended on something besides the files.

TASK = (
    "kind: task\nname: ns-a\nurls: [https://a.example/]\nobjective: A.\n"
    "output_schema: {type: object}\nexecution_type: single\n"
)


class _AnyDatetime(type):
    """Makes `isinstance(x, _Year2097)` true of every datetime, as of the class it stands in for."""

    def __instancecheck__(cls, instance: object) -> bool:
        return isinstance(instance, datetime)


class _Year2097(datetime, metaclass=_AnyDatetime):
    """`datetime`, with the clock on 1 March 2097: the next 29 February is then in 2104 (2100 is
    no leap year), more than 5 years away."""

    @classmethod
    def now(cls, tz: tzinfo | None = None) -> datetime:  # type: ignore[override]
        return datetime(2097, 3, 1, 12, 0, tzinfo=tz or UTC)


def test_what_validate_says_of_a_schedule_does_not_depend_on_the_day(
    tmp_path: Path, cache: DefinitionCache, validate: Validate, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A schedule on 29 February fires every leap year; around 2100 the next one is 8 years
    away. What validate says of it (and so what the verdict and the pack keep) is the same on
    any day."""
    root = tmp_path / "defs"
    leap_day = TASK.replace("execution_type: single", "execution_type: scheduled")
    write_tree(root, {"tasks/a.yaml": f"{leap_day}schedule: '0 0 29 2 *'\n"})
    cron.check_cron.cache_clear()
    today = validate(root, cached=False)
    assert today[0] == 0
    assert validate(root) == today
    assert recall(cache, root) is not None
    monkeypatch.setattr(cron, "datetime", _Year2097)
    try:
        cron.check_cron.cache_clear()  # as a new process would have it
        assert validate(root, cached=False) == today
        assert validate(root) == today
    finally:
        cron.check_cron.cache_clear()


# What `pip install rfc3986-validator` (or `jsonschema[format]`) adds: jsonschema checks the
# meta-schema's `format: uri-reference` (of `$id`, `$ref`) only when it can import one of these.
_RFC3986_VALIDATOR = (
    "def validate_rfc3986(value, rule='URI'):\n    return not any(c in value for c in ' <>{}|^`')\n"
)


def test_what_validate_says_does_not_depend_on_optional_libraries(tmp_path: Path) -> None:
    """jsonschema checks some formats only when an optional library is importable; a schema's
    `$id: 'a b'` must validate alike with and without one (the verdict is kept without it)."""
    root = tmp_path / "defs"
    write_tree(root, {"tasks/a.yaml": TASK.replace("{type: object}", "{type: object, $id: 'a b'}")})
    extra = tmp_path / "site"
    extra.mkdir()
    (extra / "rfc3986_validator.py").write_text(_RFC3986_VALIDATOR, encoding="utf-8")
    program = "import sys\nfrom titan_gitops.cli import main\nsys.exit(main(sys.argv[1:]))\n"

    def run(*, installed: bool, cached: bool = True) -> Output:
        environ = {**os.environ, "TITAN_GITOPS_CACHE_DIR": str(tmp_path / "cache")}
        environ.pop("TITAN_GITOPS_CACHE", None)
        if not cached:
            environ["TITAN_GITOPS_CACHE"] = "off"
        paths = [str(extra)] if installed else []
        environ["PYTHONPATH"] = os.pathsep.join([*paths, str(REPO)])
        done = subprocess.run(
            [sys.executable, "-c", program, "validate", str(root)],
            env=environ,
            capture_output=True,
            text=True,
            check=False,
        )
        return done.returncode, done.stdout, done.stderr

    without = run(installed=False)
    assert without[0] == 0
    assert run(installed=True, cached=False) == without
    assert run(installed=True) == without
