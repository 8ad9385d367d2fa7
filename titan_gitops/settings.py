"""Where the Task Service is, how to authenticate, and how much of it we read: flags, then TITAN_*.

An empty environment variable counts as unset. With no target at all, commands talk to the embedded
emulator (state in `.titan-local/`), except under CI, where silently planning against a throwaway
service would be worse than failing. Every figure a hostile or broken service could otherwise make
unbounded (pages, items, bytes, seconds) is a named limit below; only the deadlines are settings.
"""

from __future__ import annotations

import ipaddress
import math
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from titan_gitops.errors import ConfigError

LOCAL_TARGET = "local"
LOCAL_STATE_DIR = ".titan-local"
API_PREFIX = "/api/v1"

# -- read limits ---------------------------------------------------------------------------------
# 1,000 pages of 100 are 100,000 tasks, far beyond any account this tool is meant for: a listing
# still going after that is a service that never ends it, not a big account.
MAX_LISTING_PAGES = 1_000
# Items per listing whatever `meta.total` claims: the total is a hint, never a size to allocate.
MAX_LISTING_ITEMS = 100_000
# One JSON answer as sent: a page of 100 tasks with large schemas is a few MiB, so 32 MiB leaves
# room for growth while a hostile answer is stopped before it costs real memory.
MAX_BODY_BYTES = 32 * 2**20
# The same answer once decompressed: gzip turns half a MiB into GiB (a bomb), so inflating stops
# here. Parsed JSON costs up to 17 times its size as Python objects (tiny items), so 32 MiB is
# about half a GiB at worst; a larger cap would let one answer exhaust a CI runner.
MAX_DECODED_BYTES = 32 * 2**20
# A result export or media file streams to disk, never into memory; this only keeps a hostile
# answer from filling the disk.
MAX_DOWNLOAD_BYTES = 4 * 2**30
# One request from sending to its last byte, over all reads: the per-read timeout alone lets a
# one-byte-a-second answer run for hours. Five minutes is far beyond any healthy answer.
REQUEST_DEADLINE = 300.0
# One command, every request, retry and pause included: a slow listing cannot hold a CI job (or
# the namespace's lock) for ever. Half an hour covers the largest apply we expect.
COMMAND_DEADLINE = 1800.0
# The longest deadline accepted from the environment (a week): beyond it a typo, not a choice.
_LONGEST_DEADLINE = 7 * 24 * 3600.0
REQUEST_DEADLINE_VARIABLE = "TITAN_REQUEST_DEADLINE"
COMMAND_DEADLINE_VARIABLE = "TITAN_DEADLINE"


