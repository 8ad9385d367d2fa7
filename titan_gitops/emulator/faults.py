"""Fault injection for the emulator: rules, a WSGI middleware that applies them, and admin helpers.

A rule matches a request by method (or ``*``) and a glob on the request path (query string
excluded, e.g. ``/api/v1/tasks*``). Rules are checked in the order they were added; for each
matching rule a rule with a ``fraction`` draws from the injector's seeded generator, and the first
rule that fires wins. ``count`` limits a rule to its next N firings, after which it is removed; a
rule with neither ``count`` nor ``fraction`` fires on every matching request until cleared. Both
together: each matching request fires with probability ``fraction``, at most ``count`` times.

Kinds (what the client sees):

- ``latency``: the request waits ``latency_ms`` then proceeds normally.
- ``status``: a 500/502/503/504 error envelope; the app is not called, nothing is written.
- ``rate_limit``: a 429 ``TOO_MANY_REQUESTS`` envelope; with ``with_reset`` (the default) it carries
  ``X-RateLimit-Reset`` (epoch seconds, at least one second ahead) and ``Retry-After: 1``.
- ``drop``: ``DropConnection`` is raised before the app runs; the server closes the socket
  without a response, and nothing is written.
- ``commit_then_fail``: the app runs to the end (the write happens) and its response is thrown
  away; then a 500 envelope (``after: status``) or ``DropConnection`` (``after: drop``).
- ``truncate``: the app runs; the client gets the first half of its body, with Content-Length
  set to the cut length, so the message is well formed but its JSON is broken.
- ``non_json``: the app runs (a write may happen, as behind a failing proxy); the client gets
  ``<html>502 Bad Gateway</html>`` as ``text/html``, with status 502 unless ``status`` sets
  another one (``status: 200`` gives an HTML page on a success status).
- ``drop_field``: the app runs; its success answer comes back without the top-level ``field`` of
  ``data`` (of each item, for a list), as a service that forgets a field would answer.

Admin routes under ``/_emulator/`` are never faulted, so a broad rule cannot lock out the route
that clears it. When the app is skipped, the request body is read and discarded first so a
keep-alive connection stays in step.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import http
import json
import math
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

# One class for the whole emulator: the socket server catches this one to close without a reply.
from titan_gitops.emulator.errors import DropConnection
from titan_gitops.emulator.fault_bodies import drop_field

__all__ = [
    "DropConnection",
    "FaultInjector",
    "FaultRule",
    "handle_admin_faults",
    "load_fault_file",
    "parse_fault_rules",
]

FaultKind = Literal[
    "latency",
    "status",
    "rate_limit",
    "drop",
    "commit_then_fail",
    "truncate",
    "non_json",
    "drop_field",
]
AfterCommit = Literal["status", "drop"]

KINDS: tuple[str, ...] = get_args(FaultKind)
ADMIN_PREFIX = "/_emulator/"
_ERROR_CODES = {
    500: "INTERNAL_SERVER_ERROR",
    502: "BAD_GATEWAY",
    503: "SERVICE_UNAVAILABLE",
    504: "GATEWAY_TIMEOUT",
}
_DEFAULT_STATUS = {"commit_then_fail": 500, "non_json": 502, "status": 500}
_HTML_BODY = b"<html>502 Bad Gateway</html>"
_METHODS = frozenset({"*", "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


@dataclass(frozen=True)
class FaultRule:
    """One fault: which requests it matches, how often it fires, and what it does."""

    kind: FaultKind
    method: str = "*"
    path: str = "*"
    count: int | None = None
    fraction: float | None = None
    latency_ms: int = 0
    status: int | None = None
    with_reset: bool = True
    after: AfterCommit = "status"
    field: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "method", self.method.upper())
        problem = _find_rule_problem(self)
        if problem:
            raise ValueError(f"fault rule: {problem}")

    @property
    def effective_status(self) -> int:
        """The HTTP status this rule answers with (429 for rate_limit, 0 when it passes through)."""
        if self.kind == "rate_limit":
            return 429
        if self.kind == "commit_then_fail" and self.after == "drop":
            return 0
        return self.status or _DEFAULT_STATUS.get(self.kind, 0)

    @classmethod
    def from_dict(cls, data: object) -> FaultRule:
        """Parse a rule from a JSON/YAML mapping; unknown keys and wrong types are a ValueError."""
        if not isinstance(data, Mapping):
            raise ValueError(f"fault rule must be an object, not {type(data).__name__}")
        known = {field.name: field for field in dataclasses.fields(cls)}
        unknown = sorted(str(key) for key in data if key not in known)
        if unknown:
            names = ", ".join(sorted(known))
            raise ValueError(f"fault rule: unknown key {unknown[0]!r} (known keys: {names})")
        if "kind" not in data:
            raise ValueError(f"fault rule: 'kind' is required (one of: {', '.join(KINDS)})")
        for key, value in data.items():
            _check_field_type(str(key), value)
        fields: dict[str, Any] = {str(key): value for key, value in data.items()}
        return cls(**fields)

    def to_dict(self) -> dict[str, Any]:
        """The rule as JSON-ready data (``count`` is what is left of it)."""
        return dataclasses.asdict(self)


def _check_field_type(key: str, value: object) -> None:
    expected: dict[str, tuple[type, ...]] = {
        "kind": (str,),
        "method": (str,),
        "path": (str,),
        "count": (int, type(None)),
        "fraction": (int, float, type(None)),
        "latency_ms": (int,),
        "status": (int, type(None)),
        "with_reset": (bool,),
        "after": (str,),
        "field": (str,),
    }
    allowed = expected[key]
    # bool is an int in Python, but `count: true` is a mistake, not 1.
    wrong_bool = isinstance(value, bool) and bool not in allowed
    if wrong_bool or not isinstance(value, allowed):
        names = " or ".join("null" if t is type(None) else t.__name__ for t in allowed)
        raise ValueError(f"fault rule: {key!r} must be {names}, not {json.dumps(value)}")


def _find_rule_problem(rule: FaultRule) -> str | None:
    if rule.kind not in KINDS:
        return f"kind {rule.kind!r} is not one of: {', '.join(KINDS)}"
    if rule.method not in _METHODS:
        return f"method {rule.method!r} is not one of: {', '.join(sorted(_METHODS))}"
    if not rule.path:
        return "path must be a non-empty glob"
    if rule.count is not None and rule.count < 1:
        return "count must be at least 1 (leave it out to fire on every match)"
    if rule.fraction is not None and not 0 < rule.fraction <= 1:
        return "fraction must be greater than 0 and at most 1"
    if rule.latency_ms < 0 or (rule.kind == "latency" and rule.latency_ms == 0):
        return "latency_ms must be a positive number of milliseconds for kind 'latency'"
    if rule.after not in ("status", "drop"):
        return "after must be 'status' or 'drop'"
    if (rule.kind == "drop_field") != bool(rule.field):
        return "field applies only to kind 'drop_field', which needs it"
    return _find_status_problem(rule)


def _find_status_problem(rule: FaultRule) -> str | None:
    if rule.status is None:
        return None
    if rule.kind in ("status", "commit_then_fail"):
        if rule.status not in _ERROR_CODES:
            return f"status must be one of {sorted(_ERROR_CODES)} for kind {rule.kind!r}"
        return None
    if rule.kind == "non_json":
        return None if 200 <= rule.status <= 599 else "status must be 200-599 for kind 'non_json'"
    return f"status does not apply to kind {rule.kind!r}"


def load_fault_file(path: str | Path) -> list[FaultRule]:
    """Read rules from a JSON file (YAML for .yaml/.yml); errors name the file and the rule."""
    source = Path(path)
    try:
        text = source.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{source}: cannot read fault file ({exc.__class__.__name__})") from None
    try:
        data = _parse_fault_text(text, yaml=source.suffix.lower() in (".yaml", ".yml"))
    except ValueError as exc:
        raise ValueError(f"{source}: {exc}") from None
    try:
        return parse_fault_rules(data)
    except ValueError as exc:
        raise ValueError(f"{source}: {exc}") from None


def _parse_fault_text(text: str, *, yaml: bool) -> object:
    if not yaml:
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not valid JSON (line {exc.lineno}: {exc.msg})") from None
    # Imported here so the emulator needs ruamel only when someone writes faults in YAML.
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        return YAML(typ="safe", pure=True).load(text)
    except YAMLError as exc:
        raise ValueError(f"not valid YAML ({exc.__class__.__name__})") from None


def parse_fault_rules(data: object) -> list[FaultRule]:
    """Parse one rule, a list of rules, or ``{"faults": [...]}``; errors name the rule's place."""
    if isinstance(data, Mapping) and set(data) == {"faults"}:
        data = data["faults"]
    if isinstance(data, Mapping):
        return [FaultRule.from_dict(data)]
    if not isinstance(data, list):
        raise ValueError('expected a fault rule, a list of them, or {"faults": [...]}')
    rules = []
    for position, item in enumerate(data, start=1):
        try:
            rules.append(FaultRule.from_dict(item))
        except ValueError as exc:
            raise ValueError(f"fault {position}: {exc}") from None
    return rules


