"""Previews over a loopback socket: the task and template routes, the daily quota, its reset at
00:00 UTC on the emulator's clock, and a client that never retries a spent quota."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import jsonschema
import pytest

from testing.emulator import start_background_server
from titan_gitops.client import TitanClient
from titan_gitops.emulator import Clock, EmulatorConfig, create_app
from titan_gitops.emulator.app import EmulatorApp
from titan_gitops.errors import PreviewQuotaExceeded, RateLimited

TOKEN = "preview-contract-token"
OTHER = "preview-other-token"
# An hour before midnight UTC, so the quota's reset is exactly 3600 s away.
START = datetime(2026, 11, 29, 23, 0, 0, tzinfo=UTC)
MIDNIGHT = int(datetime(2026, 11, 30, tzinfo=UTC).timestamp())
SCHEMA = {
    "type": "object",
    "required": ["title", "price"],
    "properties": {"title": {"type": "string"}, "price": {"type": "number", "minimum": 0}},
}


def task_body(name: str = "shop") -> dict[str, Any]:
    return {
        "name": name,
        "urls": ["https://shop.example/products"],
        "objective": "Extract product titles and prices",
        "output_schema": SCHEMA,
        "execution_type": "single",
    }


@dataclass
class Served:
    """One emulator on a loopback port with a request counter in front of it."""

    app: EmulatorApp
    base_url: str
    seen: list[str] = field(default_factory=list)

    def post(self, path: str, body: Any = None, token: str = TOKEN) -> httpx.Response:
        return httpx.post(
            f"{self.base_url}{path}", json=body, headers={"Authorization": f"Bearer {token}"}
        )

    def client(self, **kwargs: Any) -> TitanClient:
        settings: dict[str, Any] = {
            "max_retries": 3,
            "backoff_base": 0.01,
            "timeout": 5.0,
            "clock": self.app.clock.time,
        }
        settings.update(kwargs)
        return TitanClient(self.base_url, TOKEN, **settings)


@pytest.fixture
def serve() -> Iterator[Callable[..., Served]]:
    servers: list[Any] = []

    def start(**config: Any) -> Served:
        app = create_app(
            EmulatorConfig(tokens={TOKEN: None, OTHER: None}, **config),
            clock=Clock(frozen_at=START),
        )
        seen: list[str] = []

        def counting(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
            seen.append(f"{environ['REQUEST_METHOD']} {environ['PATH_INFO']}")
            return app(environ, start_response)

        server, base_url = start_background_server(counting)
        servers.append(server)
        return Served(app, base_url, seen)

    yield start
    for server in servers:
        server.shutdown()


def test_a_task_preview_is_a_deterministic_sample_valid_against_its_schema(
    serve: Callable[..., Served],
) -> None:
    served = serve()
    first = served.post("/api/v1/tasks/preview", task_body())
    assert first.status_code == 200, first.text
    preview = first.json()["data"]
    assert preview["count"] == len(preview["records"]) == 3
    for record in preview["records"]:
        jsonschema.validate(record, SCHEMA)
    again = served.post("/api/v1/tasks/preview", task_body())
    assert again.json()["data"]["records"] == preview["records"]
    assert first.headers["X-Preview-Limit"] == "50"
    assert [first.headers["X-Preview-Remaining"], again.headers["X-Preview-Remaining"]] == [
        "49",
        "48",
    ]
    # Nothing is stored: a preview is not a task.
    listed = httpx.get(
        f"{served.base_url}/api/v1/tasks", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert listed.json()["data"] == []


def test_a_bad_task_body_is_400_naming_the_field_and_spends_nothing(
    serve: Callable[..., Served],
) -> None:
    served = serve(preview_quota=1)
    body = {**task_body(), "urls": ["ftp://nope"]}
    refused = served.post("/api/v1/tasks/preview", body)
    assert refused.status_code == 400
    assert "urls" in refused.json()["error"]["message"]
    assert served.post("/api/v1/tasks/preview", task_body()).status_code == 200


def test_both_previews_share_the_quota_then_429_until_midnight_utc(
    serve: Callable[..., Served],
) -> None:
    served = serve(preview_quota=2, rate_limit=100)
    assert served.post("/api/v1/tasks/preview", task_body()).status_code == 200
    assert served.post("/api/v1/templates/site-crawl/preview", {}).status_code == 200
    tries = [("/api/v1/tasks/preview", task_body()), ("/api/v1/templates/site-crawl/preview", {})]
    for path, body in tries:
        over = served.post(path, body)
        assert over.status_code == 429
        assert over.json() == {
            "success": False,
            "error": {
                "code": "preview_limit_exceeded",
                "message": "the daily preview quota of 2 is used up; it resets at "
                "2026-11-30T00:00:00Z",
                "limit": 2,
                "used": 2,
                "reset_at": "2026-11-30T00:00:00Z",
            },
        }
        assert over.headers["X-Preview-Limit"] == "2"
        assert over.headers["X-Preview-Remaining"] == "0"
        assert over.headers["X-Preview-Reset"] == str(MIDNIGHT)
        assert over.headers["Retry-After"] == "3600"
        # The per-minute budget is a different thing: it has budget left, and no reset to wait.
        assert "X-RateLimit-Reset" not in over.headers
        assert int(over.headers["X-RateLimit-Remaining"]) > 0
    assert served.post("/api/v1/tasks/preview", task_body(), token=OTHER).status_code == 200
    served.app.clock.advance(3599)
    assert served.post("/api/v1/tasks/preview", task_body()).status_code == 429
    served.app.clock.advance(1)
    renewed = served.post("/api/v1/tasks/preview", task_body())
    assert renewed.status_code == 200
    assert renewed.headers["X-Preview-Remaining"] == "1"


def test_a_quota_of_zero_refuses_every_preview_and_none_turns_it_off(
    serve: Callable[..., Served],
) -> None:
    assert serve(preview_quota=0).post("/api/v1/tasks/preview", task_body()).status_code == 429
    unlimited = serve(preview_quota=None)
    answers = [unlimited.post("/api/v1/tasks/preview", task_body()) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert "X-Preview-Limit" not in answers[0].headers


def test_the_client_previews_both_and_never_retries_a_spent_quota(
    serve: Callable[..., Served],
) -> None:
    served = serve(preview_quota=2)
    waits: list[float] = []
    with served.client(sleep=waits.append) as client:
        assert client.preview_task(task_body())["count"] == 3
        template = client.preview_template("site-crawl", {"urls": ["https://shop.example/"]})
        assert template["template_slug"] == "site-crawl"
        before = len(served.seen)
        with pytest.raises(PreviewQuotaExceeded) as caught:
            client.preview_task(task_body())
        with pytest.raises(PreviewQuotaExceeded):
            client.preview_template("site-crawl", {})
        assert client.retry_count == 0
    assert served.seen[before:] == [
        "POST /api/v1/tasks/preview",
        "POST /api/v1/templates/site-crawl/preview",
    ]
    assert waits == []
    error = caught.value
    assert not isinstance(error, RateLimited)
    assert error.status == 429
    assert error.code == "preview_limit_exceeded"
    assert error.resets_in == pytest.approx(3600, abs=1)
    assert str(error) == (
        "POST /api/v1/tasks/preview HTTP 429 preview_limit_exceeded: the daily preview quota of "
        "2 is used up; it resets at 2026-11-30T00:00:00Z"
    )
