"""The Action's entry: masks first, then one command (plan, apply, approve, drift, validate,
changed), then outputs.

Exit codes: 0 success (a plan with changes included: changes go to the outputs), 1 error or refusal;
drift exits 1 only when drift exists and fail-on-drift is true. Every input and all GitHub context
arrive through the environment; nothing here is passed through a shell.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Mapping
from typing import TextIO

from titan_gitops import exit_codes
from titan_gitops.errors import ConfigError, TitanGitopsError
from titan_gitops.escape import escape_text
from titan_gitops.github.context import ActionInputs, GitHubContext, read_context, read_inputs
from titan_gitops.github.guard import SecretLeak
from titan_gitops.github.outbox import Outbox
from titan_gitops.github.steps import refuse_pull_request_target, run_validate
from titan_gitops.github.workflow import Annotation, emit_masks, format_annotation
from titan_gitops.secrets import SecretSet

_GITHUB_TOKEN_VARIABLES = ("TG_TOKEN", "TG_GITHUB_TOKEN")


def collect_secrets(environ: Mapping[str, str]) -> SecretSet:
    """The Titan and GitHub tokens and every TITAN_VAR_* value: all masked before any output."""
    secrets = SecretSet.from_environ(environ)
    return secrets.with_values(environ.get(name) for name in _GITHUB_TOKEN_VARIABLES)


def run_action(environ: Mapping[str, str], stream: TextIO | None = None) -> int:
    """Run the command the inputs name; never raises, returns the step's exit code."""
    stream = stream or sys.stdout
    secrets = collect_secrets(environ)
    emit_masks(secrets, stream)
    try:
        context = read_context(environ)
    except ConfigError as exc:
        message = secrets.mask(str(exc))
        stream.write(format_annotation(Annotation("error", message, title="")) + "\n")
        return exit_codes.ERROR
    out = Outbox(context, secrets, stream)
    command = "action"
    try:
        inputs = read_inputs(environ)
        command = inputs.command
        code = dispatch_command(inputs, context, out, environ)
    except SecretLeak as exc:
        # Nothing more is posted: the text that would have leaked is dropped whole.
        out.error(str(exc))
        code = exit_codes.ERROR
    except TitanGitopsError as exc:
        out.error(f"titan-gitops {command}: {exc}")
        code = exit_codes.ERROR
        # The error itself is already in the log; a summary that cannot be written adds nothing.
        with contextlib.suppress(SecretLeak, OSError):
            out.summary(
                f"### ❌ titan-gitops {command} failed\n\n{escape_text(secrets.mask(str(exc)))}\n"
            )
    except OSError as exc:
        out.error(
            f"titan-gitops {command}: cannot write {exc.filename or 'a file'}: {exc.strerror}"
        )
        code = exit_codes.ERROR
    except Exception as exc:
        out.error(f"titan-gitops {command}: unexpected error: {type(exc).__name__}")
        if environ.get("RUNNER_DEBUG") == "1":
            # Re-running with debug logging on shows where it broke, secrets still masked.
            import traceback

            sys.stderr.write(secrets.mask("".join(traceback.format_exception(exc))))
        code = exit_codes.ERROR
    out.set_outputs({"exit-code": str(code)})
    try:
        out.flush_outputs()
    except (SecretLeak, OSError):
        out.error("titan-gitops: could not write the step outputs")
        code = exit_codes.ERROR
    return code


def dispatch_command(
    inputs: ActionInputs, context: GitHubContext, out: Outbox, environ: Mapping[str, str]
) -> int:
    """Run one command and return its exit code."""
    if inputs.command == "validate":
        return run_validate(inputs, context, out, environ)
    refuse_pull_request_target(context)
    if inputs.command == "changed":
        from titan_gitops.github.changed import run_changed

        return run_changed(inputs, context, out)
    # Each command imports its machinery only when it runs.
    if inputs.command == "plan":
        from titan_gitops.github.review import run_plan

        return run_plan(inputs, context, out, environ)
    if inputs.command == "apply":
        from titan_gitops.github.merge import run_apply_command

        return run_apply_command(inputs, context, out, environ)
    if inputs.command == "approve":
        from titan_gitops.github.saved_apply import run_approve_command

        return run_approve_command(inputs, context, out, environ)
    from titan_gitops.github.drift_issue import run_drift

    return run_drift(inputs, context, out, environ)
