"""The one module that chains the stages: load → validate → fetch → diff → plan (→ apply).

The CLI, the GitHub Action and library users all call these functions.
"""

from __future__ import annotations

import fnmatch
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from titan_gitops.defcache import load_and_validate
from titan_gitops.errors import ConfigError, Problem, StalePlan, ValidationFailed
from titan_gitops.gcpause import pauses_collector
from titan_gitops.load import (
    load_definition_files,
    load_yaml_file,
    record_definition,
)
from titan_gitops.validate import validate_definitions

# The stages after validation are imported where they run: `validate` needs none of them, and a
# plan only its own (the command's start-up time is measured by bench/bench_startup.py).
if TYPE_CHECKING:
    from titan_gitops.adopt import AdoptOptions, AdoptReport
    from titan_gitops.client import TitanClient
    from titan_gitops.defcache import DefinitionCache
    from titan_gitops.model import (
        ApplyReport,
        BaseInfo,
        DesiredState,
        LiveState,
        LiveTask,
        Plan,
        Progress,
        TaskDiff,
        ThreeWay,
    )
    from titan_gitops.plan import PlanOptions
    from titan_gitops.secrets import SecretSet


@pauses_collector
def validate_directory(
    root: Path, *, environ: Mapping[str, str], cache: DefinitionCache | None = None
) -> DesiredState:
    """Load and validate every definition under `root`, reusing what `cache` holds of files
    unchanged since an earlier run (the defcache package).

    Raises:
        ValidationFailed: with every problem found (load and validation), sorted by file and line.
    """
    return load_and_validate(root, environ=environ, cache=cache)[1]


@pauses_collector
def make_plan(
    root: Path,
    client: TitanClient,
    options: PlanOptions | None = None,
    *,
    environ: Mapping[str, str],
    target: str = "",
    cache: DefinitionCache | None = None,
) -> Plan:
    """Validate the definitions under `root` (reusing what `cache` holds), read the live tasks,
    and build the plan. Apply's re-derivation passes no cache: it validates everything afresh.

    Raises:
        ValidationFailed: the definitions are invalid (nothing was fetched).
        ApiError: the service could not be read completely.
        PlanError: the plan cannot be made safely.
    """
    from titan_gitops.plan import PlanOptions, build_plan, managed_names_of

    options = options or PlanOptions()
    desired, base, live, diffs = _read_states(
        root, client, options.base, environ=environ, cache=cache
    )
    plan = build_plan(desired, live, diffs, options, target=target)
    names = {*managed_names_of(desired), *(t.name for t in live.tasks)}
    unmatched = describe_unmatched_filters(options, names)
    plan = replace(plan, directory=str(root), warnings=plan.warnings + unmatched)
    if base is None:
        return plan
    return replace(plan, threeway=attribute_since(root, base, desired, diffs, options))


def _read_states(
    root: Path,
    client: TitanClient,
    base_rev: str | None,
    *,
    environ: Mapping[str, str],
    cache: DefinitionCache | None = None,
) -> tuple[DesiredState, tuple[BaseInfo, DesiredState] | None, LiveState, tuple[TaskDiff, ...]]:
    """The definitions, the definitions at `base_rev` (None without one), the live state and
    their diffs. The base is read before the service, so a revision git does not know costs no
    request, and a file the same at the base as now is parsed (and validated) once."""
    from titan_gitops.diff import diff_states
    from titan_gitops.fetch import fetch_live_state

    # What loading gave (every file parsed, with its lines) is let go here, not held while the
    # live tasks are read and diffed: a cold plan of 10,000 files peaks 60 MiB lower.
    desired, reusable = load_and_validate(root, environ=environ, cache=cache)[1:]
    base = None
    if base_rev:
        from titan_gitops.gitbase import read_base

        base = read_base(root, base_rev, environ=environ, reusable=reusable)
    del reusable
    live = fetch_live_state(client)
    return desired, base, live, diff_states(desired, live)


def attribute_since(
    root: Path,
    base: tuple[BaseInfo, DesiredState],
    desired: DesiredState,
    diffs: Sequence[TaskDiff],
    options: PlanOptions,
) -> ThreeWay:
    """Who changed what since `base`, over the tasks the plan covers, with the commit that last
    changed each definition git changed (one `git log` for all of them)."""
    from titan_gitops.fingerprint import in_namespace
    from titan_gitops.gitbase import history_since
    from titan_gitops.plan import is_protected
    from titan_gitops.threeway import attach_commits, attribute, git_side_paths

    project = desired.project

    def in_scope(name: str) -> bool:
        ours = in_namespace(name, project.namespace) and not is_protected(name, project.protected)
        return ours and options.selects(name)

    overwrite = options.overwrite_live_edits or project.live_edits == "overwrite"
    found = attribute(base[0], base[1], diffs, in_scope=in_scope, overwrite=overwrite)
    found = replace(found, tasks=tuple(t for t in found.tasks if options.selects(t.name)))
    paths = git_side_paths(found)
    if not paths:
        return found
    return attach_commits(found, history_since(root, base[0].sha, paths))


