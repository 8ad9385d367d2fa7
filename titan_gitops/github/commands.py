"""The Action's entry: masks first, then one command (plan, apply, drift, validate), then outputs.

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
from titan_gitops.redact import redact, register_secret

_TOKEN_VARIABLES = ("TG_TOKEN", "TG_GITHUB_TOKEN", "TITAN_TOKEN")


def collect_mask_values(environ: Mapping[str, str]) -> list[str]:
    """The tokens and every TITAN_VAR_* value: all of them are masked before any other output."""
    values = [environ.get(name, "") for name in _TOKEN_VARIABLES]
    values += [v for k, v in sorted(environ.items()) if k.startswith("TITAN_VAR_")]
    return [v for v in values if v.strip()]


def run_action(environ: Mapping[str, str], stream: TextIO | None = None) -> int:
    """Run the command the inputs name; never raises, returns the step's exit code."""
    stream = stream or sys.stdout
    mask_values = collect_mask_values(environ)
    emit_masks(mask_values, stream)
    tokens = [environ.get(name, "").strip() for name in _TOKEN_VARIABLES]
    for token in tokens:
        register_secret(token)
    try:
        context = read_context(environ)
    except ConfigError as exc:
        stream.write(format_annotation(Annotation("error", redact(str(exc)), title="")) + "\n")
        return exit_codes.ERROR
    out = Outbox(context, tokens, stream, masked=mask_values)
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
                f"### ❌ titan-gitops {command} failed\n\n{escape_text(redact(str(exc)))}\n"
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

            sys.stderr.write(redact("".join(traceback.format_exception(exc))))
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
    # Each command imports its machinery only when it runs.
    if inputs.command == "plan":
        from titan_gitops.github.review import run_plan

        return run_plan(inputs, context, out, environ)
    if inputs.command == "apply":
        from titan_gitops.github.merge import run_apply_command

        return run_apply_command(inputs, context, out, environ)
    from titan_gitops.github.drift_issue import run_drift

    return run_drift(inputs, context, out, environ)
