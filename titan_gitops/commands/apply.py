"""The apply command, and the one signal-aware apply loop the CLI and the Action share."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, NoReturn

from titan_gitops import exit_codes
from titan_gitops.commands.common import (
    Console,
    TargetOptions,
    redraws_in_place,
    resolve_cli_target,
    use_colour,
)

if TYPE_CHECKING:
    from types import FrameType

    from titan_gitops.client import TitanClient
    from titan_gitops.model import ApplyReport, Outcome, Plan, Progress
    from titan_gitops.plan import PlanOptions
    from titan_gitops.settings import Target


@dataclass(frozen=True)
class ApplyCommandOptions:
    """`titan-gitops apply [DIR] [--plan FILE]`."""

    # Kept as given: with --plan, an empty DIR means "the plan's own directory".
    directory: str | None
    target: TargetOptions
    planning: PlanOptions
    plan_file: str | None = None
    auto_approve: bool = False
    parallelism: int = 4
    output: Literal["text", "json"] = "text"
    no_color: bool = False


_OVERWRITE = "pass --overwrite-live-edits"


def apply_changes(options: ApplyCommandOptions, console: Console) -> int:
    """Plan (or read a saved plan), confirm, apply, and report every outcome."""
    from titan_gitops.connect import open_client
    from titan_gitops.errors import ConfigError
    from titan_gitops.render.report import render_report_json, render_report_text
    from titan_gitops.render.text import render_plan_text
    from titan_gitops.threeway import refuse_live_edits

    if options.plan_file is None and options.directory is None:
        raise ConfigError("give a definitions directory, or --plan FILE to apply a saved plan")
    target = resolve_cli_target(options.target)
    colour = use_colour(options.no_color)
    with open_client(target, secrets=console.secrets, announce=console.warn) as client:
        plan = _read_or_make_plan(options, client, target, console)
        if options.output != "json":
            console.write(render_plan_text(plan, colour=colour, mask=console.secrets.mask))
        if not plan.has_changes:
            return exit_codes.OK
        # Before anyone is asked: a plan that would throw away edits made in Titan is refused.
        refuse_live_edits(plan, how_to_overwrite=_OVERWRITE)
        if options.plan_file is None and not options.auto_approve and not _confirm_apply():
            console.warn("Apply cancelled.")
            return exit_codes.ERROR
        report = apply_with_signals(
            plan,
            client,
            environ=os.environ,
            parallelism=options.parallelism,
            progress=_make_terminal_progress(console),
            on_first_signal=lambda: console.warn(_STOPPING),
            announce=console.warn,
        )
    if options.output == "json":
        console.write(render_report_json(report))
    else:
        console.write(render_report_text(report))
    return exit_codes.OK if report.ok else exit_codes.ERROR


def apply_with_signals(
    plan: Plan,
    client: TitanClient,
    *,
    environ: Mapping[str, str],
    parallelism: int,
    progress: Progress,
    on_first_signal: Callable[[], None] | None = None,
    announce: Callable[[str], None] | None = None,
    how_to_overwrite: str = _OVERWRITE,
) -> ApplyReport:
    """Apply `plan` while holding the namespace's lease, so no other apply acts at the same time.

    The freshness check runs inside the lease, on the live tasks as the listing that won the
    lease read them (made after this run's lease was created, with no older one in the way; a
    listing that moved while it was read wins nothing): a run that waited for another finds live
    moved and refuses as stale rather than creating duplicates or overwriting. SIGINT or SIGTERM
    lets no new change start, and the report still comes back (the first signal calls
    `on_first_signal`); a second one exits at once with INTERRUPTED. `announce` hears about
    waiting for, or losing, the lease. The handlers in place before are restored after. Must run
    on the main thread.

    Raises:
        LiveEditsRefused: the plan would throw away edits made in Titan since its base, and was
            not made allowing that (`how_to_overwrite` says how to allow it).
        LeaseError: another apply held the lease for longer than TITAN_GITOPS_LEASE_WAIT.
        ConfigError: TITAN_GITOPS_LEASE_WAIT is not a number of seconds.
    """
    import signal
    import threading

    from titan_gitops.lease import hold_lease, lease_wait_from
    from titan_gitops.pipeline import run_apply

    wait = lease_wait_from(environ)
    stop = threading.Event()
    signals: list[int] = []

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        signals.append(signum)
        if len(signals) > 1:
            _exit_at_once()
        if on_first_signal is not None:
            on_first_signal()
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        with hold_lease(
            client, plan.namespace, wait_seconds=wait, stop=stop, announce=announce
        ) as lease:
            return run_apply(
                plan,
                client,
                live=lease.live,
                parallelism=parallelism,
                progress=progress,
                stop=stop,
                how_to_overwrite=how_to_overwrite,
            )
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


_INTERRUPTED_AGAIN = (
    b"\nInterrupted again: stopping now; some changes may be incomplete. "
    b"Run plan to see where things stand.\n"
)


def _exit_at_once() -> NoReturn:
    """The second signal: no waiting for requests in flight, no cleanup (the lease expires).

    A raw write and `os._exit`: the signal may have landed mid-write on stderr, or while worker
    threads hold the client, so nothing that takes a lock can run here.
    """
    with contextlib.suppress(OSError):
        os.write(2, _INTERRUPTED_AGAIN)
    os._exit(exit_codes.INTERRUPTED)


def _read_or_make_plan(
    options: ApplyCommandOptions, client: TitanClient, target: Target, console: Console
) -> Plan:
    """The plan to apply: made now, or a saved plan re-derived now.

    A saved plan is a request: it is refused when made against another target, and otherwise
    derived again from the definitions and the live tasks, only the fresh changes it matches kept.
    """
    from titan_gitops.errors import ConfigError, StalePlan
    from titan_gitops.pipeline import make_plan, rederive_saved_plan
    from titan_gitops.planfile import read_plan_file

    if options.plan_file is None:
        assert options.directory is not None  # apply_changes refuses neither plan nor directory
        return make_plan(
            Path(options.directory),
            client,
            options.planning,
            environ=os.environ,
            target=target.describe(),
        )
    if options.planning.filtered:
        raise ConfigError(
            "--only and --exclude cannot be given with --plan: the saved plan's own filters "
            "are used; leave them out, or run plan again with them"
        )
    saved = read_plan_file(Path(options.plan_file))
    if saved.target != target.describe():
        made = repr(saved.target) if saved.target else "no recorded target"
        raise StalePlan(
            f"the saved plan was made against {made}, not {target.describe()}; "
            "run plan again against this target"
        )
    root = choose_saved_plan_root(saved.directory, options.directory)
    if options.directory and not _same_folder(saved.directory, root):
        console.warn(
            f"warning: the plan was made from {saved.directory!r}, not {options.directory!r}; "
            "it is re-derived from DIR, and only changes identical to the saved ones apply"
        )
    console.warn(f"Re-deriving the saved plan from the definitions in {root} and the live tasks.")
    plan, fresh = rederive_saved_plan(
        saved, root, client, options.planning, environ=os.environ, target=target.describe()
    )
    if len(plan.actionable) < len(fresh.actionable):
        console.warn(
            f"The saved plan holds {len(plan.actionable)} of the {len(fresh.actionable)} changes "
            "the definitions call for now; only those are applied."
        )
    return plan


def choose_saved_plan_root(recorded: str, given: str | None) -> Path:
    """The definitions directory a saved plan is re-derived from: DIR, else the recorded one.

    The recorded directory comes from the file, so it is used only when it is a relative path
    that stays inside the current directory.

    Raises:
        ConfigError: no DIR was given and the recorded directory is absolute, climbs out with
            `..`, or leads outside through a symbolic link.
    """
    from titan_gitops.errors import ConfigError

    if given:
        return Path(given)
    path = Path(recorded)
    inside = bool(recorded) and not path.is_absolute() and ".." not in path.parts
    if inside:
        try:
            inside = path.resolve().is_relative_to(Path.cwd().resolve())
        except (OSError, RuntimeError):  # a symbolic link loop
            inside = False
    if not inside:
        raise ConfigError(
            f"the saved plan records the definitions directory {recorded!r}, which is not a "
            "relative path inside the current directory: give the definitions directory as "
            "DIR (titan-gitops apply --plan FILE DIR)"
        )
    return path


def _same_folder(recorded: str, given: Path) -> bool:
    """True when the plan's recorded directory and DIR name the same folder from here."""
    try:
        return bool(recorded) and Path(recorded).resolve() == given.resolve()
    except (OSError, RuntimeError):  # a symbolic link loop
        return False


def _confirm_apply() -> bool:
    """Ask on the terminal; only 'yes' applies.

    Raises:
        ConfigError: stdin is not a terminal, so nobody could answer.
    """
    from titan_gitops.errors import ConfigError

    if not sys.stdin.isatty():
        raise ConfigError(
            "refusing to apply without confirmation: stdin is not a terminal; "
            "pass --auto-approve, or apply a reviewed plan with --plan FILE"
        )
    sys.stderr.write("\nApply these changes? Only 'yes' is accepted: ")
    sys.stderr.flush()
    try:
        answer = input()
    except EOFError:
        return False
    return answer.strip() == "yes"


_STOPPING = "\nstopping: no new changes start; waiting for those in flight"


def _make_terminal_progress(console: Console) -> Progress:
    """One line per outcome; on a terminal, each overwrites the last."""
    from titan_gitops.render.report import describe_outcome

    interactive = redraws_in_place()

    def progress(outcome: Outcome, done: int, total: int) -> None:
        line = f"[{done}/{total}] {describe_outcome(outcome)}"
        if interactive:
            console.status("\r\x1b[K" + line + ("\n" if done == total else ""))
        else:
            console.warn(line)

    return progress