def describe_unmatched_filters(options: PlanOptions, names: Iterable[str]) -> tuple[str, ...]:
    """A warning for each --only or --exclude glob that matches none of `names` (a typo that
    would otherwise read as "No changes.")."""
    every = sorted(names)
    globs = [(options.ask("only", repr(g)), g) for g in options.only]
    globs += [(options.ask("exclude", repr(g)), g) for g in options.exclude]
    return tuple(
        f"{flag} matches no task name, defined or live: check the glob "
        "(it matches whole names, such as 'shop-*')"
        for flag, glob in globs
        if not any(fnmatch.fnmatchcase(name, glob) for name in every)
    )


@pauses_collector
def rederive_saved_plan(
    saved: Plan,
    root: Path,
    client: TitanClient,
    options: PlanOptions | None = None,
    *,
    environ: Mapping[str, str],
    target: str = "",
) -> tuple[Plan, Plan]:
    """Make the plan afresh and keep only the changes the saved plan asks for.

    A saved plan is a request, not an authority: the plan is derived again from the definitions
    under `root` and the live tasks read now, with the saved plan's filters and the deletion
    allowances of `options` (the project file and apply's own flags, never the file's). Returns
    the plan to apply (the fresh changes the saved ones match) and the whole fresh plan.

    Raises:
        ValidationFailed: the definitions are invalid (nothing was fetched).
        ApiError: the service could not be read completely.
        PlanError: the fresh plan cannot be made safely (a guard, such as max_deletes, tripped).
        StalePlan: the saved plan was edited, or asks for a change the fresh plan does not hold,
            or live tasks moved since it was made.
    """
    from titan_gitops.apply import match_saved_plan
    from titan_gitops.plan import PlanOptions
    from titan_gitops.planfile import saved_filters

    only, exclude = saved_filters(saved)
    planning = replace(options or PlanOptions(), only=only, exclude=exclude)
    if planning.base is None and saved.threeway is not None:
        # Attributed against the commit the saved plan was made against, not a moving name.
        planning = replace(planning, base=saved.threeway.base.sha)
    fresh = make_plan(root, client, planning, environ=environ, target=target)
    return match_saved_plan(saved, fresh), fresh


def run_apply(
    plan: Plan,
    client: TitanClient,
    *,
    parallelism: int = 4,
    progress: Progress | None = None,
    stop: threading.Event | None = None,
    how_to_overwrite: str = "pass --overwrite-live-edits",
    live: Sequence[LiveTask] | None = None,
) -> ApplyReport:
    """Check that `plan` is still fresh and throws away no live edit it may not, then apply it.

    `plan` is one made in this run: by `make_plan`, or by `rederive_saved_plan` from a saved
    plan, so it holds the clear sensitive values. It is checked against `live`: the tasks as a
    complete listing read them after the apply's lease was taken (the lease's own listing), or,
    when None, as they are listed now.

    Raises:
        LiveEditsRefused: a plan made with a base would throw away edits made in Titan since,
            and was not made allowing that (`how_to_overwrite` says how to allow it).
        StalePlan: the plan's digest does not match its changes, it holds a saved plan's
            sensitive stand-ins, or live tasks moved since it was made.
        ApiError: the live listing could not be read.
    """
    from titan_gitops.apply import apply_plan, check_no_stand_ins, check_plan_is_fresh
    from titan_gitops.fetch import fetch_tasks
    from titan_gitops.fingerprint import change_digest
    from titan_gitops.threeway import refuse_live_edits

    if change_digest(plan.changes) != plan.change_digest:
        raise StalePlan("the plan's changes do not match its digest; run plan again")
    refuse_live_edits(plan, how_to_overwrite=how_to_overwrite)
    check_no_stand_ins(plan)
    check_plan_is_fresh(plan, fetch_tasks(client) if live is None else live)
    return apply_plan(plan, client, parallelism=parallelism, progress=progress, stop=stop)


