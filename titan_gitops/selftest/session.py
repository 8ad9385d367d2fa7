"""The selftest's connection: the target's origin and token, or a fresh emulator of its own."""

from __future__ import annotations

import secrets
from collections.abc import Callable

from titan_gitops import __version__
from titan_gitops._http import HttpSession
from titan_gitops.errors import ConfigError
from titan_gitops.selftest.probe import Exchange, Probe
from titan_gitops.settings import Target


def open_probe(
    target: Target,
    *,
    timeout: float = 30.0,
    on_exchange: Callable[[Exchange], None] | None = None,
    read_token: str | None = None,
) -> tuple[Probe, str, str | None]:
    """A probe on `target`, the token it sends and the read-only token for the scopes check
    (both made up for the selftest's own emulator, which then has a read-only token too).

    With no target (`target.is_embedded`) the selftest talks to a fresh in-memory emulator that
    requires a random token (connect.open_selftest_emulator).

    Raises:
        ConfigError: the token holds characters an HTTP header cannot carry.
    """
    from titan_gitops.connect import EMBEDDED_ORIGIN, open_selftest_emulator

    user_agent = f"titan-gitops/{__version__} (selftest)"
    if target.api_url is None:
        token = f"selftest-{secrets.token_hex(16)}"
        read_token = f"selftest-read-{secrets.token_hex(16)}"
        transport = open_selftest_emulator(token, read_token)
        session = HttpSession(
            EMBEDDED_ORIGIN, transport=transport, timeout=timeout, user_agent=user_agent
        )
        origin, header = EMBEDDED_ORIGIN, "bearer"
    else:
        token = target.token.reveal() if target.token else ""
        session = HttpSession(target.api_url, timeout=timeout, user_agent=user_agent)
        origin, header = target.api_url, target.auth_header
    for value in (token, read_token or ""):
        if any(not 0x21 <= ord(ch) <= 0x7E for ch in value):
            raise ConfigError("a token holds characters that cannot be sent in an HTTP header")
    headers = {"Authorization": f"Bearer {token}"} if header == "bearer" else {"X-API-Key": token}
    return Probe(session, origin, headers, on_exchange=on_exchange), token, read_token
