"""Fixtures for the contract tests: one client per transport, against a fresh emulator each time."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from testing.emulator import start_background_server
from titan_gitops._http import make_wsgi_transport
from titan_gitops.client import TitanClient
from titan_gitops.emulator import EmulatorConfig, create_app

TOKEN = "contract-token"
READ_ONLY = "read-only-token"
UNKNOWN = "not-a-known-token"
ROLES = {"writer": TOKEN, "reader": READ_ONLY, "stranger": UNKNOWN}
IN_PROCESS_ORIGIN = "http://titan.contract"

ClientFactory = Callable[..., TitanClient]


@pytest.fixture(params=["in-process", "socket"])
def connect(request: pytest.FixtureRequest) -> Iterator[ClientFactory]:
    """Build clients to one fresh emulator, in-process (WSGI) or over a loopback socket."""
    servers: list[Any] = []
    clients: list[TitanClient] = []
    state: dict[str, Any] = {}

    def factory(
        role: str = "writer", *, emulator: dict[str, Any] | None = None, **kwargs: Any
    ) -> TitanClient:
        """A client as `role`: "writer" (every scope), "reader" (tasks:read), "stranger"."""
        token = ROLES[role]
        if "app" not in state:
            config = EmulatorConfig(
                db_path=":memory:",
                tokens={TOKEN: None, READ_ONLY: ["tasks:read"]},
                **(emulator or {}),
            )
            state["app"] = create_app(config)
            if request.param == "socket":
                server, base_url = start_background_server(state["app"])
                servers.append(server)
                state["origin"] = base_url
            else:
                state["origin"] = IN_PROCESS_ORIGIN
        if request.param == "in-process":
            kwargs.setdefault("transport", make_wsgi_transport(state["app"]))
        client = TitanClient(state["origin"], token, **kwargs)
        clients.append(client)
        return client

    yield factory
    for client in clients:
        client.close()
    for server in servers:
        server.shutdown()
