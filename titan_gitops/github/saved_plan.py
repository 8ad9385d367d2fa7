"""The approved plan one job hands to the next: `command: approve` writes it, `command: apply`
with the `plan-file` input applies exactly it.

The file holds the saved-plan format (planfile.plan_to_dict, every secret masked) stamped with
the repository, commit and directory it was approved for. Job 2 trusts none of it: the stamp only
lets it refuse, early and by name, a plan of another commit or directory; the plan itself is a
request, derived again from the definitions and the live tasks (pipeline.rederive_saved_plan, so
a stale or edited plan is refused) and approved again against the merged pull request's review.
"""

from __future__ import annotations

import html
import json
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from titan_gitops import exit_codes
from titan_gitops.atomic import write_text_atomic
from titan_gitops.errors import ConfigError, InputError, StalePlan
from titan_gitops.escape import escape_code
from titan_gitops.github.apply_result import ApplyResult
from titan_gitops.github.context import ActionInputs, GitHubContext
from titan_gitops.github.deployments import short
from titan_gitops.github.outbox import Outbox
from titan_gitops.github.steps import action_plan_options
from titan_gitops.github.sticky import normalise_directory
from titan_gitops.planfile import MAX_PLAN_BYTES, MAX_PLAN_VALUES, plan_from_dict, plan_to_dict
from titan_gitops.secrets import SecretSet

if TYPE_CHECKING:
    from titan_gitops.client import TitanClient
    from titan_gitops.model import Plan
    from titan_gitops.settings import Target

FORMAT = "titan-gitops-approved-plan/1"
_KEYS = ("format", "repository", "commit", "directory", "plan")
_INPUT = "input plan-file"
# The CLI's advice at the end of a refusal; the Action gives its own.
_CLI_ADVICE = re.compile(r"; run plan again( to make a new one)?$")


@dataclass(frozen=True)
class ApprovedPlan:
    """A plan approved by job 1, as read back by job 2."""

    repository: str
    commit: str
    directory: str
    plan: Plan


def default_plan_path(context: GitHubContext, directory: str) -> Path:
    """Where approve saves the plan when the plan-file input is empty: under RUNNER_TEMP."""
    base = context.temp_dir or Path(tempfile.gettempdir())
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", normalise_directory(directory)).strip("-.") or "root"
    return base / "titan-gitops" / f"approved-{slug}.json"


def write_approved_plan(
    path: Path, plan: Plan, context: GitHubContext, directory: str, secrets: SecretSet
) -> None:
    """Save the approved plan, stamped, every secret masked, atomically."""
    data = {
        "format": FORMAT,
        "repository": context.repository,
        "commit": context.sha,
        "directory": normalise_directory(directory),
        "plan": plan_to_dict(plan),
    }
    text = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    write_text_atomic(path, secrets.mask(text), parents=True)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise ValueError(f"the key {key!r} appears twice in one object")
        found[key] = value
    return found


def _read_text(path: Path) -> str:
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_PLAN_BYTES + 1)
    except OSError as exc:
        raise ConfigError(
            f"{_INPUT}: cannot read {path}: {exc.strerror}; download the artifact job 1 "
            "uploaded to this path first"
        ) from None
    if len(raw) > MAX_PLAN_BYTES:
        raise ConfigError(f"{_INPUT}: {path} is over {MAX_PLAN_BYTES:,} bytes: not a saved plan")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{_INPUT}: {path} is not UTF-8 text: not a saved plan") from None


def _parse(path: Path) -> dict[str, Any]:
    text = _read_text(path)
    values = text.count(",") + text.count("{") + text.count("[")
    if values > MAX_PLAN_VALUES:
        raise ConfigError(f"{_INPUT}: {path} holds too many JSON values: not a saved plan")
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicates)
    except RecursionError:
        raise ConfigError(f"{_INPUT}: {path} is nested too deeply: not a saved plan") from None
    except ValueError as exc:
        raise ConfigError(f"{_INPUT}: {path} is not valid JSON: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ConfigError(
            f"{_INPUT}: {path} is not a plan saved by command: approve (format {FORMAT!r})"
        )
    if sorted(data) != sorted(_KEYS) or not all(isinstance(data[k], str) for k in _KEYS[:4]):
        raise ConfigError(f"{_INPUT}: {path} does not hold exactly {', '.join(_KEYS)}")
    return data


