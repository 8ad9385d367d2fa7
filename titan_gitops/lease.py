"""Leases: one apply at a time per namespace, built out of Titan tasks (Titan offers no locks).

Protocol (every time and rule is here, each with why):

    create my lease ──▶ list the leases ──▶ an unexpired one that conflicts with mine is as old as
    mine or older? ── no ──▶ held: a heartbeat renews it until release deletes it
                   └─ yes ─▶ delete mine, wait (jittered backoff), try again, up to the wait limit

Ages come from the server's `created_at`, so machines with skewed clocks still agree; an equal
`created_at` counts against both runs, so two runs never both win (the younger always sees the
older, since it listed after its own create). Two leases conflict when one namespace is a prefix of
the other (a run on `shop` may delete `shop-eu-…` tasks), and a run without a namespace (which
adopts by exact name anywhere) conflicts with every other. A lease not renewed within its TTL, by
the server's clock, belonged to a crashed run: whoever finds it deletes it. So does a lease whose
process on this same machine is gone (a `kill -9`), so a local retry need not wait out the TTL.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import os
import random
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from titan_gitops.errors import ApiError, ConfigError, LeaseError, NotFound, TitanGitopsError
from titan_gitops.escape import escape_terminal
from titan_gitops.fetch import PAGE_SIZE, live_tasks_of
from titan_gitops.reserved import LEASE_MARK, LEASE_PREFIX, LEASE_URL, is_lease, server_time

if TYPE_CHECKING:
    from titan_gitops.client import TaskRecord, TitanClient
    from titan_gitops.model import LiveTask

# How long a lease lives without renewal: long enough that one slow renewal (the client's own
# retries take up to about a minute) does not lose it, short enough that a crashed CI runner's
# lease blocks the next merge for two minutes at most.
LEASE_TTL_SECONDS = 120.0
# Renewed four times per TTL, so three renewals in a row can fail before it expires.
RENEW_EVERY_SECONDS = LEASE_TTL_SECONDS / 4
# A holder that could not renew for half the TTL stops starting changes: others may break its
# lease at the full TTL, and it must have stopped well before anyone could.
GIVE_UP_AFTER_SECONDS = LEASE_TTL_SECONDS / 2
# How long an apply waits for another to finish before refusing (TITAN_GITOPS_LEASE_WAIT).
WAIT_SETTING = "TITAN_GITOPS_LEASE_WAIT"
DEFAULT_WAIT_SECONDS = 60.0
MAX_WAIT_SECONDS = 3600.0
# Backoff between attempts: doubled from the first, capped, each drawn at 50-100 % so two runs
# that collided once do not collide again in lockstep.
BACKOFF_FIRST_SECONDS = 0.1
BACKOFF_CAP_SECONDS = 3.0
# A lease's objective is ours to read only up to this size; anything larger is unreadable.
_MAX_OBJECTIVE = 10_000
_KEY_LIMIT = 100


@dataclass(frozen=True)
class LeaseOwner:
    """Who holds a lease: a per-run id, and the host and pid a person can go and look at.

    `machine` is the host name plus the pid namespace: where `pid` means something, so that a
    lease whose process is gone can be broken at once only on the machine that ran it.
    """

    owner_id: str
    host: str
    pid: int
    machine: str

    @classmethod
    def of_this_process(cls) -> LeaseOwner:
        """A fresh owner id for this run, on this host and pid."""
        host = socket.gethostname()
        return cls(uuid.uuid4().hex, host, os.getpid(), f"{host}|{_pid_namespace()}")


def _pid_namespace() -> str:
    with contextlib.suppress(OSError):
        return os.readlink("/proc/self/ns/pid")
    return ""


def lease_name(namespace: str | None) -> str:
    """The lease task's name for a namespace (None: the whole account)."""
    if namespace is None:
        return LEASE_PREFIX + "(account)"
    if 0 < len(namespace) <= _KEY_LIMIT and namespace.isprintable():
        return LEASE_PREFIX + namespace
    return LEASE_PREFIX + "sha256-" + hashlib.sha256(namespace.encode()).hexdigest()[:16]


