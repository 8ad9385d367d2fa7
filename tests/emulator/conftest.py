"""Fixtures for the emulator's own tests: in-process clients to a fresh emulator per test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from titan_gitops.emulator import Clock, EmulatorConfig, create_app
from titan_gitops.emulator.app import EmulatorApp

WRITER = "writer-token"
READER = "reader-token"
ORIGIN = "http://titan.test"
START = datetime(2026, 11, 28, 21, 52, 10, tzinfo=UTC)

ClientFactory = Callable[..., httpx.Client]


def task_body(name: str = "shop/products", **overrides: Any) -> dict[str, Any]:
    """A valid classic task body, with `overrides` applied (None removes a key)."""
    body: dict[str, Any] = {
        "name": name,
        "urls": ["https://shop.example/products"],
        "objective": "Extract product names and prices",
        "output_schema": {
            "type": "object",
            "properties": {"name": {"type": "string"}, "price": {"type": "number"}},
        },
        "execution_type": "single",
    }
    for key, value in overrides.items():
        if value is None:
            body.pop(key, None)
        else:
            body[key] = value
    return body


def connect(app: EmulatorApp, token: str | None = WRITER, **kwargs: Any) -> httpx.Client:
    """An in-process httpx client to `app` sending `token` as a bearer token."""
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return httpx.Client(
        transport=httpx.WSGITransport(app=app), base_url=ORIGIN, headers=headers, **kwargs
    )


@pytest.fixture
def make_app() -> Iterator[Callable[..., EmulatorApp]]:
    """Build emulators (writer and reader tokens by default); closes their state afterwards."""
    apps: list[EmulatorApp] = []

    def factory(*, clock: Clock | None = None, **settings: Any) -> EmulatorApp:
        settings.setdefault("tokens", {WRITER: None, READER: ["tasks:read"]})
        app = create_app(EmulatorConfig(**settings), clock=clock)
        apps.append(app)
        return app

    yield factory
    for app in apps:
        app.backend.close()


@pytest.fixture
def app(make_app: Callable[..., EmulatorApp]) -> EmulatorApp:
    """A fresh in-memory emulator."""
    return make_app()


@pytest.fixture
def client(app: EmulatorApp) -> Iterator[httpx.Client]:
    """A client with every scope."""
    with connect(app) as http:
        yield http
