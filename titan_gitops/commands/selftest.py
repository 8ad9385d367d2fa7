"""The selftest command: check this tool's expectations of the Task Service against a target."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from titan_gitops import exit_codes
from titan_gitops.commands.common import Console, TargetOptions, resolve_cli_target

DEFAULT_PREFIX = "titan-gitops-selftest-"
# A prefix this short could match real task names; the freshness check is the real guard.
MIN_NAMESPACE = 8


@dataclass(frozen=True)
class SelftestCommandOptions:
    """`titan-gitops selftest [--namespace PREFIX] [--output text|json] [--record DIR]`."""

    target: TargetOptions
    namespace: str | None = None
    output: Literal["text", "json"] = "text"
    record: str | None = None


def default_namespace() -> str:
    """`titan-gitops-selftest-<random>-`: a throwaway prefix no other run will share."""
    return f"{DEFAULT_PREFIX}{secrets.token_hex(4)}-"


def namespace_problem(text: str) -> str | None:
    """Why `text` cannot be the selftest's namespace, or None."""
    if len(text.strip()) < MIN_NAMESPACE:
        return f"the namespace must be at least {MIN_NAMESPACE} characters, to name only its tasks"
    if text != text.strip() or not text.isprintable():
        return "the namespace must be printable, without leading or trailing spaces"
    return None


def check_service(options: SelftestCommandOptions, console: Console) -> int:
    """Run every expectation against the target; exit 0 when all hold, 1 when any does not."""
    from titan_gitops.atomic import check_folder_target
    from titan_gitops.escape import escape_json_text
    from titan_gitops.selftest import EXPECTATIONS, SelftestContext, run_selftest
    from titan_gitops.selftest.record import ExchangeRecorder
    from titan_gitops.selftest.report import render_report_json, render_report_text
    from titan_gitops.selftest.session import open_probe

    target = resolve_cli_target(options.target)
    recorder = None
    if options.record:
        # Before the service is read: exchanges that cannot be kept are not worth making.
        check_folder_target(Path(options.record))
        recorder = ExchangeRecorder(Path(options.record), console.secrets)
    # The scopes check needs a second, read-only token: from the environment only (a flag would
    # show it in process lists).
    given = os.environ.get("TITAN_SELFTEST_READ_TOKEN") or None
    probe, token, read_token = open_probe(target, on_exchange=recorder, read_token=given)
    tokens = [value for value in (token, read_token, given) if value]
    console.add_secrets(tokens)
    if recorder is not None:
        recorder.add_secrets(tokens)
    if target.is_embedded:
        console.warn(
            "titan-gitops: selftest against a fresh in-memory emulator (your .titan-local state "
            "is not touched); set TITAN_API_URL and TITAN_TOKEN, or --api-url and --token, to "
            "check a Titan tenant."
        )
    ctx = SelftestContext(
        probe, options.namespace or default_namespace(), token, read_token=read_token
    )
    try:
        report = run_selftest(ctx, EXPECTATIONS, announce=console.warn)
    finally:
        probe.close()
    if options.output == "json":
        console.write(escape_json_text(render_report_json(report)))
    else:
        console.write(render_report_text(report))
    if recorder is not None:
        console.warn(f"Recorded {recorder.count} exchanges in {options.record}.")
    if not report.passed or report.cleanup.problems:
        return exit_codes.ERROR
    return exit_codes.OK
