"""Where the Task Service is and how to authenticate: flags first, then TITAN_* variables.

An empty environment variable counts as unset. With no target at all, commands talk to the embedded
emulator (state in `.titan-local/`), except under CI, where silently planning against a throwaway
service would be worse than failing.
"""

from __future__ import annotations

import ipaddress
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from titan_gitops.errors import ConfigError

LOCAL_TARGET = "local"
LOCAL_STATE_DIR = ".titan-local"
API_PREFIX = "/api/v1"


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
class Target:
    """The resolved Task Service to talk to."""

    api_url: str | None  # None = the embedded emulator
    token: Secret | None = field(repr=False)
    state_dir: Path = Path(LOCAL_STATE_DIR)
    auth_header: str = "bearer"

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


def normalise_api_url(url: str) -> str:
    """Check an API origin and return it without a trailing slash.

    Raises:
        ConfigError: not http(s), no host, carries credentials, a query, or the `/api/v1` suffix.
    """
    parts = urllib.parse.urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"TITAN_API_URL must be an http(s) origin such as https://api.example.com, "
            f"got {parts.scheme or 'no scheme'}://{parts.hostname or ''}"
        )
    if parts.username or parts.password:
        raise ConfigError("TITAN_API_URL must not carry credentials; use TITAN_TOKEN")
    if parts.query or parts.fragment:
        raise ConfigError("TITAN_API_URL must not carry a query string or fragment")
    path = parts.path.rstrip("/")
    if path.endswith(API_PREFIX):
        raise ConfigError(
            f"TITAN_API_URL is the origin without {API_PREFIX}: "
            f"use {parts.scheme}://{parts.netloc}{path[: -len(API_PREFIX)]}"
        )
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, "", ""))


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
        ConfigError: an explicit target without a token, a malformed URL, or no target under CI.
    """
    url = (api_url or "").strip() or _env(environ, "TITAN_API_URL")
    raw_token = (token or "").strip() or _env(environ, "TITAN_TOKEN")
    secret = Secret(raw_token) if raw_token else None
    header = "x-api-key" if _env(environ, "TITAN_AUTH_HEADER") == "x-api-key" else "bearer"
    state_dir = (cwd or Path.cwd()) / LOCAL_STATE_DIR
    if url is None:
        in_ci = _env(environ, "CI") is not None or _env(environ, "GITHUB_ACTIONS") is not None
        if in_ci and needs_service:
            raise ConfigError(
                "no Titan target set and this looks like CI (CI or GITHUB_ACTIONS is set): "
                "set TITAN_API_URL (and TITAN_TOKEN), or TITAN_API_URL=local to use the "
                "embedded emulator on purpose"
            )
        return Target(api_url=None, token=secret, state_dir=state_dir, auth_header=header)
    if url.lower() == LOCAL_TARGET:
        return Target(api_url=None, token=secret, state_dir=state_dir, auth_header=header)
    origin = normalise_api_url(url)
    if secret is None and needs_service:
        raise ConfigError(f"TITAN_TOKEN (or --token) is required to talk to {origin}")
    host = urllib.parse.urlsplit(origin).hostname or ""
    if origin.startswith("http://") and not _is_loopback(host):
        raise ConfigError(
            f"refusing to send the token in clear text to {origin}: use https "
            "(plain http is allowed only for loopback addresses)"
        )
    return Target(api_url=origin, token=secret, state_dir=state_dir, auth_header=header)
