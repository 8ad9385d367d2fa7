"""`titan-gitops init`: a starter directory that validates and plans at once, never overwriting."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from titan_gitops.cli import main
from titan_gitops.spec import definition_json_schema

REPO = Path(__file__).resolve().parents[2]
STARTER = (
    "titan-gitops.yaml",
    "titan-gitops.schema.json",
    "tasks/product-prices.yaml",
    "templates/product-page.yaml",
    "schemas/product.json",
    ".pre-commit-config.yaml",
    ".github/workflows/titan-gitops-plan.yml",
    ".github/workflows/titan-gitops-apply.yml",
    ".github/workflows/titan-gitops-drift.yml",
)
WORKFLOWS = {"plan.yml", "apply.yml", "drift.yml"}
# Shipped, not written by init: it replaces apply.yml, and both would apply every merge.
ALTERNATIVE_WORKFLOWS = {"apply-reviewed.yml"}


def files_under(root: Path) -> list[str]:
    """Every file and symlink below `root`, as sorted relative POSIX paths."""
    found = [p for p in root.rglob("*") if p.is_file() or p.is_symlink()]
    return sorted(p.relative_to(root).as_posix() for p in found)


@pytest.fixture
def cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_the_starter_validates_plans_and_applies_at_once(
    cwd: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["init", "d", "--namespace", "shop-"]) == 0
    assert main(["validate", "d", "--strict"]) == 0
    capsys.readouterr()
    assert main(["plan", "d", "--detailed-exitcode"]) == 2
    out = capsys.readouterr().out
    assert "+ shop-product-prices  (create)" in out
    assert "Plan: 1 to create, 0 to update, 0 to rename, 0 to delete." in out
    assert main(["apply", "d", "--auto-approve"]) == 0
    capsys.readouterr()
    assert main(["plan", "d", "--detailed-exitcode"]) == 0
    assert "No changes." in capsys.readouterr().out


def test_init_writes_every_starter_file_and_lists_them(
    cwd: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["init", "d", "--namespace", "shop-"]) == 0
    assert files_under(cwd / "d") == sorted(STARTER)
    out = capsys.readouterr().out
    for name in STARTER:
        assert f"d/{name}" in out
    assert "titan-gitops validate d && titan-gitops plan d" in out
    project = YAML(typ="safe").load((cwd / "d" / "titan-gitops.yaml").read_text())
    assert project["namespace"] == "shop-"


def test_the_editor_schema_is_the_installed_one_and_every_comment_finds_it(cwd: Path) -> None:
    assert main(["init", "d", "--namespace", "shop-"]) == 0
    root = cwd / "d"
    written = (root / "titan-gitops.schema.json").read_text(encoding="utf-8")
    assert written == json.dumps(definition_json_schema(), indent=2, sort_keys=True) + "\n"
    definitions = [p for p in root.rglob("*.yaml") if ".github" not in p.parts and p.name[0] != "."]
    assert len(definitions) == 3
    for path in definitions:
        found = re.match(r"# yaml-language-server: \$schema=(\S+)\n", path.read_text())
        assert found, path
        assert (path.parent / found.group(1)).resolve() == root / "titan-gitops.schema.json"


def test_the_shipped_workflows_are_the_example_workflows(cwd: Path) -> None:
    from importlib.resources import files

    shipped = files("titan_gitops").joinpath("starter", "workflows")
    assert {entry.name for entry in shipped.iterdir()} == WORKFLOWS | ALTERNATIVE_WORKFLOWS
    examples = {p.name for p in (REPO / "examples" / "workflows").glob("*.yml")}
    assert examples == WORKFLOWS | ALTERNATIVE_WORKFLOWS
    assert main(["init", "d", "--namespace", "shop-"]) == 0
    for name in sorted(WORKFLOWS | ALTERNATIVE_WORKFLOWS):
        example = (REPO / "examples" / "workflows" / name).read_text(encoding="utf-8")
        assert shipped.joinpath(name).read_text(encoding="utf-8") == example, (
            f"titan_gitops/starter/workflows/{name} differs from examples/workflows/{name}: "
            "copy the example over it"
        )
        written = cwd / "d" / ".github" / "workflows" / f"titan-gitops-{name}"
        if name in WORKFLOWS:
            assert written.read_text(encoding="utf-8") == example
        else:
            assert not written.exists()


def test_the_pre_commit_snippet_uses_the_offered_hook_on_the_new_directory(cwd: Path) -> None:
    assert main(["init", "teams/shop", "--namespace", "shop-"]) == 0
    snippet = YAML(typ="safe").load((cwd / "teams/shop/.pre-commit-config.yaml").read_text())
    offered = YAML(typ="safe").load((REPO / ".pre-commit-hooks.yaml").read_text())
    (repo,) = snippet["repos"]
    (hook,) = repo["hooks"]
    assert hook["id"] in {h["id"] for h in offered}
    assert hook["args"] == ["teams/shop"]


def test_dir_defaults_to_the_current_directory(
    cwd: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["init", "--namespace", "shop-"]) == 0
    assert files_under(cwd) == sorted(STARTER)
    assert "titan-gitops validate . && titan-gitops plan ." in capsys.readouterr().out
    snippet = YAML(typ="safe").load((cwd / ".pre-commit-config.yaml").read_text())
    assert snippet["repos"][0]["hooks"][0]["args"] == ["."]


def test_an_existing_file_is_never_overwritten_and_nothing_is_written(
    cwd: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (cwd / "d" / "tasks").mkdir(parents=True)
    (cwd / "d" / "tasks" / "product-prices.yaml").write_text("mine\n")
    assert main(["init", "d", "--namespace", "shop-"]) == 1
    err = capsys.readouterr().err
    assert "error: d/tasks/product-prices.yaml already exists" in err
    assert "init never overwrites a file" in err
    assert "Traceback" not in err
    assert files_under(cwd / "d") == ["tasks/product-prices.yaml"]
    assert (cwd / "d" / "tasks" / "product-prices.yaml").read_text() == "mine\n"


def test_every_existing_file_is_named_and_a_dangling_link_counts(
    cwd: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (cwd / "d").mkdir()
    (cwd / "d" / "titan-gitops.yaml").write_text("namespace: mine-\n")
    (cwd / "d" / ".pre-commit-config.yaml").symlink_to("nowhere")
    assert main(["init", "d", "--namespace", "shop-"]) == 1
    err = capsys.readouterr().err
    assert "2 files already exist: d/.pre-commit-config.yaml, d/titan-gitops.yaml" in err
    assert files_under(cwd / "d") == [".pre-commit-config.yaml", "titan-gitops.yaml"]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: d.write_text("x"), "error: d exists and is not a folder"),
        (lambda d: (d.mkdir(), (d / "tasks").write_text("x")), "error: d/tasks is not a folder"),
        (
            lambda d: (d.mkdir(), (d / ".github").symlink_to(d)),
            "error: d/.github is not a folder",
        ),
    ],
)
def test_something_in_the_way_of_a_folder_is_refused_before_writing(
    make, message: str, cwd: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = cwd / "d"
    make(target)
    before = files_under(cwd)
    assert main(["init", "d", "--namespace", "shop-"]) == 1
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err
    assert files_under(cwd) == before


def test_a_missing_namespace_is_a_usage_error(
    cwd: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["init", "d"]) == 1
    assert "the following arguments are required: --namespace" in capsys.readouterr().err
    assert not (cwd / "d").exists()


@pytest.mark.parametrize(
    ("namespace", "message"),
    [
        ("", "is empty; give the name prefix this directory owns, such as shop-"),
        ("   ", "is empty; give the name prefix this directory owns, such as shop-"),
        (" shop-", "starts or ends with a space"),
        ("shop-\n", "holds the control character U+000A"),
        ("shop-\udcff", "holds the invisible or bidirectional character U+DCFF"),
        ("sh\u202eop-", "holds the invisible or bidirectional character U+202E"),
        (".titan-gitops-lease/", "is reserved for apply leases"),
        ("s" * 190, "is 190 characters long; a namespace may have at most 186"),
    ],
)
def test_an_invalid_namespace_is_a_usage_error_naming_the_flag(
    namespace: str, message: str, cwd: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["init", "d", "--namespace", namespace]) == 1
    err = capsys.readouterr().err
    assert "argument --namespace:" in err
    assert message in err
    assert "Traceback" not in err
    assert not (cwd / "d").exists()


def test_the_longest_namespace_allowed_still_validates(cwd: Path) -> None:
    assert main(["init", "d", "--namespace", "s" * 186]) == 0
    assert main(["validate", "d", "--strict"]) == 0


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(namespace=st.text(min_size=0, max_size=12))
def test_a_namespace_init_accepts_always_validates(namespace: str, tmp_path: Path) -> None:
    # init's check of the prefix and the validator agree: whatever init writes validates.
    target = tmp_path / os.urandom(6).hex()
    if main(["init", str(target), f"--namespace={namespace}"]) == 0:
        assert main(["validate", str(target), "--strict"]) == 0, repr(namespace)
    else:
        assert not target.exists()


def test_a_quote_or_backslash_in_the_namespace_is_written_safely(cwd: Path) -> None:
    namespace = 'a"b\\c: #d-'
    assert main(["init", "d", f"--namespace={namespace}"]) == 0
    project = YAML(typ="safe").load((cwd / "d" / "titan-gitops.yaml").read_text())
    task = YAML(typ="safe").load((cwd / "d" / "tasks" / "product-prices.yaml").read_text())
    assert project["namespace"] == namespace
    assert task["name"] == namespace + "product-prices"
    assert main(["validate", "d"]) == 0


@pytest.mark.skipif(os.pathconf("/", "PC_PATH_MAX") != 4096, reason="needs Linux's PATH_MAX")
def test_a_write_failing_half_way_leaves_nothing_behind(
    cwd: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A folder path so long that the workflows themselves fit PATH_MAX but their temporary
    # files (22 characters longer) do not: the first seven files are written, the eighth fails.
    length = 4040
    parts = ["a" * 250] * (length // 251) + ["b" * (length % 251)]
    root = "/".join(parts)
    assert len(root) == length
    assert main(["init", root, "--namespace", "shop-"]) == 1
    err = capsys.readouterr().err
    assert "error: cannot write " in err
    assert "titan-gitops-plan.yml: file name too long" in err
    assert "Traceback" not in err
    assert list(cwd.iterdir()) == []


def test_the_next_step_quotes_a_directory_for_the_shell(
    cwd: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["init", "my tasks", "--namespace", "shop-"]) == 0
    out = capsys.readouterr().out
    assert "Next: titan-gitops validate 'my tasks' && titan-gitops plan 'my tasks'" in out
