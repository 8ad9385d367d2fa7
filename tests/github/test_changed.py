"""`command: changed`: the definition directories a pull request or push changed, from real git
repositories in temporary folders, through the Action's entry point."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from titan_gitops.errors import ConfigError
from titan_gitops.github.changed import glob_regex, parse_directory_globs
from titan_gitops.github.context import read_inputs

from .conftest import ActionRun, pull_request_event, push_event, run_action, write_task
from .fake_github import FakeGitHub
from .test_action_e2e import no_traceback

pytestmark = pytest.mark.e2e

TEAMS = ("teams/ads", "teams/search", "teams/shop")
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.invalid",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, **GIT_ENV, "GIT_CONFIG_GLOBAL": os.devnull}
    result = subprocess.run(
        ["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


def commit(repo: Path, message: str) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--allow-empty", "-m", message)
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """Three team directories on main; the search team's schema is a `$file` target; a README
    at the top. HEAD is on branch `feature`, not yet changed."""
    root = tmp_path / "work"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    for team in TEAMS:
        folder = root / team
        folder.mkdir(parents=True)
        name = team.split("/")[1]
        (folder / "titan-gitops.yaml").write_text(f"namespace: {name}-\n", encoding="utf-8")
        write_task(folder, f"{name}-prices")
    schema = root / "teams/search/schemas/result.json"
    schema.parent.mkdir()
    schema.write_text('{"type": "object"}\n', encoding="utf-8")
    task = root / "teams/search/tasks/search-prices.yaml"
    text = task.read_text(encoding="utf-8").split("output_schema:")[0]
    task.write_text(
        text + "output_schema: {$file: schemas/result.json}\nexecution_type: single\n",
        encoding="utf-8",
    )
    (root / "teams/shop/notes.md").write_text("Owners: shop team\n", encoding="utf-8")
    (root / "README.md").write_text("tasks\n", encoding="utf-8")
    commit(root, "teams")
    git(root, "checkout", "-q", "-b", "feature")
    return root


def plan_changed(repo: Path, *, inputs: dict[str, str] | None = None) -> ActionRun:
    """Commit the work tree on `feature` and run `changed` as a pull request into main."""
    head = commit(repo, "change")
    # Main moves on after the branch: its changes are not the pull request's.
    git(repo, "checkout", "-q", "main")
    (repo / "teams/ads/tasks/ads-later.yaml").write_text("kind: task\n", encoding="utf-8")
    later = commit(repo, "main moves on")
    git(repo, "checkout", "-q", "feature")
    event = pull_request_event(head_sha=head)
    event["pull_request"]["base"]["sha"] = later
    return changed(repo, "pull_request", event, sha=head, inputs=inputs)


def changed(
    repo: Path,
    event_name: str,
    event: dict[str, object],
    *,
    sha: str,
    inputs: dict[str, str] | None = None,
) -> ActionRun:
    run = run_action(
        repo,
        command="changed",
        event_name=event_name,
        event=event,
        github=None,
        titan_url=None,
        sha=sha,
        inputs={
            "TG_DIRECTORIES": "teams/*",
            "TG_TOKEN": "",
            "TG_GITHUB_TOKEN": "",
            **(inputs or {}),
        },
    )
    no_traceback(run)
    return run


def listed(run: ActionRun) -> list[str]:
    assert run.returncode == 0, run.stdout + run.stderr
    result = json.loads(run.outputs["directories"])
    assert run.outputs["any-changed"] == ("true" if result else "false")
    return list(result)


def test_a_change_in_one_of_three_directories_lists_only_it(repo: Path) -> None:
    write_task(repo / "teams/shop", "shop-prices", objective="Extract the new prices.")
    run = plan_changed(repo)
    assert listed(run) == ["teams/shop"]
    assert json.loads(run.outputs["deleted-directories"]) == []
    assert "teams/shop/tasks/shop-prices.yaml" in run.summary


def test_a_file_target_change_lists_the_directory_that_references_it(repo: Path) -> None:
    (repo / "teams/search/schemas/result.json").write_text(
        '{"type": "object", "required": ["title"]}\n', encoding="utf-8"
    )
    assert listed(plan_changed(repo)) == ["teams/search"]


def test_files_no_definition_reads_change_nothing(repo: Path) -> None:
    (repo / "teams/shop/notes.md").write_text("Owners: the new shop team\n", encoding="utf-8")
    (repo / "README.md").write_text("tasks, described\n", encoding="utf-8")
    (repo / "teams/ads/.hidden").mkdir()
    (repo / "teams/ads/.hidden/draft.yaml").write_text("kind: task\n", encoding="utf-8")
    run = plan_changed(repo)
    assert listed(run) == []
    assert run.outputs["any-changed"] == "false"
    assert "No definition directory changed." in run.summary


def test_a_project_file_change_lists_its_directory(repo: Path) -> None:
    (repo / "teams/ads/titan-gitops.yaml").write_text(
        "namespace: ads-\nmax_deletes: 3\n", encoding="utf-8"
    )
    assert listed(plan_changed(repo)) == ["teams/ads"]


def test_a_removed_directory_is_listed_and_marked_deleted(repo: Path) -> None:
    shutil.rmtree(repo / "teams/ads")
    write_task(repo / "teams/search", "search-stock")
    run = plan_changed(repo)
    assert listed(run) == ["teams/ads", "teams/search"]
    assert json.loads(run.outputs["deleted-directories"]) == ["teams/ads"]
    assert "teams/ads (titan-gitops.yaml removed)" in run.stdout


def test_a_new_directory_is_listed(repo: Path) -> None:
    folder = repo / "teams/maps"
    folder.mkdir()
    (folder / "titan-gitops.yaml").write_text("namespace: maps-\n", encoding="utf-8")
    assert listed(plan_changed(repo)) == ["teams/maps"]


def test_only_directories_the_globs_match_are_listed(repo: Path) -> None:
    write_task(repo / "teams/shop", "shop-stock")
    write_task(repo / "teams/ads", "ads-stock")
    run = plan_changed(repo, inputs={"TG_DIRECTORIES": "teams/ads\nteams/nope-*"})
    assert listed(run) == ["teams/ads"]
    assert "::warning" in run.stdout
    assert "input directories: 'teams/nope-*'" in run.stdout


def test_a_push_compares_before_with_github_sha(repo: Path) -> None:
    git(repo, "checkout", "-q", "main")
    before = git(repo, "rev-parse", "HEAD")
    write_task(repo / "teams/ads", "ads-prices", objective="Extract ad prices.")
    after = commit(repo, "ads")
    event = {**push_event(after), "before": before}
    assert listed(changed(repo, "push", event, sha=after)) == ["teams/ads"]


def test_a_push_that_creates_the_branch_and_a_schedule_list_every_directory(repo: Path) -> None:
    sha = git(repo, "rev-parse", "HEAD")
    event = {**push_event(sha), "before": "0" * 40}
    assert listed(changed(repo, "push", event, sha=sha)) == list(TEAMS)
    run = changed(repo, "schedule", {}, sha=sha)
    assert listed(run) == list(TEAMS)
    assert "- <code>teams/ads</code>\n" in run.summary


def test_an_unchanged_pull_request_lists_nothing(repo: Path) -> None:
    run = plan_changed(repo)
    assert run.outputs["directories"] == "[]"
    assert run.outputs["any-changed"] == "false"


def test_a_shallow_checkout_is_deepened_from_origin(repo: Path, tmp_path: Path) -> None:
    write_task(repo / "teams/shop", "shop-stock")
    head = commit(repo, "shop")
    base = git(repo, "rev-parse", "main")
    clone = tmp_path / "clone" / "work"
    clone.parent.mkdir()
    git(tmp_path, "clone", "-q", "--depth=1", "--branch=feature", repo.as_uri(), str(clone))
    event = pull_request_event(head_sha=head)
    event["pull_request"]["base"]["sha"] = base
    assert listed(changed(clone, "pull_request", event, sha=head)) == ["teams/shop"]


def test_a_shallow_checkout_without_origin_names_fetch_depth(repo: Path, tmp_path: Path) -> None:
    write_task(repo / "teams/shop", "shop-stock")
    head = commit(repo, "shop")
    base = git(repo, "rev-parse", "main")
    clone = tmp_path / "clone" / "work"
    clone.parent.mkdir()
    git(tmp_path, "clone", "-q", "--depth=1", "--branch=feature", repo.as_uri(), str(clone))
    git(clone, "remote", "set-url", "origin", (tmp_path / "gone").as_uri())
    event = pull_request_event(head_sha=head)
    event["pull_request"]["base"]["sha"] = base
    run = changed(clone, "pull_request", event, sha=head)
    assert run.returncode == 1
    errors = [line for line in run.stdout.splitlines() if line.startswith("::error")]
    assert len(errors) == 1
    assert "shallow" in errors[0]
    assert "fetch-depth: 0" in errors[0]
    assert run.outputs.get("directories") is None


def test_not_a_checkout_and_no_directories_are_one_error_each(tmp_path: Path) -> None:
    folder = tmp_path / "work"
    folder.mkdir()
    run = changed(folder, "schedule", {}, sha="a" * 40)
    assert run.returncode == 1
    assert "needs a git checkout" in run.stdout
    run = changed(folder, "schedule", {}, sha="a" * 40, inputs={"TG_DIRECTORIES": ""})
    assert run.returncode == 1
    assert "input directories is empty" in run.stdout


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("/etc", "input directories: '/etc' must be a path relative to the checkout"),
        ("teams/../x", "without '..'"),
    ],
)
def test_a_bad_directories_input_is_named(value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        read_inputs({"TG_DIRECTORIES": value})


def test_directory_globs() -> None:
    assert parse_directory_globs("teams/*, ./infra/\n\n  ops/** ") == ("teams/*", "infra", "ops/**")
    assert glob_regex("teams/*").fullmatch("teams/shop")
    assert not glob_regex("teams/*").fullmatch("teams/shop/eu")
    assert glob_regex("teams/**").fullmatch("teams/shop/eu")
    assert glob_regex("**/shop").fullmatch("shop")
    assert glob_regex("**/shop").fullmatch("a/b/shop")
    assert glob_regex("team-?").fullmatch("team-a")


def test_the_plan_of_a_removed_directory_fails_naming_the_folder(
    repo: Path, titan_url: str, github: FakeGitHub
) -> None:
    shutil.rmtree(repo / "teams/ads")
    run = run_action(
        repo,
        command="plan",
        event_name="pull_request",
        event=pull_request_event(),
        github=github,
        titan_url=titan_url,
        inputs={"TG_DIRECTORY": "teams/ads"},
    )
    no_traceback(run)
    assert run.returncode == 1
    assert "teams/ads" in run.stdout
    assert "does not exist" in run.stdout
