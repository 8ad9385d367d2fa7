"""action.yml and the example workflows: the rules the linters do not check for us."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((REPO / "examples" / "workflows").glob("*.yml"))
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
ISSUE_INPUTS = {
    "command", "directory", "api-url", "token", "github-token", "parallelism", "comment",
    "allow-deletes", "allow-unreviewed", "fail-on-drift", "strict", "preview", "python-version",
    "allow-empty", "only", "exclude", "auth-header",
}  # fmt: skip
ISSUE_INPUTS |= {"comment-on-empty"}  # issue 17, robust GitHub I/O
ISSUE_INPUTS |= {"directories"}  # issue 17, only what changed
ISSUE_INPUTS |= {"environment"}  # issue 17, order-safe apply, recorded
ISSUE_INPUTS |= {"labels"}  # issue 17, close the loop: optional pull request labels
ISSUE_INPUTS |= {"plan-file"}  # issue 17, apply exactly what was approved (two jobs)
ISSUE_INPUTS |= {"approval"}  # issue 17, apply exactly what was approved
ISSUE_INPUTS |= {"overwrite-live-edits", "fail-on-pending"}  # issue 18, three-way drift
ISSUE_INPUTS |= {"on-drift"}  # issue 19, drift opens an adopt pull request
ISSUE_OUTPUTS = {
    "exit-code", "has-changes", "creates", "updates", "renames", "deletes", "plan-json", "drift",
}  # fmt: skip
ISSUE_OUTPUTS |= {"directories", "deleted-directories", "any-changed"}  # only what changed
ISSUE_OUTPUTS |= {"change-digest"}  # issue 17, order-safe apply, recorded
ISSUE_OUTPUTS |= {"comment-url", "issue-number"} | {
    f"applied-{action}s" for action in ("create", "update", "rename", "delete")
}  # issue 17, close the loop
ISSUE_OUTPUTS |= {"plan-file", "approved"}  # issue 17, apply exactly what was approved


def load(path: Path) -> Any:
    return YAML(typ="safe").load(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def action() -> Any:
    return load(REPO / "action.yml")


def test_inputs_and_outputs_are_exactly_the_documented_ones(action: Any) -> None:
    assert set(action["inputs"]) == ISSUE_INPUTS
    assert set(action["outputs"]) == ISSUE_OUTPUTS
    for name, output in action["outputs"].items():
        assert output["value"] == f"${{{{ steps.run.outputs.{name} }}}}"


def test_every_run_step_has_a_shell_and_no_expression(action: Any) -> None:
    runs = [s for s in action["runs"]["steps"] if "run" in s]
    assert runs
    for step in runs:
        assert step["shell"] == "bash"
        assert "${{" not in step["run"]


def test_every_input_but_python_version_reaches_the_script_through_env(action: Any) -> None:
    step = next(s for s in action["runs"]["steps"] if s.get("id") == "run")
    # The venv's interpreter, never the caller's `python`.
    assert step["run"].strip() == '"${TG_PYTHON}" -m titan_gitops.github'
    env = dict(step["env"])
    assert env.pop("TG_PYTHON") == "${{ steps.install.outputs.python }}"
    assert env.pop("TITAN_GITOPS_CACHE_DIR") == "${{ steps.venv.outputs.definitions-path }}"
    found = [re.fullmatch(r"\$\{\{ inputs\.([\w-]+) \}\}", v) for v in env.values()]
    assert all(found), "every env value is exactly one input"
    assert {m.group(1) for m in found if m} == ISSUE_INPUTS - {"python-version"}


def test_setup_python_is_pinned_by_sha_to_v6_or_later() -> None:
    text = (REPO / "action.yml").read_text(encoding="utf-8")
    match = re.search(r"uses: (actions/setup-python@[0-9a-f]{40}) # v(\d+)\.", text)
    assert match is not None
    assert int(match.group(2)) >= 6


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflows_are_least_privilege_and_pinned(path: Path) -> None:
    workflow = load(path)
    assert workflow["permissions"] == {}
    for name, job in workflow["jobs"].items():
        assert job["permissions"], "each job names what it needs"
        assert "write-all" not in str(job["permissions"])
        if name != "changes":
            assert job["environment"] in (
                "titan/${{ matrix.directory }}",
                "titan-read/${{ matrix.directory }}",
            )
        for step in job["steps"]:
            if "uses" in step:
                assert PINNED.match(step["uses"]), step["uses"]
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False
            assert "run" not in step or "${{" not in step["run"]


def test_apply_runs_on_main_one_at_a_time_per_environment() -> None:
    workflow = load(REPO / "examples" / "workflows" / "apply.yml")
    assert workflow["on"]["push"]["branches"] == ["main"]
    job = workflow["jobs"]["apply"]
    assert job["environment"] == "titan/${{ matrix.directory }}"
    assert set(job["permissions"]) == {"contents", "pull-requests", "deployments", "issues"}
    # The result comment on the merged pull request, the failure issue.
    assert job["permissions"]["pull-requests"] == "write"
    assert job["permissions"]["issues"] == "write"
    assert job["permissions"]["deployments"] == "write"  # each apply is recorded


def test_apply_and_drift_of_a_directory_share_one_queue_that_never_cancels() -> None:
    groups = set()
    for name in ("apply", "drift"):
        job = load(REPO / "examples" / "workflows" / f"{name}.yml")["jobs"][name]
        # queue: max keeps every pending run (the default keeps one and cancels the rest).
        assert job["concurrency"]["queue"] == "max"
        assert job["concurrency"]["cancel-in-progress"] is False
        groups.add(job["concurrency"]["group"])
    assert groups == {"titan-gitops-${{ matrix.directory }}"}


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflows_run_only_the_directories_a_first_job_lists(path: Path) -> None:
    workflow = load(path)
    changes = workflow["jobs"]["changes"]
    assert set(changes["permissions"]) == {"contents"}
    step = next(s for s in changes["steps"] if s.get("id") == "changed")
    assert step["with"]["command"] == "changed"
    assert step["with"]["directories"] == "teams/*"
    checkout = changes["steps"][0]["with"]
    # Plan and apply compare two commits: the whole history; drift lists every directory.
    assert checkout.get("fetch-depth") == (None if path.name == "drift.yml" else 0)
    for name, job in workflow["jobs"].items():
        if name == "changes":
            continue
        # The two-job apply's second job also waits for the plan its first job approved.
        assert job["needs"] in ("changes", ["changes", "approve"])
        assert job["if"] == "needs.changes.outputs.any-changed == 'true'"
        matrix = job["strategy"]["matrix"]
        assert matrix == {"directory": "${{ fromJSON(needs.changes.outputs.directories) }}"}
        titan = next(s for s in job["steps"] if s.get("id") == "titan")
        assert titan["with"]["directory"] == "${{ matrix.directory }}"


def test_the_readme_inputs_table_lists_every_input_of_action_yml(action: Any) -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Inputs\n", 1)[1].split("\n### ", 1)[0]
    rows = re.findall(r"^\| `([\w-]+)` \|", section, flags=re.MULTILINE)
    assert sorted(rows) == sorted(action["inputs"])


def test_the_two_job_apply_hands_the_approved_plan_to_the_protected_job() -> None:
    jobs = load(REPO / "examples" / "workflows" / "apply-reviewed.yml")["jobs"]
    approve, apply = jobs["approve"], jobs["apply"]
    assert approve["environment"] == "titan-read/${{ matrix.directory }}"
    assert approve["permissions"] == {
        "contents": "read", "pull-requests": "read", "deployments": "read"
    }  # fmt: skip
    assert apply["environment"] == "titan/${{ matrix.directory }}"
    assert apply["needs"] == ["changes", "approve"]
    assert (
        apply["permissions"]
        == load(REPO / "examples" / "workflows" / "apply.yml")["jobs"]["apply"]["permissions"]
    )
    for job in (approve, apply):  # the queue apply and drift share
        assert job["concurrency"] == {
            "group": "titan-gitops-${{ matrix.directory }}",
            "queue": "max",
            "cancel-in-progress": False,
        }
    titan = next(s for s in approve["steps"] if s.get("id") == "titan")["with"]
    assert titan["command"] == "approve"
    upload = next(s for s in approve["steps"] if s["uses"].startswith("actions/upload-artifact@"))
    assert upload["with"]["path"] == "${{ steps.titan.outputs.plan-file }}"
    assert upload["with"]["retention-days"] == 1
    download = next(s for s in apply["steps"] if s["uses"].startswith("actions/download-artifact@"))
    assert download["with"]["name"] == upload["with"]["name"]
    step = next(s for s in apply["steps"] if s.get("id") == "titan")["with"]
    assert step["command"] == "apply"
    assert step["plan-file"] == titan["plan-file"]
    assert step["plan-file"].startswith(download["with"]["path"] + "/")
