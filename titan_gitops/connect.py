"""Turns a resolved Target into a TitanClient: a remote origin, or the embedded emulator in-process.

This is the one place outside the tests that wires the emulator into the product (DESIGN.md rule 6).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import TYPE_CHECKING

from titan_gitops.settings import Target

if TYPE_CHECKING:
    from titan_gitops._http import Transport
    from titan_gitops.client import TitanClient
    from titan_gitops.emulator import EmulatorApp
    from titan_gitops.secrets import SecretSet

EMBEDDED_ORIGIN = "http://titan.local"
EMBEDDED_DB = "emulator.sqlite3"


def open_client(
    target: Target,
    *,
    secrets: SecretSet | None = None,
    announce: Callable[[str], None] | None = None,
    timeout: float = 30.0,
) -> TitanClient:
    """Build a client for `target`; for the embedded emulator, say so once through `announce`.

    `secrets` are masked in every error the client raises (its token always is). The target's
    read limits bound every answer and the whole command (its deadline starts now).
    """
    from titan_gitops.client import TitanClient

    token = target.token.reveal() if target.token else None
    if target.api_url is not None:
        return TitanClient(
            target.api_url,
            token,
            timeout=timeout,
            auth_header=target.auth_header,
            secrets=secrets,
            limits=target.limits,
        )

    from titan_gitops._http import make_wsgi_transport

    app = _open_embedded(target)
    if announce is not None:
        announce(f"titan-gitops: using {target.describe()}. {_why_embedded(target)}")
    return TitanClient(
        EMBEDDED_ORIGIN,
        token,
        transport=make_wsgi_transport(app),
        timeout=timeout,
        secrets=secrets,
        limits=target.limits,
    )


def _why_embedded(target: Target) -> str:
    """Why the embedded emulator is the target, and how to target Titan instead."""
    if target.chosen_local:
        return "TITAN_API_URL=local chooses it; set TITAN_API_URL and TITAN_TOKEN to target Titan."
    return "No TITAN_API_URL is set; set it and TITAN_TOKEN to target Titan."


def _open_embedded(target: Target) -> EmulatorApp:
    """The embedded emulator on its state in `target.state_dir` (made, and kept out of git).

    Raises:
        ConfigError: the state folder or its database cannot be made or opened; the message
            names it and how to start afresh.
    """
    from titan_gitops.atomic import make_directory, write_text_atomic
    from titan_gitops.emulator import EmulatorConfig, create_app
    from titan_gitops.errors import ConfigError

    make_directory(target.state_dir)
    ignore = target.state_dir / ".gitignore"
    if not ignore.exists():
        # The state is a throwaway local service: keep it out of the user's repository.
        write_text_atomic(ignore, "*\n")
    database = target.state_dir / EMBEDDED_DB
    try:
        return create_app(EmulatorConfig(db_path=str(database), open_access=True))
    except (sqlite3.Error, OSError) as exc:
        raise ConfigError(
            f"cannot open the embedded emulator's state {database}: {exc}; "
            f"remove {target.state_dir} to start afresh"
        ) from None


# The selftest's own emulator: fast runs (a fraction of a second) and rate limiting on, so every
# expectation, the rate-limit headers included, has something to check.
SELFTEST_EXECUTION_SECONDS = 0.3
SELFTEST_RATE_LIMIT = 600


def open_selftest_emulator(token: str, read_token: str | None = None) -> Transport:
    """A fresh in-memory emulator that needs `token`, for `selftest` with no target.

    Not the embedded emulator's state in `.titan-local/`: open access would make the
    credential checks meaningless, and a selftest must leave a user's local state alone.
    """
    from titan_gitops._http import make_wsgi_transport
    from titan_gitops.emulator import EmulatorConfig, create_app

    config = EmulatorConfig(
        db_path=":memory:",
        tokens={token: None, **({read_token: ["tasks:read"]} if read_token else {})},
        rate_limit=SELFTEST_RATE_LIMIT,
        execution_seconds=SELFTEST_EXECUTION_SECONDS,
    )
    return make_wsgi_transport(create_app(config))