class Secret:
    """A string that never shows itself in `repr`, `str` or f-strings."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The clear value, for the one place that sends it (the auth header)."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)


@dataclass(frozen=True)
class ReadLimits:
    """How much one client reads from the service before it refuses (the limits above)."""

    listing_pages: int = MAX_LISTING_PAGES
    listing_items: int = MAX_LISTING_ITEMS
    body_bytes: int = MAX_BODY_BYTES
    decoded_bytes: int = MAX_DECODED_BYTES
    download_bytes: int = MAX_DOWNLOAD_BYTES
    request_deadline: float = REQUEST_DEADLINE
    command_deadline: float = COMMAND_DEADLINE

    def with_room_for(self, seconds: float) -> ReadLimits:
        """These limits with a command deadline of at least `seconds` plus one request's worth
        (a command told to wait that long, such as `run --wait --timeout`, must not be cut first).
        """
        needed = seconds + self.request_deadline
        return replace(self, command_deadline=max(self.command_deadline, needed))


@dataclass(frozen=True)
class Target:
    """The resolved Task Service to talk to."""

    api_url: str | None  # None = the embedded emulator
    token: Secret | None = field(repr=False)
    state_dir: Path = Path(LOCAL_STATE_DIR)
    auth_header: str = "bearer"
    limits: ReadLimits = field(default_factory=ReadLimits)
    # The embedded emulator asked for by name (TITAN_API_URL=local), not for want of a URL.
    chosen_local: bool = False

    @property
    def is_embedded(self) -> bool:
        """True when commands run against the in-process emulator."""
        return self.api_url is None

    def describe(self) -> str:
        """A one-line, secret-free description for messages."""
        if self.is_embedded:
            return f"the embedded local emulator (state in {self.state_dir}/)"
        return str(self.api_url)


def _env(environ: Mapping[str, str], name: str) -> str | None:
    value = environ.get(name, "").strip()
    return value or None


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_deadline(environ: Mapping[str, str], name: str, default: float) -> float:
    """Seconds from the variable `name`, or `default` when it is unset.

    Raises:
        ConfigError: not a number of seconds above 0 and at most a week.
    """
    raw = _env(environ, name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (0 < value <= _LONGEST_DEADLINE):
        shown = raw if len(raw) <= 40 else raw[:39] + "…"
        raise ConfigError(
            f"{name} must be a number of seconds above 0 and at most {_LONGEST_DEADLINE:,.0f}, "
            f"got {shown!r}"
        )
    return value


def resolve_read_limits(environ: Mapping[str, str]) -> ReadLimits:
    """The read limits, with the deadlines from TITAN_REQUEST_DEADLINE and TITAN_DEADLINE.

    Raises:
        ConfigError: a deadline variable is not a sensible number of seconds.
    """
    return ReadLimits(
        request_deadline=parse_deadline(environ, REQUEST_DEADLINE_VARIABLE, REQUEST_DEADLINE),
        command_deadline=parse_deadline(environ, COMMAND_DEADLINE_VARIABLE, COMMAND_DEADLINE),
    )


# TITAN_AUTH_HEADER's values, and the header each sends the token in.
AUTH_HEADERS = {"bearer": "Authorization: Bearer", "x-api-key": "X-API-Key"}


def parse_auth_header(environ: Mapping[str, str]) -> str:
    """How the token is sent, from TITAN_AUTH_HEADER: "bearer" (unset) or "x-api-key".

    Raises:
        ConfigError: any other value; the message lists the accepted ones.
    """
    raw = _env(environ, "TITAN_AUTH_HEADER")
    if raw is None:
        return "bearer"
    if raw.lower() in AUTH_HEADERS:
        return raw.lower()
    shown = raw if len(raw) <= 40 else raw[:39] + "…"
    accepted = " or ".join(f"{name!r} ({header})" for name, header in AUTH_HEADERS.items())
    raise ConfigError(f"TITAN_AUTH_HEADER must be {accepted}, got {shown!r}")


def normalise_api_url(url: str, name: str = "TITAN_API_URL") -> str:
    """Check an API origin and return it without a trailing slash; messages call it `name`.

    Raises:
        ConfigError: not http(s), no host, carries credentials, a query, or the `/api/v1` suffix.
    """
    text = url.strip()
    # Checked on the text before it is split, and said without quoting it: a password holding `/`
    # is no credential to a URL parser (`https://me:pa/ss@host` is host `me`, port `pa`), and a
    # query may hold a token, so neither may reach a message about the rest of the URL.
    if "@" in text:
        raise ConfigError(f"{name} must not carry credentials (it holds '@'); use TITAN_TOKEN")
    if "?" in text or "#" in text:
        raise ConfigError(f"{name} must not carry a query string or fragment")
    parts = _split_url(text, name)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"{name} must be an http(s) origin such as https://api.example.com, "
            f"got {parts.scheme or 'no scheme'}://{parts.hostname or ''}"
        )
    path = parts.path.rstrip("/")
    if path.endswith(API_PREFIX):
        raise ConfigError(
            f"{name} is the origin without {API_PREFIX}: "
            f"use {parts.scheme}://{parts.netloc}{path[: -len(API_PREFIX)]}"
        )
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def _split_url(text: str, name: str) -> urllib.parse.SplitResult:
    """`text` split into its parts, its host and port readable.

    Raises:
        ConfigError: a host or port no connection could be made to (`http://[::1`,
            `http://host:abc`, port 0 or over 65535, a space in the host).
    """
    problem = ""
    try:
        parts = urllib.parse.urlsplit(text)
        host = parts.hostname or ""
    except ValueError:
        parts, host = None, ""
        problem = _bracket_problem(text)
    if parts is not None and not problem:
        problem = _port_problem(parts)
        if any(ch.isspace() or not ch.isprintable() for ch in host):
            problem = "the host holds a space or control character"
    if problem:
        # normalise_api_url refused any '@', '?' or '#' first: nothing here is a credential.
        raise ConfigError(f"{name} {text[:120]!r} is not a usable URL: {problem}")
    assert parts is not None
    return parts


def _bracket_problem(text: str) -> str:
    """Why urlsplit refused `text`: its bracketed (IPv6) host."""
    netloc = text.partition("://")[2].split("/", 1)[0]
    if "[" in netloc and "]" not in netloc:
        return "an unclosed [ in the host"
    inside = netloc[netloc.find("[") + 1 : netloc.find("]")] if "]" in netloc else netloc
    return f"[{inside}] is not an IPv6 address"


def _port_problem(parts: urllib.parse.SplitResult) -> str:
    """Why the port of `parts` is unusable, or ""."""
    written = parts.netloc
    if written.endswith("]") or ":" not in written.rpartition("]")[2]:
        return ""
    port = written.rpartition(":")[2]
    if not port:
        return ""
    if not (port.isascii() and port.isdigit()):
        return f"port {port!r} is not a number"
    if not 1 <= int(port) <= 65535:
        return f"port {int(port)} is not 1 to 65535"
    return ""


def resolve_target(
    environ: Mapping[str, str],
    *,
    api_url: str | None = None,
    token: str | None = None,
    needs_service: bool = True,
    cwd: Path | None = None,
) -> Target:
    """Resolve the target from flags (which win) and the environment.

    Raises:
        ConfigError: an explicit target without a token, a malformed URL, no target under CI, or
            a deadline variable that is not a sensible number of seconds.
    """
    limits = resolve_read_limits(environ)
    url = (api_url or "").strip() or _env(environ, "TITAN_API_URL")
    raw_token = (token or "").strip() or _env(environ, "TITAN_TOKEN")
    secret = Secret(raw_token) if raw_token else None
    header = parse_auth_header(environ)
    state_dir = (cwd or Path.cwd()) / LOCAL_STATE_DIR
    if url is None:
        in_ci = _env(environ, "CI") is not None or _env(environ, "GITHUB_ACTIONS") is not None
        if in_ci and needs_service:
            raise ConfigError(
                "no Titan target set and this looks like CI (CI or GITHUB_ACTIONS is set): "
                "set TITAN_API_URL (and TITAN_TOKEN), or TITAN_API_URL=local to use the "
                "embedded emulator on purpose"
            )
        return Target(None, secret, state_dir, header, limits)
    if url.lower() == LOCAL_TARGET:
        return Target(None, secret, state_dir, header, limits, chosen_local=True)
    origin = normalise_api_url(url, "--api-url" if (api_url or "").strip() else "TITAN_API_URL")
    if secret is None and needs_service:
        raise ConfigError(f"TITAN_TOKEN (or --token) is required to talk to {origin}")
    host = urllib.parse.urlsplit(origin).hostname or ""
    if origin.startswith("http://") and not _is_loopback(host):
        raise ConfigError(
            f"refusing to send the token in clear text to {origin}: use https "
            "(plain http is allowed only for loopback addresses)"
        )
    return Target(origin, secret, state_dir, header, limits)
