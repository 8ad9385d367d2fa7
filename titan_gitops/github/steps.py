"""Steps the Action's commands share: refusals, the Titan target, outputs, plan file, validate."""

from __future__ import annotations

import re
import tempfile
import urllib.parse
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from titan_gitops import exit_codes
from titan_gitops.errors import ConfigError, Problem, ValidationFailed
from titan_gitops.escape import escape_code, escape_text
from titan_gitops.github.context import ActionInputs, GitHubContext
from titan_gitops.github.outbox import Outbox
from titan_gitops.github.rest import GitHubRest
from titan_gitops.github.sticky import normalise_directory

if TYPE_CHECKING:
    from titan_gitops.client import TitanClient
    from titan_gitops.defcache import DefinitionCache
    from titan_gitops.model import Plan, PlanPreviews
    from titan_gitops.plan import PlanOptions
    from titan_gitops.render.sections import Link
    from titan_gitops.settings import Target

# The plan's share of the step summary, in UTF-8 bytes (render_plan_markdown counts bytes); the
# rest of the 1 MiB limit is left for the notes, the verdict and the apply report.
SUMMARY_PLAN_CHARS = 900_000


def refuse_pull_request_target(context: GitHubContext) -> None:
    """Refuse `pull_request_target`: it hands secrets to a run a pull request can steer.

    Raises:
        ConfigError: always, for that event.
    """
    if context.event_name == "pull_request_target":
        raise ConfigError(
            "refusing to run on pull_request_target: it runs with the repository's secrets and "
            "write token while a pull request controls the definitions; use pull_request"
        )


def resolve_action_target(inputs: ActionInputs, environ: Mapping[str, str]) -> Target:
    """The Titan target from the inputs; an empty api-url is an error, never the emulator.

    Raises:
        ConfigError: no api-url, no token, or a malformed URL.
    """
    from titan_gitops.settings import normalise_api_url, resolve_target

    if not inputs.api_url:
        raise ConfigError(
            "input api-url is empty: set it to the Titan API origin (for example "
            "https://api.webscraping.titannet.io); the Action never plans against the embedded "
            "emulator by accident"
        )
    # Checked here first so that a message names the input, not a CLI flag.
    normalise_api_url(inputs.api_url, "input api-url")
    if not (inputs.token or environ.get("TITAN_TOKEN", "").strip()):
        raise ConfigError(
            "input token is empty: set it to the Titan API token, for example "
            "token: ${{ secrets.TITAN_TOKEN }}"
        )
    if inputs.auth_header:
        environ = {**environ, "TITAN_AUTH_HEADER": inputs.auth_header}
    return resolve_target(environ, api_url=inputs.api_url, token=inputs.token)


def open_github(
    inputs: ActionInputs, context: GitHubContext, out: Outbox | None = None
) -> GitHubRest | None:
    """A GitHub REST client, or None when no github-token was given; its rate-limit waits are
    logged through `out`.

    Raises:
        ConfigError: GITHUB_API_URL would send the token in clear text off this machine.
    """
    if not inputs.github_token:
        return None
    parts = urllib.parse.urlsplit(context.api_url)
    loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
    if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
        raise ConfigError("GITHUB_API_URL must be https (plain http only on loopback)")
    notify = out.log if out is not None else None
    return GitHubRest(context.api_url, inputs.github_token, context.repository, notify=notify)


def save_plan(plan: Plan, out: Outbox, kind: str, directory: str) -> Path:
    """Write the plan JSON under RUNNER_TEMP and return its path (the plan-json output)."""
    from titan_gitops.planfile import write_plan_file

    base = out.context.temp_dir or Path(tempfile.gettempdir())
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", normalise_directory(directory)).strip("-.") or "root"
    path = base / "titan-gitops" / f"{kind}-{slug}.json"
    write_plan_file(path, plan, secrets=out.secrets)
    return path


