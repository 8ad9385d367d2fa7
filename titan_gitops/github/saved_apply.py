"""`command: approve`, job 1 of the two-job apply: on a push to the default branch, run apply's
order check and approval check, write nothing to Titan and record no deployment, and save the
approved plan for job 2 (`command: apply` with `plan-file`), which runs behind the protected
environment whose reviewers read this job's summary before they let it apply.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from titan_gitops import exit_codes
from titan_gitops.errors import LiveEditsRefused, ValidationFailed
from titan_gitops.escape import escape_code, escape_text
from titan_gitops.github.base import base_of_deployment, plan_with_base
from titan_gitops.github.context import ActionInputs, GitHubContext
from titan_gitops.github.deployments import check_order, environment_name, short
from titan_gitops.github.merge import (
    HOW_TO_OVERWRITE,
    check_approval,
    refuse_out_of_order,
    require_default_branch_push,
    require_github,
    summarise_verdict,
)
from titan_gitops.github.outbox import Outbox
from titan_gitops.github.saved_plan import default_plan_path, write_approved_plan
from titan_gitops.github.steps import (
    make_action_plan,
    publish_plan,
    report_invalid,
    resolve_action_target,
)
from titan_gitops.github.sticky import normalise_directory
from titan_gitops.threeway import refuse_live_edits


def run_approve_command(
    inputs: ActionInputs, context: GitHubContext, out: Outbox, environ: Mapping[str, str]
) -> int:
    """Check that the commit may be applied and that its plan was reviewed; save the plan.

    Exit 0 with the plan saved (outputs plan-file, change-digest, has-changes, approved true);
    exit 1 with nothing saved when the commit is out of order or the plan was not reviewed.
    """
    from titan_gitops.connect import open_client

    require_default_branch_push(context, "approve")
    target = resolve_action_target(inputs, environ)
    rest = require_github(inputs, context, "find the reviewed plan", out)
    where = normalise_directory(inputs.directory)
    title = f"titan-gitops approve: {where}"
    out.set_outputs({"approved": "false"})
    with rest:
        order = check_order(rest, context, environment_name(inputs))
        if order.refusal:
            return refuse_out_of_order(order.refusal, inputs, out).code
        last_sha = order.last.sha if order.last is not None else ""
        environment = environment_name(inputs)
        base = base_of_deployment(inputs, order.last, environment)
        with open_client(target, secrets=out.secrets) as client:
            try:
                plan = plan_with_base(
                    lambda sha: make_action_plan(client, inputs, target, environ, sha),
                    base,
                    out,
                    environment,
                )
            except ValidationFailed as exc:
                return report_invalid(exc, out, Path(inputs.directory), f"{title}: invalid")
        publish_plan(plan, out, inputs)
        out.set_outputs({"change-digest": plan.change_digest})
        verdict = check_approval(plan, inputs, context, rest, last_sha)
    summarise_verdict(plan, title, verdict, out)
    if not verdict.approved:
        out.error(verdict.message)
        out.summary("\nNo plan was saved: the apply job has nothing to apply.\n")
        return exit_codes.ERROR
    try:
        # The apply job would refuse it: say so here, before anyone approves the environment.
        refuse_live_edits(plan, how_to_overwrite=HOW_TO_OVERWRITE)
    except LiveEditsRefused as exc:
        message = out.secrets.mask(str(exc))
        out.error(message)
        out.summary(f"\n⛔ **{escape_text(message)}**\n\nNo plan was saved.\n")
        return exit_codes.ERROR
    out.log(verdict.message)
    path = Path(inputs.plan_file) if inputs.plan_file else default_plan_path(context, where)
    write_approved_plan(path, plan, context, where, out.secrets)
    out.set_outputs({"plan-file": str(path), "approved": "true"})
    out.summary(
        f"\nSaved for the apply job: change set <code>{escape_code(short(plan.change_digest))}"
        f"</code> of commit <code>{escape_code(short(context.sha))}</code>. It applies exactly "
        "these changes, or nothing if live tasks change first.\n"
    )
    out.log(f"approved plan saved to {path}")
    return exit_codes.OK