@dataclass
class _ArmedRule:
    rule: FaultRule
    remaining: int | None


class FaultInjector:
    """Holds the active rules (thread-safe) and wraps a WSGI app so they take effect."""

    def __init__(
        self,
        rules: Iterable[FaultRule] = (),
        *,
        seed: int = 0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._lock = threading.Lock()
        self._armed = [_ArmedRule(rule, rule.count) for rule in rules]
        self._seed = seed
        self._rng = random.Random(seed)
        self._sleep = sleep
        self._clock = clock

    def add(self, rule: FaultRule) -> None:
        """Append a rule; it is checked after the ones already present."""
        with self._lock:
            self._armed.append(_ArmedRule(rule, rule.count))

    def clear(self) -> int:
        """Remove every rule; returns how many there were."""
        with self._lock:
            removed = len(self._armed)
            self._armed.clear()
            return removed

    def reset(self, rules: Iterable[FaultRule] = ()) -> None:
        """Replace every rule with `rules` (counts re-armed) and re-seed the fraction draws."""
        with self._lock:
            self._armed = [_ArmedRule(rule, rule.count) for rule in rules]
            self._rng = random.Random(self._seed)

    def rules(self) -> list[FaultRule]:
        """The active rules in order, each with ``count`` set to what is left of it."""
        with self._lock:
            return [dataclasses.replace(armed.rule, count=armed.remaining) for armed in self._armed]

    def select_fault(self, method: str, path: str) -> FaultRule | None:
        """Pick the rule that fires for this request, spending one of its count; None if none."""
        if path.startswith(ADMIN_PREFIX):
            return None
        with self._lock:
            for armed in self._armed:
                rule = armed.rule
                if rule.method not in ("*", method.upper()):
                    continue
                if not fnmatch.fnmatchcase(path, rule.path):
                    continue
                if rule.fraction is not None and self._rng.random() >= rule.fraction:
                    continue
                if armed.remaining is not None:
                    armed.remaining -= 1
                    if armed.remaining == 0:
                        self._armed.remove(armed)
                return rule
        return None

    def wrap(self, app: WsgiApp) -> WsgiApp:
        """Return a WSGI app that applies the rules in front of `app`."""

        def faulty_app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
            path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
            rule = self.select_fault(str(environ.get("REQUEST_METHOD", "GET")), path)
            if rule is None:
                return app(environ, start_response)
            return self._apply_fault(rule, app, environ, start_response)

        return faulty_app

    def _apply_fault(
        self,
        rule: FaultRule,
        app: WsgiApp,
        environ: dict[str, Any],
        start_response: StartResponse,
    ) -> Iterable[bytes]:
        if rule.kind == "latency":
            self._sleep(rule.latency_ms / 1000)
            return app(environ, start_response)
        if rule.kind in ("status", "rate_limit", "drop"):
            _drain_body(environ)
        if rule.kind == "status":
            return _respond_error(start_response, rule.effective_status)
        if rule.kind == "rate_limit":
            headers = []
            if rule.with_reset:
                reset = math.ceil(self._clock() + 1)
                headers = [("X-RateLimit-Reset", str(reset)), ("Retry-After", "1")]
            return _respond_error(start_response, 429, headers)
        if rule.kind == "drop":
            raise DropConnection(f"injected drop on {environ.get('PATH_INFO', '')}")
        status, headers, body = _run_app(app, environ)
        if rule.kind == "commit_then_fail":
            if rule.after == "drop":
                raise DropConnection(f"injected drop after commit on {environ.get('PATH_INFO')}")
            return _respond_error(start_response, rule.effective_status)
        if rule.kind == "drop_field":
            rest = drop_field(body, rule.field)
            kept = [(k, v) for k, v in headers if k.lower() != "content-length"]
            start_response(status, [*kept, ("Content-Length", str(len(rest)))])
            return [rest]
        if rule.kind == "truncate":
            cut = body[: len(body) // 2]
            kept = [(k, v) for k, v in headers if k.lower() != "content-length"]
            start_response(status, [*kept, ("Content-Length", str(len(cut)))])
            return [cut]
        html_status = rule.effective_status
        start_response(
            f"{html_status} {_reason(html_status)}",
            [("Content-Type", "text/html"), ("Content-Length", str(len(_HTML_BODY)))],
        )
        return [_HTML_BODY]


def _reason(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Status"


def _respond_error(
    start_response: StartResponse, status: int, extra: list[tuple[str, str]] | None = None
) -> list[bytes]:
    code = "TOO_MANY_REQUESTS" if status == 429 else _ERROR_CODES[status]
    envelope = {"success": False, "error": {"code": code, "message": "injected fault"}}
    body = json.dumps(envelope).encode("utf-8")
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    start_response(f"{status} {_reason(status)}", [*headers, *(extra or [])])
    return [body]


def _drain_body(environ: dict[str, Any]) -> None:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return
    stream = environ.get("wsgi.input")
    if length > 0 and stream is not None:
        stream.read(length)


def _run_app(app: WsgiApp, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
    """Run `app` to completion and capture its status, headers and whole body."""
    captured: dict[str, Any] = {}
    chunks: list[bytes] = []

    def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        captured["status"], captured["headers"] = status, headers
        return chunks.append

    result = app(environ, capture)
    try:
        chunks.extend(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    status = captured.get("status", "500 Internal Server Error")
    return status, captured.get("headers", []), b"".join(chunks)


def handle_admin_faults(
    injector: FaultInjector, method: str, body: object
) -> tuple[int, dict[str, Any]]:
    """Serve ``/_emulator/faults``: GET lists, POST adds one rule or a list, DELETE clears.

    POST accepts a rule object, a list of rules, or ``{"faults": [...]}``; either every rule is
    added or, on the first invalid one, none is (400 naming it). Returns (status, JSON body).
    """
    verb = method.upper()
    if verb == "GET":
        return 200, {"success": True, "data": [rule.to_dict() for rule in injector.rules()]}
    if verb == "DELETE":
        return 200, {"success": True, "data": {"cleared": injector.clear()}}
    if verb == "POST":
        try:
            rules = parse_fault_rules(body)
        except ValueError as exc:
            return 400, _admin_error("BAD_REQUEST", str(exc))
        for rule in rules:
            injector.add(rule)
        return 201, {"success": True, "data": [rule.to_dict() for rule in rules]}
    return 405, _admin_error("METHOD_NOT_ALLOWED", f"{verb} is not allowed on /_emulator/faults")


def _admin_error(code: str, message: str) -> dict[str, Any]:
    return {"success": False, "error": {"code": code, "message": message}}
