"""Running the expectations in order, and the sweeper that removes what the run made.

Safety rules, in order of importance:
- The namespace must be fresh: when any task's name already starts with it, nothing runs (the
  sweeper would otherwise delete tasks this run did not make).
- Every task the run makes is named inside the namespace; the sweeper, in a `finally` (so also on
  a failed check, an unreachable service or Ctrl-C), lists every task and deletes exactly those
  whose name starts with the namespace, plus any id the run was told it created. Executions it
  started and that are still going are stopped (executions cannot be deleted).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import quote

from titan_gitops.errors import ApiError, ConfigError
from titan_gitops.selftest.expectations import (
    Expectation,
    Mismatch,
    NotChecked,
    SelftestContext,
    describe,
)

TASKS = "/api/v1/tasks"
# A listing longer than this is not walked to the end by the sweeper (10,000 tasks).
_SWEEP_PAGES = 100
_PAGE = 100
# What a malformed answer may raise inside a check: a ✗, never a crash.
_SHAPE_ERRORS = (KeyError, TypeError, ValueError, AttributeError, IndexError)


@dataclass(frozen=True)
class Outcome:
    """How one expectation went."""

    expectation: Expectation
    passed: bool
    observed: str
    # False when it could not be checked with what was given (it then neither holds nor fails).
    checked: bool = True


@dataclass
class Cleanup:
    """What the sweeper removed and stopped, and what it could not."""

    removed: list[str] = field(default_factory=list)
    stopped: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class SelftestReport:
    """Every outcome, in order, and the cleanup after them."""

    target: str
    namespace: str
    outcomes: list[Outcome]
    cleanup: Cleanup

    @property
    def passed(self) -> bool:
        """Every expectation held."""
        return all(outcome.passed for outcome in self.outcomes)


def run_selftest(
    ctx: SelftestContext,
    expectations: Sequence[Expectation],
    *,
    announce: Callable[[str], None] | None = None,
) -> SelftestReport:
    """Check the namespace is fresh, run every expectation, then sweep the namespace.

    Raises:
        ConfigError: the namespace is not fresh (nothing was sent but one listing).
        ApiError: the service could not be reached; the sweep was still attempted.
    """
    existing = [name for _, name in list_tasks(ctx)]
    taken = [name for name in existing if name.startswith(ctx.namespace)]
    if taken:
        raise ConfigError(
            f"{len(taken)} task(s) already have a name starting with {ctx.namespace!r}; the "
            "selftest deletes everything in its namespace, so it needs a fresh one: choose "
            "another --namespace, or leave it out for a random one"
        )
    outcomes: list[Outcome] = []
    finished = False
    try:
        for item in expectations:
            ctx.probe.expectation = item.id
            outcomes.append(evaluate(item, ctx))
        finished = True
    finally:
        ctx.probe.expectation = "cleanup"
        cleanup = sweep(ctx)
        if not finished and announce is not None:
            announce(describe_cleanup(cleanup, ctx.namespace))
    return SelftestReport(ctx.probe.origin, ctx.namespace, outcomes, cleanup)


def evaluate(item: Expectation, ctx: SelftestContext) -> Outcome:
    """Run one check: what it observed, and whether that was the expectation."""
    try:
        return Outcome(item, True, item.check(ctx))
    except NotChecked as missing:
        return Outcome(item, True, missing.observed, checked=False)
    except Mismatch as mismatch:
        return Outcome(item, False, mismatch.observed)
    except _SHAPE_ERRORS as exc:
        return Outcome(item, False, f"an answer of an unexpected shape ({type(exc).__name__})")


def list_tasks(ctx: SelftestContext) -> list[tuple[str, str]]:
    """(id, name) of every task, page by page, as far as the service lists them.

    Raises:
        ApiError: a page was refused or is not a list of tasks; the message says which.
    """
    found: list[tuple[str, str]] = []
    for page in range(_SWEEP_PAGES):
        params = {"limit": str(_PAGE), "offset": str(page * _PAGE)}
        answer = ctx.probe.send("GET", TASKS, params=params)
        items = answer.envelope_data()
        if answer.status != 200 or not isinstance(items, list):
            raise ApiError(
                f"listing the tasks answered {describe(answer)}; the selftest lists tasks to "
                "keep to its namespace, so it cannot go on",
                method="GET",
                path=TASKS,
                status=answer.status,
            )
        for item in items:
            if isinstance(item, dict) and isinstance(item.get("id"), str):
                found.append((item["id"], str(item.get("name", ""))))
        if len(items) < _PAGE:
            break
    return found


def sweep(ctx: SelftestContext) -> Cleanup:
    """Stop the run's unfinished executions; delete every task in the namespace. Never raises
    for the service's answers: what could not be done is in `problems`."""
    cleanup = Cleanup()
    try:
        _stop_executions(ctx, cleanup)
        doomed = {ident: name for ident, name in list_tasks(ctx) if name.startswith(ctx.namespace)}
        for ident in ctx.created:
            doomed.setdefault(ident, f"(id {ident})")
        for ident, name in doomed.items():
            answer = ctx.probe.send("DELETE", f"{TASKS}/{quote(ident, safe='')}")
            if 200 <= answer.status < 300:
                cleanup.removed.append(name)
            elif answer.status != 404:
                cleanup.problems.append(f"{name}: DELETE answered {describe(answer)}")
    except ApiError as exc:
        cleanup.problems.append(str(exc))
    return cleanup


def _stop_executions(ctx: SelftestContext, cleanup: Cleanup) -> None:
    for ident in ctx.executions:
        path = f"/api/v1/executions/{quote(ident, safe='')}"
        answer = ctx.probe.send("GET", path)
        data = answer.envelope_data()
        status = data.get("status") if isinstance(data, dict) else None
        if status in ("queued", "running", "paused"):
            stopped = ctx.probe.send("POST", f"{path}/stop", body={})
            if 200 <= stopped.status < 300:
                cleanup.stopped.append(ident)
            else:
                cleanup.problems.append(f"execution {ident}: stop answered {describe(stopped)}")


def describe_cleanup(cleanup: Cleanup, namespace: str) -> str:
    """One line: what the sweeper removed, and what it could not."""
    noun = "task" if len(cleanup.removed) == 1 else "tasks"
    line = f"selftest: removed {len(cleanup.removed)} {noun} named {namespace}*"
    if cleanup.stopped:
        line += f", stopped {len(cleanup.stopped)} execution(s)"
    if cleanup.problems:
        line += f"; could not clean up: {'; '.join(cleanup.problems)}"
    return line
