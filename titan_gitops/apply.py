"""Stage: carry out exactly a Plan through the client, safely, and report every outcome truthfully.

Order and guards (DESIGN.md "Identity, ownership, safety"):

    stale check ──▶ creates ──▶ updates + renames ──▶ deletes ──▶ convergence check
                     (parallel within a step; a step starts only when the previous one ended;
                      deletes run only if every earlier change succeeded)

A create whose outcome is unknown (the connection dropped after sending) is never re-sent blindly:
the live listing is read again and the task adopted by name if it exists.

A refused token (401, 403) refuses every change alike: the first refusal stops the apply at once,
and every change not yet started is reported as not attempted.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from titan_gitops.diff import diff_bodies, normalise_task
from titan_gitops.errors import (
    ApiError,
    AuthError,
    NotFound,
    OutcomeUnknown,
    StalePlan,
    TitanGitopsError,
    format_listing,
)
from titan_gitops.fetch import fetch_tasks
from titan_gitops.fingerprint import (
    change_digest,
    change_key,
    fingerprint,
    hide_pointers,
    is_sensitive_placeholder,
    scope_digest,
    scope_of,
)
from titan_gitops.model.live import LiveTask
from titan_gitops.model.plan import Action, Change, FieldChange, Fingerprint, Plan
from titan_gitops.model.report import ApplyReport, Outcome, Progress, Status
from titan_gitops.pointers import get_pointer, remove_pointer

if TYPE_CHECKING:
    from titan_gitops.client import TitanClient


# --- the stale check, and a saved plan against the fresh one -----------------------------------


def check_plan_is_fresh(plan: Plan, live: Iterable[LiveTask]) -> None:
    """Refuse a plan whose live objects moved since it was made.

    Raises:
        StalePlan: naming every task that was edited, deleted or appeared in scope.
    """
    current = scope_of(plan.namespace, plan.managed_names, live)
    hidden = {fp.task_id: fp.hidden for fp in plan.fingerprints}
    now = [
        fingerprint(t, normalise_task(t.body), hidden=hidden.get(t.task_id, ())) for t in current
    ]
    moved = _describe_moved(plan.fingerprints, now)
    if not moved and scope_digest(current) != plan.scope_digest:
        moved.append("the set of tasks in the plan's scope changed")
    _refuse_if_moved(moved)


def _describe_moved(planned: Iterable[Fingerprint], now: Iterable[Fingerprint]) -> list[str]:
    """One line per task edited, deleted or new in scope between two readings."""
    by_id = {fp.task_id: fp for fp in now}
    seen = {fp.task_id for fp in planned}
    moved: list[str] = []
    for fp in planned:
        current = by_id.get(fp.task_id)
        if current is None:
            moved.append(f"task '{fp.name}' (id {fp.task_id}) no longer exists")
        elif current != fp:
            moved.append(
                f"task '{fp.name}' (id {fp.task_id}) was changed "
                f"(updated_at {fp.updated_at} → {current.updated_at})"
            )
    moved.extend(
        f"task '{fp.name}' (id {fp.task_id}) appeared in the plan's scope"
        for fp in by_id.values()
        if fp.task_id not in seen
    )
    return moved


def _refuse_if_moved(moved: list[str]) -> None:
    if moved:
        raise StalePlan(
            format_listing(
                "the saved plan is stale; live tasks changed since it was made",
                moved,
                "Run plan again.",
            )
        )


def match_saved_plan(saved: Plan, fresh: Plan) -> Plan:
    """The fresh plan cut down to the changes `saved` asks for, each one of the fresh changes.

    `fresh` was derived now from the definitions and the live tasks, so namespace, protection,
    the deletion allowance, ids and sensitive values all come from it, never from the file; what
    is applied is the fresh changes, clear sensitive values at the pointers the fresh plan marks.

    Raises:
        StalePlan: the saved plan was edited, was made for another namespace, read live tasks
            that have moved since, or asks for a change the fresh plan does not hold.
    """
    if change_digest(saved.changes) != saved.change_digest:
        raise StalePlan(
            "the saved plan's changes do not match its change_digest: it was edited after it "
            "was made; nothing was applied; run plan again"
        )
    if saved.namespace != fresh.namespace:
        raise StalePlan(
            f"the saved plan was made for namespace {saved.namespace!r}, but the definitions in "
            f"{fresh.directory} declare {fresh.namespace!r}; nothing was applied; run plan again"
        )
    moved = _describe_moved(saved.fingerprints, fresh.fingerprints)
    if not moved and saved.scope_digest != fresh.scope_digest:
        moved.append("the set of tasks in the plan's scope changed")
    _refuse_if_moved(moved)
    wanted = {change_key(c) for c in saved.actionable}
    needed = {change_key(c) for c in fresh.actionable}
    unmatched = [c for c in saved.actionable if change_key(c) not in needed]
    if unmatched:
        described = "; ".join(_describe_mismatch(c, fresh) for c in unmatched)
        raise StalePlan(
            f"the saved plan asks for {len(unmatched)} change{'s' * (len(unmatched) != 1)} "
            f"that the definitions in {fresh.directory} and the live tasks do not call for "
            f"now: {described}. The file was edited, or made from other definitions: "
            "nothing was applied; run plan again"
        )
    if len(wanted) != len(saved.actionable):
        raise StalePlan(
            "the saved plan lists one change twice; nothing was applied; run plan again"
        )
    kept = tuple(c for c in fresh.changes if c.action is Action.NO_OP or change_key(c) in wanted)
    return replace(fresh, changes=kept, change_digest=change_digest(kept))


def _describe_mismatch(change: Change, fresh: Plan) -> str:
    """A saved change no fresh one matches, and how the nearest fresh one differs."""
    text = _describe_change(change)
    near = [c for c in fresh.actionable if (c.action, c.name) == (change.action, change.name)]
    if not near:
        return text
    if all(c.task_id != change.task_id for c in near):
        return text + f", where the definitions call for {_describe_change(near[0])}"
    return text + ", whose fields or request body differ from what the definitions call for"


def _describe_change(change: Change) -> str:
    """`update 'shop-a' (id 42)`, `rename 'shop-b' from 'shop-old' (id 7)`: for messages."""
    text = f"{change.action.value} {change.name!r}"
    if change.previous_name is not None:
        text += f" from {change.previous_name!r}"
    return text + (f" (id {change.task_id})" if change.task_id is not None else "")


def check_no_stand_ins(plan: Plan) -> None:
    """Refuse a plan that would send a saved plan's `{"sensitive": true}` stand-in as a value.

    Raises:
        StalePlan: a saved plan reached apply without being re-derived (`apply --plan` does that).
    """
    for change in plan.actionable:
        for pointer in sorted(change.sensitive_pointers):
            if is_sensitive_placeholder(get_pointer(change.request_body, pointer)):
                raise StalePlan(
                    f"{_describe_change(change)} holds a saved plan's stand-in at {pointer}, not "
                    "the value: a saved plan is applied only through 'apply --plan', which "
                    "re-derives it; run plan again"
                )


# --- carrying out ------------------------------------------------------------------------------


# Guards the first refusal: only one outcome tells it whole.
_REFUSAL_LOCK = threading.Lock()
REFUSED = "not attempted: the service refused the token on an earlier change"


class _Runner:
    def __init__(self, client: TitanClient, stop: threading.Event) -> None:
        self.client = client
        self.stop = stop
        self.refused = threading.Event()
        # The answer to each applied create or update (by id of its change): the task as stored.
        self.answers: dict[int, dict[str, Any]] = {}

    def _applied(self, change: Change, answer: dict[str, Any]) -> Outcome:
        self.answers[id(change)] = answer
        return Outcome(change, Status.APPLIED, task_id=str(answer.get("id")))

    def run(self, change: Change) -> Outcome:
        if self.stop.is_set():
            return Outcome(change, Status.SKIPPED, "not started: interrupted")
        if self.refused.is_set():
            return Outcome(change, Status.SKIPPED, REFUSED, change.task_id)
        try:
            return self._act(change)
        except AuthError as exc:
            return self._refuse(change, exc)
        except TitanGitopsError as exc:
            return Outcome(change, Status.FAILED, str(exc), change.task_id)

    def _refuse(self, change: Change, exc: AuthError) -> Outcome:
        """The first refusal is told whole; one in flight beside it only says it was refused."""
        with _REFUSAL_LOCK:
            first = not self.refused.is_set()
            self.refused.set()
        why = str(exc) if first else f"refused as well (HTTP {exc.status})"
        return Outcome(change, Status.FAILED, why, change.task_id)

    def _act(self, change: Change) -> Outcome:
        if change.action is Action.CREATE:
            return self._create(change)
        if change.action in (Action.UPDATE, Action.RENAME):
            assert change.task_id is not None
            record = self.client.update_task(change.task_id, change.request_body or {})
            return self._applied(change, record.body())
        if change.action is Action.DELETE:
            assert change.task_id is not None
            try:
                self.client.delete_task(change.task_id)
            except NotFound:
                return Outcome(change, Status.APPLIED, "already gone", change.task_id)
            return Outcome(change, Status.APPLIED, task_id=change.task_id)
        return Outcome(change, Status.SKIPPED, "nothing to do", change.task_id)

    def _create(self, change: Change) -> Outcome:
        body = change.request_body or {}
        try:
            return self._applied(change, self.client.create_task(body).body())
        except OutcomeUnknown as exc:
            first_error = str(exc)
            may_still_land = exc.may_still_land
        # The create may or may not have happened, and a request the client stopped waiting for may
        # still commit on the server: then give it time to land and look again before sending it
        # again, and afterwards remove a copy that landed late all the same.
        settle = min(2 * self.client.timeout, _SETTLE_CAP_SECONDS) if may_still_land else 0.0
        for look in range(2 if may_still_land else 1):
            if look and self.stop.wait(settle):
                return Outcome(change, Status.FAILED, "interrupted while the outcome was unknown")
            try:
                found = self._live_with_name(change.name)
            except ApiError as exc:
                return Outcome(
                    change,
                    Status.FAILED,
                    f"outcome unknown ({first_error}) and the re-list failed: {exc}",
                )
            if len(found) > 1:
                ids = ", ".join(found)
                return Outcome(
                    change, Status.FAILED, f"several live tasks now have this name: {ids}"
                )
            if found:
                return Outcome(
                    change, Status.RECONCILED, "outcome was unknown; found live, adopted", found[0]
                )
        try:
            record = self.client.create_task(body)
        except TitanGitopsError as exc:
            return Outcome(change, Status.FAILED, f"outcome unknown twice: {exc}")
        task_id = str(record.body().get("id"))
        note = self._remove_late_copies(change.name, task_id, settle) if may_still_land else ""
        return Outcome(
            change,
            Status.RECONCILED,
            f"outcome was unknown; not found live, created again{note}",
            task_id,
        )

    def _live_with_name(self, name: str) -> list[str]:
        # The checked listing: one that changed while being read could miss the task and so
        # cause the very duplicate this look is meant to prevent.
        return [t.task_id for t in fetch_tasks(self.client) if t.name == name]

    def _remove_late_copies(self, name: str, keep: str, settle: float) -> str:
        """Delete a copy the first, unknown create made after all; it holds the same body.

        No live task had this name when the plan was made and checked, so every other task with
        it now came from this apply's own first request.
        """
        self.stop.wait(settle)
        try:
            extra = [i for i in self._live_with_name(name) if i != keep]
            for task_id in extra:
                self.client.delete_task(task_id)
        except TitanGitopsError as exc:
            return f"; a late copy may exist (check failed: {exc})"
        return (
            f"; removed {len(extra)} late cop{'y' if len(extra) == 1 else 'ies'}" if extra else ""
        )


def _run_step(
    runner: _Runner,
    changes: list[Change],
    parallelism: int,
    progress: Progress | None,
    done: list[Outcome],
    total: int,
) -> list[Outcome]:
    lock = threading.Lock()

    def one(change: Change) -> Outcome:
        outcome = runner.run(change)
        with lock:
            done.append(outcome)
            if progress is not None:
                progress(outcome, len(done), total)
        return outcome

    with ThreadPoolExecutor(max_workers=max(1, parallelism)) as pool:
        return list(pool.map(one, changes))


def _verify(
    client: TitanClient, outcomes: Iterable[Outcome], answers: dict[int, dict[str, Any]]
) -> tuple[bool, list[tuple[str, tuple[FieldChange, ...]]]]:
    """Check what was touched; report fields stored differently from the plan. A create or update
    answered with the task as planned is not read again (the answer is the service's account of
    what it stored); the rest are read back, and where an answer differs, the read decides."""
    converged = True
    mismatches: list[tuple[str, tuple[FieldChange, ...]]] = []
    unread = [
        o
        for o in outcomes
        if o.status in (Status.APPLIED, Status.RECONCILED)
        and o.task_id
        and (id(o.change) not in answers or _stored_otherwise(o.change, answers[id(o.change)]))
    ]
    # Many to read: one listing (ceil(N/100) requests) instead of a GET per task, which would
    # cost N serial round trips. A few: a GET each is cheaper than listing a large account.
    # Tasks the listing misses are read one by one.
    listed: dict[str, dict[str, Any]] = {}
    if len(unread) > _LIST_READ_BACK_ABOVE:
        with contextlib.suppress(ApiError):  # then each task is read on its own
            listed = {t.task_id: t.body for t in fetch_tasks(client)}  # pages concurrently
    for outcome in unread:
        change = outcome.change
        assert outcome.task_id is not None  # `unread` holds only outcomes with one
        try:
            body = listed.get(outcome.task_id) or _read_back(client, outcome.task_id, change)
        except NotFound:
            if change.action is not Action.DELETE:
                converged = False
                mismatches.append((change.name, ()))
            continue
        except ApiError:
            converged = False
            continue
        if change.action is Action.DELETE:
            converged = False
            continue
        fields = _stored_otherwise(change, body)
        if fields:
            converged = False
            mismatches.append((change.name, fields))
    return converged, mismatches


def _stored_otherwise(change: Change, body: dict[str, Any]) -> tuple[FieldChange, ...]:
    """The fields `body`, the task as stored, holds otherwise than `change` planned."""
    stored = normalise_task(body, ignore_fields=change.ignore_fields)
    # A secret read back masked is compared as the stand-in on both sides, and one not read
    # back at all is not compared: every other field is, even one in a list beside a secret
    # (a changed list is one field).
    hidden = change.sensitive_pointers
    planned = hide_pointers(change.after or {}, hidden)
    for pointer in hidden:
        if get_pointer(stored, pointer) is None:
            remove_pointer(planned, pointer)
    return diff_bodies(hide_pointers(stored, hidden), planned, sensitive_pointers=hidden)


_LIST_READ_BACK_ABOVE = 20
# The longest wait for a create of unknown outcome to land before it is sent again.
_SETTLE_CAP_SECONDS = 60.0
# Waits before reading a just-created task again: a read straight after a create may not see it
# yet (reliability.md B10), and that is lag, not loss.
_NEW_TASK_RETRY_WAITS = (0.05, 0.2, 0.5)


def _read_back(client: TitanClient, task_id: str, change: Change) -> dict[str, Any]:
    waits = _NEW_TASK_RETRY_WAITS if change.action is Action.CREATE else ()
    for wait in waits:
        try:
            return client.get_task(task_id).body()
        except NotFound:
            time.sleep(wait)
    return client.get_task(task_id).body()


def apply_plan(
    plan: Plan,
    client: TitanClient,
    *,
    parallelism: int = 4,
    progress: Progress | None = None,
    stop: threading.Event | None = None,
) -> ApplyReport:
    """Apply `plan` in order and return the journal; never raises for a failed change."""
    stop = stop or threading.Event()
    runner = _Runner(client, stop)
    steps: dict[int, list[Change]] = {}
    for change in plan.actionable:
        steps.setdefault(change.action.step, []).append(change)
    total = len(plan.actionable)
    done: list[Outcome] = []
    journal: list[Outcome] = []
    failed = False
    for step in sorted(steps):
        changes = steps[step]
        is_delete_step = all(c.action is Action.DELETE for c in changes)
        if (failed and is_delete_step) or stop.is_set() or runner.refused.is_set():
            why = (
                "not started: interrupted"
                if stop.is_set()
                else REFUSED
                if runner.refused.is_set()
                else "not run: an earlier change failed, and deletes run only after a clean apply"
            )
            journal.extend(Outcome(c, Status.SKIPPED, why, c.task_id) for c in changes)
            continue
        outcomes = _run_step(runner, changes, parallelism, progress, done, total)
        journal.extend(outcomes)
        failed = failed or any(o.status is Status.FAILED for o in outcomes)
    converged, mismatches = _verify(client, journal, runner.answers)
    return ApplyReport(
        outcomes=tuple(journal),
        converged=converged and not failed and not stop.is_set(),
        mismatches=tuple(mismatches),
        interrupted=stop.is_set(),
    )
