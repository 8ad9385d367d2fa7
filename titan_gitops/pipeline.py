"""The one module that chains the stages: load → validate → fetch → diff → plan (→ apply).

The CLI, the GitHub Action and library users all call these functions.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from titan_gitops.apply import apply_plan, check_plan_is_fresh, resolve_sensitive_values
from titan_gitops.diff import diff_states
from titan_gitops.errors import StalePlan, ValidationFailed
from titan_gitops.fetch import fetch_live_state, fetch_tasks
from titan_gitops.fingerprint import change_digest
from titan_gitops.load import check_definitions_root, load_definition_files, load_yaml_file
from titan_gitops.model import ApplyReport, DesiredState, Plan, Progress
from titan_gitops.plan import PlanOptions, build_plan
from titan_gitops.validate import validate_definitions

if TYPE_CHECKING:
    from titan_gitops.client import TitanClient


def validate_directory(root: Path, *, environ: Mapping[str, str]) -> DesiredState:
    """Load and validate every definition under `root`.

    Raises:
        ValidationFailed: with every problem found (load and validation), sorted by file and line.
    """
    problem = check_definitions_root(root)
    if problem is not None:
        raise ValidationFailed([problem])
    loaded = load_definition_files(root)
    return validate_definitions(loaded, root=root, environ=environ, read_yaml=load_yaml_file)


def make_plan(
    root: Path,
    client: TitanClient,
    options: PlanOptions | None = None,
    *,
    environ: Mapping[str, str],
    target: str = "",
) -> Plan:
    """Validate the definitions under `root`, read the live tasks, and build the plan.

    Raises:
        ValidationFailed: the definitions are invalid (nothing was fetched).
        ApiError: the service could not be read completely.
        PlanError: the plan cannot be made safely.
    """
    desired = validate_directory(root, environ=environ)
    live = fetch_live_state(client)
    diffs = diff_states(desired, live)
    plan = build_plan(desired, live, diffs, options, target=target)
    return replace(plan, directory=str(root))


def run_apply(
    plan: Plan,
    client: TitanClient,
    *,
    environ: Mapping[str, str],
    root: Path | None = None,
    parallelism: int = 4,
    progress: Progress | None = None,
    stop: threading.Event | None = None,
) -> ApplyReport:
    """Check that `plan` is still fresh, then apply it.

    A saved plan holds sensitive values only as hashes: they are re-resolved from the
    definitions under `root` (or the plan's own directory) and the current environment.

    Raises:
        StalePlan: the plan was tampered with, or live tasks or sensitive values moved.
        ApiError: the live listing could not be read.
    """
    if change_digest(plan.changes) != plan.change_digest:
        raise StalePlan("the saved plan's changes do not match its digest; run plan again")
    if any(c.sensitive_pointers for c in plan.changes):
        directory = root or Path(plan.directory)
        desired = validate_directory(directory, environ=environ)
        plan = resolve_sensitive_values(plan, {t.name: t.body for t in desired.tasks})
    check_plan_is_fresh(plan, fetch_tasks(client))
    return apply_plan(plan, client, parallelism=parallelism, progress=progress, stop=stop)


def make_drift_report(
    root: Path, client: TitanClient, *, environ: Mapping[str, str], target: str = ""
) -> Plan:
    """The plan that would bring live back to the definitions, read as a drift report.

    Read-only, and never refused by the deletion guards: drift reports, it does not act.
    """
    options = PlanOptions(allow_deletes=2**31, allow_empty=True)
    return make_plan(root, client, options, environ=environ, target=target)
