"""Credentials, scopes, open access and the per-caller rate limit."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import httpx
import pytest

from titan_gitops.emulator import Clock, EmulatorConfig
from titan_gitops.emulator.app import EmulatorApp

from .conftest import ORIGIN, READER, START, WRITER, connect, task_body

ROUTES_AND_SCOPES = [
    ("GET", "/api/v1/tasks", "tasks:read"),
    ("POST", "/api/v1/tasks", "tasks:write"),
    ("GET", "/api/v1/tasks/{id}", "tasks:read"),
    ("PATCH", "/api/v1/tasks/{id}", "tasks:write"),
    ("PUT", "/api/v1/tasks/{id}", "tasks:write"),
    ("DELETE", "/api/v1/tasks/{id}", "tasks:write"),
    ("GET", "/api/v1/templates", "tasks:read"),
    ("GET", "/api/v1/templates/site-crawl", "tasks:read"),
    ("POST", "/api/v1/templates/site-crawl/preview", "tasks:write"),
]


def test_no_credential_is_401(app: EmulatorApp) -> None:
    with connect(app, token=None) as client:
        response = client.get("/api/v1/tasks")
    assert response.status_code == 401
    assert response.json()["success"] is False
    assert response.json()["error"]["code"] == "UNAUTHORIZED"


def test_an_unknown_token_is_401_without_echoing_it(app: EmulatorApp) -> None:
    canary = "canary-7f3a9c1e"
    with connect(app, token=canary) as client:
        response = client.get("/api/v1/tasks")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "UNAUTHORIZED"
    assert canary not in response.text


def test_unknown_routes_ask_for_credentials_first(app: EmulatorApp) -> None:
    with connect(app, token=None) as client:
        assert client.get("/api/v1/nowhere").status_code == 401


def test_other_authorization_schemes_are_not_credentials(app: EmulatorApp) -> None:
    with connect(app, token=None) as client:
        basic = client.get("/api/v1/tasks", headers={"Authorization": f"Basic {WRITER}"})
        empty = client.get("/api/v1/tasks", headers={"Authorization": "Bearer "})
    assert basic.status_code == 401
    assert empty.status_code == 401


def test_bearer_and_x_api_key_are_both_accepted(app: EmulatorApp) -> None:
    with connect(app, token=None) as client:
        bearer = client.get("/api/v1/tasks", headers={"Authorization": f"bearer {WRITER}"})
        api_key = client.get("/api/v1/tasks", headers={"X-API-Key": WRITER})
    assert bearer.status_code == 200
    assert api_key.status_code == 200


def test_authorization_wins_over_x_api_key(app: EmulatorApp) -> None:
    with connect(app, token=READER) as client:
        response = client.post("/api/v1/tasks", json=task_body(), headers={"X-API-Key": WRITER})
    assert response.status_code == 403


@pytest.mark.parametrize(("method", "path", "scope"), ROUTES_AND_SCOPES)
def test_each_route_needs_its_scope(
    make_app: Callable[..., EmulatorApp], method: str, path: str, scope: str
) -> None:
    other = "tasks:write" if scope == "tasks:read" else "tasks:read"
    app = make_app(tokens={WRITER: None, "narrow": [other, "data:read"], "exact": [scope]})
    with connect(app) as writer:
        task_id = writer.post("/api/v1/tasks", json=task_body()).json()["data"]["id"]
    url = path.format(id=task_id)
    body = task_body() if method in ("POST", "PUT", "PATCH") else None
    if url.endswith("/preview"):
        body = {}
    with connect(app, token="narrow") as narrow:
        denied = narrow.request(method, url, json=body)
    assert denied.status_code == 403
    assert denied.json()["error"] == {
        "code": "FORBIDDEN",
        "message": f"token lacks the '{scope}' scope",
    }
    with connect(app, token="exact") as exact:
        allowed = exact.request(method, url, json=body)
    assert allowed.status_code in (200, 201), allowed.text


def test_open_access_needs_no_token_and_grants_every_scope(
    make_app: Callable[..., EmulatorApp],
) -> None:
    app = make_app(tokens={}, open_access=True)
    with connect(app, token=None) as client:
        created = client.post("/api/v1/tasks", json=task_body())
        listed = client.get("/api/v1/tasks")
    with connect(app, token="anything-at-all") as client:
        assert client.get("/api/v1/tasks").status_code == 200
    assert created.status_code == 201
    assert listed.json()["meta"]["total"] == 1


def test_without_tokens_or_open_access_everything_is_401(
    make_app: Callable[..., EmulatorApp],
) -> None:
    app = make_app(tokens={})
    with connect(app, token="x") as client:
        assert client.get("/api/v1/tasks").status_code == 401


def test_config_rejects_unknown_scopes_without_naming_the_token() -> None:
    with pytest.raises(ValueError, match="unknown scope 'tasks:admin'") as raised:
        EmulatorConfig(tokens={"secret-token-value": ["tasks:admin"]})
    assert "secret-token-value" not in str(raised.value)


def test_config_repr_hides_tokens() -> None:
    config = EmulatorConfig(tokens={"secret-token-value": None}, admin_token="admin-secret")
    assert "secret-token-value" not in repr(config)
    assert "admin-secret" not in repr(config)


def test_no_rate_limit_headers_when_limiting_is_off(client: httpx.Client) -> None:
    response = client.get("/api/v1/tasks")
    assert not [name for name in response.headers if name.lower().startswith("x-ratelimit")]


def test_rate_limit_counts_down_then_429s_until_the_window_resets(
    make_app: Callable[..., EmulatorApp],
) -> None:
    clock = Clock(frozen_at=START)
    app = make_app(rate_limit=3, clock=clock)
    window_end = int((START + timedelta(minutes=1)).timestamp())
    with connect(app) as client:
        remaining = []
        for _ in range(3):
            response = client.get("/api/v1/tasks")
            assert response.status_code == 200
            assert response.headers["X-RateLimit-Limit"] == "3"
            assert "X-RateLimit-Reset" not in response.headers
            remaining.append(response.headers["X-RateLimit-Remaining"])
        assert remaining == ["2", "1", "0"]
        blocked = client.get("/api/v1/tasks")
        assert blocked.status_code == 429
        assert blocked.json()["error"]["code"] == "TOO_MANY_REQUESTS"
        assert blocked.headers["X-RateLimit-Remaining"] == "0"
        assert blocked.headers["X-RateLimit-Reset"] == str(window_end)
        clock.advance(59.5)
        assert client.get("/api/v1/tasks").status_code == 429
        # A new window opens after 60 s; blocked requests spent nothing; errors carry headers.
        clock.advance(0.5)
        after = client.get("/api/v1/tasks/not-a-task")
    assert after.status_code == 404
    assert after.headers["X-RateLimit-Remaining"] == "2"


def test_rate_limit_is_per_token(make_app: Callable[..., EmulatorApp]) -> None:
    app = make_app(rate_limit=1, clock=Clock(frozen_at=START))
    with connect(app) as writer, connect(app, token=READER) as reader:
        assert writer.get("/api/v1/tasks").status_code == 200
        assert writer.get("/api/v1/tasks").status_code == 429
        assert reader.get("/api/v1/tasks").status_code == 200


def test_callers_without_a_known_token_share_their_address_budget(
    make_app: Callable[..., EmulatorApp],
) -> None:
    app = make_app(rate_limit=1, clock=Clock(frozen_at=START))
    transport = httpx.WSGITransport(app=app, remote_addr="10.0.0.7")
    with httpx.Client(transport=transport, base_url=ORIGIN) as stranger:
        first = stranger.get("/api/v1/tasks")
        second = stranger.get("/api/v1/tasks", headers={"Authorization": "Bearer nope"})
    assert first.status_code == 401
    assert first.headers["X-RateLimit-Remaining"] == "0"
    assert second.status_code == 429