def make_action_plan(
    client: TitanClient,
    inputs: ActionInputs,
    target: Target,
    environ: Mapping[str, str],
    base: str | None = None,
    cache: DefinitionCache | None = None,
) -> Plan:
    """The plan of the Action's directory, with the Action's deletion allowance; three-way
    since commit `base` when given (github/base.py finds it). `cache`: the validated-definitions
    cache a plan for review reuses; applying passes none, so it validates everything afresh."""
    from titan_gitops.pipeline import make_plan

    root = Path(inputs.directory)
    if inputs.strict:
        from titan_gitops.commands.validate import validate_strictly

        validate_strictly(root, environ)
    options = action_plan_options(inputs, base)
    return make_plan(root, client, options, environ=environ, target=target.describe(), cache=cache)


def action_plan_options(inputs: ActionInputs, base: str | None = None) -> PlanOptions:
    """The planning options the Action's inputs give (and the base, when one was found)."""
    from titan_gitops.plan import PlanOptions

    return PlanOptions(
        only=inputs.only,
        exclude=inputs.exclude,
        allow_deletes=inputs.allow_deletes,
        allow_empty=inputs.allow_empty,
        base=base,
        overwrite_live_edits=inputs.overwrite_live_edits,
        action_inputs=True,
    )


def publish_plan(
    plan: Plan,
    out: Outbox,
    inputs: ActionInputs,
    *,
    drift: bool = False,
    previews: PlanPreviews | None = None,
) -> None:
    """Save the plan (masked, previews left out), log it with any previews, and set the counting
    outputs."""
    from titan_gitops.render.text import render_plan_text

    path = save_plan(plan, out, "drift" if drift else "plan", inputs.directory)
    out.log(render_plan_text(plan, drift=drift, mask=out.secrets.mask, previews=previews))
    outputs = plan_outputs(plan, path)
    if drift:
        outputs["drift"] = "true" if plan.has_changes else "false"
    out.set_outputs(outputs)


def plan_outputs(plan: Plan, path: Path) -> dict[str, str]:
    """The counting outputs every planning command sets."""
    counts = plan.counts()
    return {
        "has-changes": "true" if plan.has_changes else "false",
        "creates": str(counts["create"]),
        "updates": str(counts["update"]),
        "renames": str(counts["rename"]),
        "deletes": str(counts["delete"]),
        "plan-json": str(path),
    }


def report_invalid(exc: ValidationFailed, out: Outbox, root: Path, title: str) -> int:
    """Annotate and summarise invalid definitions; returns the exit code."""
    problems: list[Problem] = exc.problems if isinstance(exc, ValidationFailed) else [exc.problem]
    out.report_problems(problems, root, title=title)
    out.error(f"{title}: {exc}")
    return exit_codes.ERROR


# --- validate ------------------------------------------------------------------------------------


def run_validate(
    inputs: ActionInputs,
    context: GitHubContext,
    out: Outbox,
    environ: Mapping[str, str],
    *,
    note: str = "",
) -> int:
    """Validate the definitions offline: annotations and a summary."""
    from titan_gitops.pipeline import validate_directory

    root = Path(inputs.directory)
    where = normalise_directory(inputs.directory)
    if note:
        out.warning(note)
        out.summary(f"> **Note:** {escape_text(note)}\n")
    try:
        if inputs.strict:
            from titan_gitops.commands.validate import validate_strictly

            state = validate_strictly(root, environ)
        else:
            from titan_gitops.defcache import open_cache

            state = validate_directory(root, environ=environ, cache=open_cache(environ))
    except ValidationFailed as exc:
        return report_invalid(exc, out, root, f"titan-gitops validate: {where} is invalid")
    if state.warnings:
        out.report_problems(list(state.warnings), root, title=f"titan-gitops validate: {where}")
    tasks, templates = len(state.tasks), len(state.templates)
    line = f"{tasks} task{'s' * (tasks != 1)}, {templates} template{'s' * (templates != 1)}: valid."
    out.log(f"{where}: {line}")
    out.summary(f"### ✅ titan-gitops validate: <code>{escape_code(where)}</code>\n\n{line}\n")
    return exit_codes.OK


def source_links(context: GitHubContext) -> Link | None:
    """Links from a definition's path to the file at the reviewed commit, when it is known."""
    from titan_gitops.render.sections import link_to

    sha = context.pull_head_sha or context.sha
    if not (context.server_url and context.repository and sha):
        return None
    return link_to(f"{context.server_url}/{context.repository}/blob/{sha}/")
