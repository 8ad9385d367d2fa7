"""What an expectation is, the state the checks share, and the small readers every check uses.

A check returns what it observed when the service behaved as expected, and raises `Mismatch`
with what it observed otherwise. Checks read the service's words defensively: any JSON may come
back, so nothing here indexes a value before looking at its type.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from titan_gitops.escape import escape_terminal
from titan_gitops.selftest.probe import Exchange, Probe

# The schema every selftest task asks for: two plain fields, so exports have known columns, and
# a media field (`format: media`, as the docs' media example declares one), so the run has media.
OUTPUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "price": {"type": "number"},
        "image": {"type": "string", "format": "media"},
    },
    "required": ["name", "price", "image"],
}
SERVER_FIELDS = ("id", "status", "created_at", "updated_at")
_RFC3339_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$")
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
_QUOTE_LIMIT = 60


class NotChecked(Exception):
    """The expectation could not be checked with what was given; `observed` says what is missing."""

    def __init__(self, observed: str) -> None:
        super().__init__(observed)
        self.observed = observed


class Mismatch(Exception):
    """The service did not behave as expected; `observed` says what it did instead."""

    def __init__(self, observed: str) -> None:
        super().__init__(observed)
        self.observed = observed


@dataclass
class SelftestContext:
    """What the checks share: the probe, the namespace, and what earlier checks made."""

    probe: Probe
    namespace: str
    token: str
    # A second token with tasks:read and without tasks:write, to check scopes; None: not checked.
    read_token: str | None = None
    poll_timeout: float = 300.0
    poll_interval: float = 0.2
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    tasks: dict[str, str] = field(default_factory=dict)  # role ("a", "b") -> id
    bodies: dict[str, dict[str, Any]] = field(default_factory=dict)  # role -> the fields sent
    created: list[str] = field(default_factory=list)  # every task id this run made
    executions: list[str] = field(default_factory=list)  # every execution this run started
    record_count: int | None = None
    template: dict[str, Any] | None = None
    preview: Exchange | None = None  # the one preview the run spends of the daily quota

    def task_body(self, suffix: str, **overrides: Any) -> dict[str, Any]:
        """A valid classic task named inside the namespace."""
        body: dict[str, Any] = {
            "name": f"{self.namespace}{suffix}",
            "urls": ["https://example.com/titan-gitops-selftest"],
            "objective": "Extract the product name and its price",
            "output_schema": OUTPUT_SCHEMA,
            "execution_type": "single",
        }
        body.update(overrides)
        return body

    def need(self, role: str, made_by: str) -> str:
        """The id of the task `role`, or NotChecked naming the expectation that failed to make it
        (that one is the failure; this one is only left unchecked)."""
        if role not in self.tasks:
            raise NotChecked(f"not checked: needs the task '{made_by}' creates")
        return self.tasks[role]

    def keep_created(self, exchange: Exchange) -> str | None:
        """Remember the id of a task an answer says was made (for the sweeper)."""
        data = exchange.envelope_data()
        ident = data.get("id") if isinstance(data, dict) else None
        if isinstance(ident, str) and ident and 200 <= exchange.status < 300:
            self.created.append(ident)
            return ident
        return None


@dataclass(frozen=True)
class Expectation:
    """One documented expectation: `id`, a one-line `statement`, where it comes from
    (`reference`: a docs page or the emulator's choice), the emulator `choice` it checks when the
    docs are silent (None when they are not), and the `check`."""

    id: str
    statement: str
    reference: str
    choice: str | None
    check: Callable[[SelftestContext], str]


def expectation(
    ident: str, statement: str, reference: str, choice: str | None = None
) -> Callable[[Callable[[SelftestContext], str]], Expectation]:
    """Turn a check function into an Expectation."""

    def wrap(check: Callable[[SelftestContext], str]) -> Expectation:
        return Expectation(ident, statement, reference, choice, check)

    return wrap


# -- reading answers ------------------------------------------------------------------------------


def quote(value: Any) -> str:
    """A short, terminal-safe rendering of a value the service sent."""
    text = value if isinstance(value, str) else repr(value)
    text = " ".join(text.split())
    if len(text) > _QUOTE_LIMIT:
        text = text[: _QUOTE_LIMIT - 1] + "…"
    return escape_terminal(text)


def describe(exchange: Exchange) -> str:
    """The answer in a few words: `201`, `404 NOT_FOUND`, `200 without the success envelope`."""
    code = exchange.error_code()
    if code is not None:
        return f"{exchange.status} {quote(code)}"
    payload = exchange.json()
    if isinstance(payload, dict) and payload.get("success") is True:
        return str(exchange.status)
    if payload is None:
        snippet = exchange.content[:40].decode("utf-8", errors="replace")
        return f"{exchange.status} with a non-JSON body '{quote(snippet)}'"
    return f"{exchange.status} without the success envelope"


def expect_status(exchange: Exchange, status: int, what: str) -> None:
    """Raise a Mismatch unless `exchange` answered `status`."""
    if exchange.status != status:
        raise Mismatch(f"{what}: {describe(exchange)} (expected {status})")


def expect_object(exchange: Exchange, what: str) -> dict[str, Any]:
    """The `data` object of a success envelope, or a Mismatch naming what was asked."""
    data = exchange.envelope_data()
    if not _is_success(exchange):
        raise Mismatch(f"{what}: {describe(exchange)}")
    if not isinstance(data, dict):
        raise Mismatch(f"{what}: {describe(exchange)}, but data is not an object")
    return data


def _is_success(exchange: Exchange) -> bool:
    payload = exchange.json()
    return isinstance(payload, dict) and payload.get("success") is True


def expect_list(exchange: Exchange, what: str) -> tuple[list[Any], dict[str, Any]]:
    """The `data` array and the `meta` object of a list answer, or a Mismatch."""
    payload = exchange.json()
    data = exchange.envelope_data()
    if not _is_success(exchange):
        raise Mismatch(f"{what}: {describe(exchange)}")
    if not isinstance(data, list):
        raise Mismatch(f"{what}: {describe(exchange)}, but data is not an array")
    meta = payload.get("meta") if isinstance(payload, dict) else None
    if not isinstance(meta, dict):
        raise Mismatch(f"{what}: data is an array but there is no meta object")
    return data, meta


def expect_error(exchange: Exchange, status: int, code: str, what: str) -> str:
    """Check the error envelope `{"success": false, "error": {code, message}}`; its message."""
    expect_status(exchange, status, what)
    payload = exchange.json()
    error = payload.get("error") if isinstance(payload, dict) else None
    shaped = (
        isinstance(payload, dict)
        and payload.get("success") is False
        and isinstance(error, dict)
        and isinstance(error.get("code"), str)
        and isinstance(error.get("message"), str)
    )
    if not shaped:
        raise Mismatch(f"{what}: {status} without the error envelope {{success, error}}")
    if exchange.error_code() != code:
        raise Mismatch(f"{what}: {describe(exchange)} (expected {status} {code})")
    return exchange.error_message()


def is_timestamp(value: Any) -> bool:
    """An RFC 3339 UTC timestamp ending in Z."""
    return isinstance(value, str) and bool(_RFC3339_UTC.match(value))


def is_uuid(value: Any) -> bool:
    """A UUID in its usual text form."""
    return isinstance(value, str) and bool(_UUID.match(value))


def compare_fields(sent: dict[str, Any], got: dict[str, Any]) -> list[str]:
    """The fields sent that came back missing or changed, as `missing x` / `changed y`."""
    problems = []
    for key, value in sent.items():
        if key not in got:
            problems.append(f"missing {key}")
        elif got[key] != value:
            problems.append(f"changed {key}")
    return problems