def read_approved_plan(inputs: ActionInputs, context: GitHubContext) -> ApprovedPlan:
    """Read the plan-file input and refuse a plan approved for another repository, commit or
    directory.

    Raises:
        ConfigError: unreadable, malformed, or stamped for another run's commit or directory;
            the message names the input.
    """
    path = Path(inputs.plan_file)
    data = _parse(path)
    directory = normalise_directory(inputs.directory)
    if data["repository"] != context.repository:
        raise ConfigError(f"{_INPUT}: {path} was approved in another repository")
    if data["commit"] != context.sha:
        raise ConfigError(
            f"{_INPUT}: {path} was approved for commit {short(data['commit'])}, not this run's "
            f"commit {short(context.sha)}: download the plan saved by this run's approve job"
        )
    if data["directory"] != directory:
        raise ConfigError(
            f"{_INPUT}: {path} holds the plan of directory {data['directory']!r}, not of "
            f"{directory!r} (input directory)"
        )
    try:
        plan = plan_from_dict(data["plan"], source=f"{_INPUT} ({path})")
    except InputError as exc:
        raise ConfigError(_CLI_ADVICE.sub("", str(exc))) from None
    return ApprovedPlan(data["repository"], data["commit"], directory, plan)


def check_inputs_for_saved_plan(inputs: ActionInputs) -> None:
    """The saved plan's own filters are applied: only and exclude would contradict them.

    Raises:
        ConfigError: only or exclude is set with plan-file.
    """
    if inputs.only or inputs.exclude:
        raise ConfigError(
            "inputs only and exclude cannot be given with plan-file: the saved plan is applied "
            "with the filters it was approved with; give them to the approve step instead"
        )


def rederive_approved(
    approved: ApprovedPlan,
    inputs: ActionInputs,
    client: TitanClient,
    target: Target,
    environ: Mapping[str, str],
    out: Outbox,
    base: str | None = None,
) -> Plan:
    """The saved plan derived again from the definitions and the live tasks (three-way since
    commit `base` when given): only the fresh changes it asks for exactly.

    Raises:
        StalePlan: made against another Titan, edited, or live moved since it was made.
        ValidationFailed: the definitions are invalid.
    """
    from titan_gitops.pipeline import rederive_saved_plan

    saved = approved.plan
    if saved.target != target.describe():
        raise StalePlan(
            f"the saved plan was made against {saved.target!r}, not {target.describe()}"
        )
    root = Path(inputs.directory)
    if inputs.strict:
        from titan_gitops.commands.validate import validate_strictly

        validate_strictly(root, environ)
    out.log(f"Re-deriving the saved plan (change set {short(saved.change_digest)}) from {root}.")
    plan, fresh = rederive_saved_plan(
        saved,
        root,
        client,
        action_plan_options(inputs, base),
        environ=environ,
        target=target.describe(),
    )
    if len(plan.actionable) < len(fresh.actionable):
        out.warning(
            f"The saved plan holds {len(plan.actionable)} of the {len(fresh.actionable)} "
            "changes the definitions call for now; only those are applied."
        )
    return plan


def refuse_stale(exc: StalePlan, approved: ApprovedPlan, out: Outbox) -> ApplyResult:
    """Say why the saved plan is not applied: nothing was written to Titan."""
    reason = out.secrets.mask(f"Refusing to apply the saved plan: {_CLI_ADVICE.sub('', str(exc))}")
    out.summary(
        f"### ⛔ titan-gitops apply: <code>{escape_code(approved.directory)}</code>\n\n"
        f"**{html.escape(reason)}**\n\nNothing was written to Titan. Run the workflow again to "
        "approve a fresh plan.\n"
    )
    out.error(reason)
    digest = approved.plan.change_digest
    return ApplyResult(
        "refused", reason, exit_codes.ERROR, "failure", digest=digest, needs_issue=True
    )