def make_drift_report(
    root: Path,
    client: TitanClient,
    *,
    environ: Mapping[str, str],
    target: str = "",
    only: tuple[str, ...] = (),
    exclude: tuple[str, ...] = (),
    action_inputs: bool = False,
    base: str | None = None,
    cache: DefinitionCache | None = None,
) -> Plan:
    """The plan that would bring live back to the definitions, read as a drift report, over the
    task names `only` and `exclude` select (warnings name them as the Action's inputs when
    `action_inputs`).

    Read-only, and never refused by the deletion guards: drift reports, it does not act.
    """
    from titan_gitops.plan import PlanOptions

    options = PlanOptions(
        only=only,
        exclude=exclude,
        allow_deletes=2**31,
        allow_empty=True,
        action_inputs=action_inputs,
        base=base,
    )
    return make_plan(root, client, options, environ=environ, target=target, cache=cache)


@pauses_collector
def make_adoption(
    root: Path,
    client: TitanClient,
    options: PlanOptions,
    adopt: AdoptOptions,
    *,
    environ: Mapping[str, str],
    secrets: SecretSet,
) -> AdoptReport:
    """The file edits that write what was changed in Titan since `options.base` into the
    definitions under `root`, checked (they validate, and the adopted fields then equal
    Titan's) but not written.

    Raises:
        ConfigError: no base was given (without one, a merge not yet applied would look like a
            Titan edit, and adopting it would undo the merge in git).
        ValidationFailed: the definitions are invalid (nothing was fetched).
        BaseUnavailable: git cannot give the definitions at the base.
        ApiError: the service could not be read completely.
        AdoptError: the edits would not validate or not match Titan.
    """
    from titan_gitops.adopt import check_adopted, plan_adoption

    if not options.base:
        raise ConfigError(
            "adopt needs --base REV, the commit last applied: without it, a merge not yet "
            "applied would look like an edit made in Titan, and adopting it would undo the merge"
        )
    desired, base, live, diffs = _read_states(root, client, options.base, environ=environ)
    assert base is not None  # options.base is set
    threeway = attribute_since(root, base, desired, diffs, options)
    report = plan_adoption(
        root, threeway, desired, live.tasks, adopt, secrets=secrets, variables=environ
    )

    def validate(texts: Mapping[Path, str]) -> DesiredState:
        return validate_with(root, texts, environ=environ)

    report = _without_invalid(report, validate)
    check_adopted(report, validate, live.tasks)
    return report


def _without_invalid(
    report: AdoptReport, validate: Callable[[Mapping[Path, str]], DesiredState]
) -> AdoptReport:
    """`report` without the edits of files that would not validate, each of their tasks left
    with the first problem as the reason: a live value no definition may hold (a control
    character, a URL with credentials) leaves its task, not every other edit.

    Raises:
        AdoptError: a problem outside the edited files; nothing is written.
    """
    from titan_gitops.adopt import AdoptError, NotAdopted

    while report.edits:
        try:
            validate({edit.path: edit.after for edit in report.edits})
        except ValidationFailed as exc:
            errors = [p for p in exc.problems if p.severity == "error"]
            edited = {str(edit.path) for edit in report.edits}
            first = {p.path: p for p in reversed(errors) if p.path in edited}
            if not first:
                raise AdoptError(
                    f"adopting would leave the definitions invalid, so nothing was written: "
                    f"{errors[0]}"
                ) from None
            left = tuple(
                NotAdopted(a.name, f"Titan's values would not validate in its file: {why}")
                for a in report.adopted
                if (why := _problem_words(first.get(a.path))) is not None
            )
            report = replace(
                report,
                edits=tuple(e for e in report.edits if str(e.path) not in first),
                adopted=tuple(a for a in report.adopted if a.path not in first),
                not_adopted=(*report.not_adopted, *left),
            )
            continue
        break
    return report


def _problem_words(problem: Problem | None) -> str | None:
    """A validation problem without its place (the file as it would have been written)."""
    if problem is None:
        return None
    return f"{problem.field}: {problem.message}" if problem.field else problem.message


def validate_with(
    root: Path, texts: Mapping[Path, str], *, environ: Mapping[str, str]
) -> DesiredState:
    """The definitions under `root` validated as if `texts` were written (an empty text: the file
    removed); nothing is written.

    Raises:
        ValidationFailed: with every problem, as validate_directory reports them.
    """
    loaded = load_definition_files(root)
    shown = {str(path): text for path, text in texts.items()}
    loaded.documents = [d for d in loaded.documents if d.path not in shown]
    loaded.problems = [p for p in loaded.problems if p.path not in shown]
    loaded.warnings = [w for w in loaded.warnings if w.path not in shown]
    loaded.variable_paths -= shown.keys()
    for display, text in sorted(shown.items()):
        if text:
            record_definition(loaded, text, display, is_project=False)
    return validate_definitions(loaded, root=root, environ=environ, read_yaml=load_yaml_file)