def lease_body(owner: LeaseOwner, namespace: str | None) -> dict[str, Any]:
    """A harmless valid task: a single run that is never started, on a host that cannot exist."""
    expires = datetime.now(UTC) + timedelta(seconds=LEASE_TTL_SECONDS)
    record = {
        LEASE_MARK: 1,
        "owner": owner.owner_id,
        "host": owner.host,
        "pid": owner.pid,
        "machine": owner.machine,
        "namespace": namespace,
        # For people reading the task; the rule itself uses the server's clock (see above).
        "expires_at": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    return {
        "name": lease_name(namespace),
        "urls": [LEASE_URL],
        "objective": json.dumps(record, sort_keys=True),
        "output_schema": {"type": "object"},
        "execution_type": "single",
    }


@dataclass(frozen=True)
class LeaseRecord:
    """A lease as read from the service. An unreadable one conflicts with every run."""

    task_id: str
    owner: LeaseOwner | None
    namespace: str | None
    readable: bool
    created_at: datetime | None
    renewed_at: datetime | None

    def conflicts_with(self, namespace: str | None) -> bool:
        """True when the run holding this lease could touch tasks a run on `namespace` touches."""
        if not self.readable or self.namespace is None or namespace is None:
            return True
        return self.namespace.startswith(namespace) or namespace.startswith(self.namespace)

    def expired(self, now: datetime) -> bool:
        """Not renewed within the TTL by the server's clock (unknown times never expire)."""
        last = self.renewed_at or self.created_at
        return last is not None and (now - last).total_seconds() > LEASE_TTL_SECONDS

    def describe(self) -> str:
        """Host, pid and since when, every untrusted string shown printable."""
        since = self.created_at.strftime("%Y-%m-%dT%H:%M:%SZ") if self.created_at else "unknown"
        if self.owner is None:
            return f"an unreadable lease (task id {_printable(self.task_id)}, since {since})"
        return (
            f"host '{_printable(self.owner.host)}', pid {self.owner.pid}, since {since} "
            f"(lease task id {_printable(self.task_id)})"
        )


def _printable(text: str, limit: int = 80) -> str:
    """An untrusted string safe for a terminal or log: controls shown as escapes, length capped."""
    return escape_terminal(text[:limit]) + ("…" if len(text) > limit else "")


def _read_record(body: Mapping[str, Any]) -> LeaseRecord:
    created = server_time(body.get("created_at"))
    renewed = server_time(body.get("updated_at"))
    task_id = str(body.get("id", ""))
    objective = body.get("objective")
    try:
        if not isinstance(objective, str) or len(objective) > _MAX_OBJECTIVE:
            raise ValueError("no objective")
        data = json.loads(objective)
        texts = [data[key] for key in ("owner", "host", "machine", "namespace")]
        if not all(isinstance(t, str) for t in texts[:3]) or not isinstance(texts[3], str | None):
            raise ValueError("not a lease")
        owner = LeaseOwner(texts[0], texts[1], int(data["pid"]), texts[2])
    except (ValueError, TypeError, KeyError):
        return LeaseRecord(task_id, None, None, False, created, renewed)
    return LeaseRecord(task_id, owner, texts[3], True, created, renewed)


def read_leases(client: TitanClient) -> tuple[LeaseRecord, ...] | None:
    """Every lease on the account; None when the listing moved while it was read."""
    return _read_listing(client)[1]


def _read_listing(
    client: TitanClient,
) -> tuple[Sequence[TaskRecord], tuple[LeaseRecord, ...] | None]:
    """Every task, and the leases among them (None: the listing moved, and may skip a lease)."""
    listing = client.read_task_listing(page_size=PAGE_SIZE, parallelism=4)
    leases = tuple(_read_record(r.body()) for r in listing.records if is_lease(r.body()))
    return (listing.records, leases) if listing.problem is None else ((), None)


def _process_is_gone(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # it exists but is not ours to signal
        return False
    return False


@dataclass(frozen=True)
class HeldLease:
    """The lease this run holds, and the live tasks as the listing that won it read them."""

    task_id: str
    owner: LeaseOwner
    namespace: str | None
    live: tuple[LiveTask, ...]


def lease_wait_from(environ: Mapping[str, str]) -> float:
    """The longest wait for another apply's lease, from TITAN_GITOPS_LEASE_WAIT (seconds).

    Raises:
        ConfigError: the setting is not a number of seconds between 0 and MAX_WAIT_SECONDS.
    """
    raw = environ.get(WAIT_SETTING, "").strip()
    if not raw:
        return DEFAULT_WAIT_SECONDS
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 <= value <= MAX_WAIT_SECONDS:  # also refuses nan
        raise ConfigError(
            f"{WAIT_SETTING} must be a number of seconds from 0 to {MAX_WAIT_SECONDS:g}, "
            f"such as 60; it is '{_printable(raw, 20)}'"
        )
    return value


def _delete_quietly(client: TitanClient, task_id: str | None) -> None:
    """Remove a lease; one that cannot be removed now expires by itself."""
    if task_id:
        with contextlib.suppress(ApiError):
            client.delete_task(task_id)


def _create_lease(client: TitanClient, owner: LeaseOwner, namespace: str | None) -> str | None:
    """Create this run's lease; its id, or None when the outcome is unknown (the listing tells)."""
    from titan_gitops.errors import OutcomeUnknown

    try:
        return str(client.create_task(lease_body(owner, namespace)).body().get("id", ""))
    except OutcomeUnknown:
        return None
    except ApiError as exc:
        raise LeaseError(f"could not create the apply lease task: {exc}") from None


def _left_by_gone_process(lease: LeaseRecord, me: LeaseOwner) -> bool:
    other = lease.owner
    return (
        other is not None
        and other.machine == me.machine
        and other.pid != me.pid
        and _process_is_gone(other.pid)
    )


def _oldest_first(lease: LeaseRecord) -> tuple[bool, datetime, str]:
    return (lease.created_at is not None, lease.created_at or datetime.min, lease.task_id)


def _try_once(
    client: TitanClient, owner: LeaseOwner, namespace: str | None
) -> tuple[HeldLease | None, LeaseRecord | None]:
    """One attempt: the lease held, or None and the lease in the way (None: could not tell)."""
    mine_id = _create_lease(client, owner, namespace)
    try:  # the listing's tasks are read here too, so a bad record cannot leave our lease behind
        records, leases = _read_listing(client)
        live = live_tasks_of(records)
    except BaseException:
        _delete_quietly(client, mine_id)
        raise
    if leases is None:
        _delete_quietly(client, mine_id)
        return None, None
    own = [x for x in leases if x.owner is not None and x.owner.owner_id == owner.owner_id]
    current = next((x for x in own if x.task_id == mine_id), None)
    for extra in own:  # copies an earlier create of unknown outcome left
        if extra is not current:
            _delete_quietly(client, extra.task_id)
    if current is None or current.created_at is None:
        _delete_quietly(client, mine_id)  # not listed yet, or ageless: nobody can tell who is older
        return None, None
    blocker: LeaseRecord | None = None
    for other in sorted((x for x in leases if x not in own), key=_oldest_first):
        if other.expired(current.created_at) or _left_by_gone_process(other, owner):
            _delete_quietly(client, other.task_id)
        elif other.conflicts_with(namespace) and (
            other.created_at is None or other.created_at <= current.created_at
        ):
            blocker = blocker or other
    if blocker is None:
        return HeldLease(current.task_id, owner, namespace, live), None
    _delete_quietly(client, current.task_id)
    return None, blocker


def _refusal(namespace: str | None, blocker: LeaseRecord | None, waited: float) -> str:
    scope = (
        f"namespace '{_printable(namespace)}'"
        if namespace is not None
        else "the account (no namespace is declared)"
    )
    if blocker is None:
        return (
            f"could not take the apply lease on {scope} (waited {waited:.1f} s): creating it had "
            "an unknown outcome, or the task listing changed while it was read; run apply again"
        )
    return (
        f"another apply holds the lease on {scope}: {blocker.describe()}; waited {waited:.1f} s. "
        f"Run apply again once it has finished (set {WAIT_SETTING} to wait longer); a lease "
        f"left by a crashed run expires {LEASE_TTL_SECONDS:g} s after its last renewal"
    )


def acquire_lease(
    client: TitanClient,
    namespace: str | None,
    *,
    wait_seconds: float = DEFAULT_WAIT_SECONDS,
    stop: threading.Event | None = None,
    owner: LeaseOwner | None = None,
    announce: Callable[[str], None] | None = None,
) -> HeldLease:
    """Take the lease on `namespace`, waiting up to `wait_seconds` for its holder to finish.

    Raises:
        LeaseError: still held by another run after the wait (naming it), or `stop` was set.
        ApiError: the leases could not be listed.
    """
    owner = owner or LeaseOwner.of_this_process()
    stop = stop or threading.Event()
    started = time.monotonic()
    for attempt in itertools.count():
        held, blocker = _try_once(client, owner, namespace)
        if held is not None:
            return held
        waited = time.monotonic() - started
        if waited >= wait_seconds:
            raise LeaseError(_refusal(namespace, blocker, waited))
        if attempt == 0 and announce is not None and blocker is not None:
            announce(f"waiting up to {wait_seconds:g} s for another apply: {blocker.describe()}")
        delay = min(BACKOFF_CAP_SECONDS, BACKOFF_FIRST_SECONDS * 2 ** min(attempt, 10))
        if stop.wait(min(delay * random.uniform(0.5, 1.0), wait_seconds - waited)):
            raise LeaseError("interrupted while waiting for the apply lease: nothing was changed")
    raise AssertionError("unreachable")  # pragma: no cover


def release_lease(
    client: TitanClient, lease: HeldLease, announce: Callable[[str], None] | None = None
) -> None:
    """Delete the lease; one that cannot be deleted now is reported and expires by itself."""
    try:
        client.delete_task(lease.task_id)
    except TitanGitopsError as exc:
        if announce is not None and not isinstance(exc, NotFound):  # NotFound: already gone
            announce(
                f"could not remove the apply lease (task id {lease.task_id}): {exc}; it expires "
                f"by itself {LEASE_TTL_SECONDS:g} s after its last renewal"
            )


class _Heartbeat:
    """Renews a held lease from a daemon thread; sets `stop` the moment the lease is lost."""

    def __init__(
        self,
        client: TitanClient,
        lease: HeldLease,
        stop: threading.Event,
        announce: Callable[[str], None] | None,
        renew_every: float,
    ) -> None:
        self._client, self._lease, self._stop = client, lease, stop
        self._announce, self._renew_every = announce, renew_every
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="titan-gitops-lease", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def finish(self) -> None:
        self._done.set()
        self._thread.join(timeout=self._client.timeout)

    def _run(self) -> None:
        last_renewed = time.monotonic()
        lease = self._lease
        while not self._done.wait(self._renew_every):
            objective = lease_body(lease.owner, lease.namespace)["objective"]
            try:
                self._client.update_task(lease.task_id, {"objective": objective})
                last_renewed = time.monotonic()
                continue
            except NotFound:
                why = "the apply lease was removed by another run"
            except TitanGitopsError:
                if time.monotonic() - last_renewed <= GIVE_UP_AFTER_SECONDS:
                    continue
                why = f"the apply lease could not be renewed for {GIVE_UP_AFTER_SECONDS:g} s"
            self._lose(why)
            return

    def _lose(self, why: str) -> None:
        if not self._done.is_set():
            self._stop.set()
            if self._announce is not None:
                self._announce(f"{why}: no new change starts; run plan to see where things stand")


@contextlib.contextmanager
def hold_lease(
    client: TitanClient,
    namespace: str | None,
    *,
    wait_seconds: float = DEFAULT_WAIT_SECONDS,
    stop: threading.Event | None = None,
    announce: Callable[[str], None] | None = None,
    renew_every: float = RENEW_EVERY_SECONDS,
) -> Iterator[HeldLease]:
    """Hold the lease on `namespace` for the body of the `with`, renewed, released on every exit.

    Losing it (deleted by someone else, or not renewable) sets `stop`, so no new change starts.

    Raises:
        LeaseError: see `acquire_lease`.
    """
    stop = stop or threading.Event()
    lease = acquire_lease(
        client, namespace, wait_seconds=wait_seconds, stop=stop, announce=announce
    )
    heartbeat = _Heartbeat(client, lease, stop, announce, renew_every)
    heartbeat.start()
    try:
        yield lease
    finally:
        heartbeat.finish()
        release_lease(client, lease, announce)
