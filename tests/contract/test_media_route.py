"""`GET /api/v1/executions/{id}/media` over a loopback socket: listing, paging, errors, expiry.

The emulator's clock is frozen; tests move it to finish runs and to expire links.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from testing.emulator import start_background_server
from titan_gitops.emulator import Clock, EmulatorConfig, create_app
from titan_gitops.emulator.app import EmulatorApp

WRITER = "media-writer-token"
NO_DATA = "media-no-data-token"
STRANGER = "media-unknown-token"
START = datetime(2026, 6, 1, 9, 15, 0, tzinfo=UTC)
API = "/api/v1"
MEDIA_SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "image": {"type": "string", "format": "media"},
        "gallery": {
            "type": "array",
            "items": {"type": "string", "format": "media"},
            "minItems": 2,
            "maxItems": 2,
        },
    },
    "required": ["name", "image", "gallery"],
}


@dataclass
class Served:
    app: EmulatorApp
    clock: Clock
    base_url: str

    def client(self, token: str | None = WRITER) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.base_url, headers=headers)

    def finished_run(self, schema: dict[str, Any] | None = None) -> str:
        with self.client() as http:
            body = {
                "name": "media/products",
                "urls": ["https://shop.example/products"],
                "objective": "Extract product photos",
                "output_schema": schema or MEDIA_SCHEMA,
                "execution_type": "single",
            }
            task = http.post(f"{API}/tasks", json=body).json()["data"]
            execution = http.post(f"{API}/tasks/{task['id']}/run").json()["data"]
        self.clock.advance(5)
        return str(execution["id"])


@pytest.fixture
def served() -> Iterator[Served]:
    clock = Clock(frozen_at=START)
    config = EmulatorConfig(tokens={WRITER: None, NO_DATA: ["executions:read", "tasks:read"]})
    app = create_app(config, clock=clock)
    server, base_url = start_background_server(app)
    yield Served(app, clock, base_url)
    server.shutdown()
    app.backend.close()


def list_media(served: Served, execution_id: str, **query: Any) -> httpx.Response:
    with served.client() as http:
        return http.get(f"{API}/executions/{execution_id}/media", params=query)


def test_listing_names_every_media_file_once_with_a_verifiable_link(served: Served) -> None:
    execution_id = served.finished_run()
    response = list_media(served, execution_id)
    assert response.status_code == 200, response.text
    envelope = response.json()
    assert envelope["success"] is True
    items = envelope["data"]
    with served.client() as http:
        records = http.get(f"{API}/executions/{execution_id}/results/export").json()
    assert envelope["meta"] == {"total": 3 * len(records), "limit": 20, "offset": 0}
    assert len({item["id"] for item in items}) == len(items)
    for item in items:
        assert set(item) == {
            "id",
            "execution_id",
            "content_type",
            "size",
            "checksum",
            "download_url",
            "expires_at",
        }
        assert item["execution_id"] == execution_id
        assert item["download_url"].startswith(f"{served.base_url}/media/{execution_id}/")
        # The link opens without the API token, and its bytes are what the listing promised.
        body = httpx.get(item["download_url"])
        assert body.status_code == 200
        assert len(body.content) == item["size"]
        assert item["checksum"] == "sha256:" + hashlib.sha256(body.content).hexdigest()
        assert item["content_type"] == body.headers["content-type"]
    # Each media URL in the records is one listed item.
    linked = {records[0]["image"].split("?")[0], *(u.split("?")[0] for u in records[0]["gallery"])}
    listed = {item["download_url"].split("?")[0] for item in items}
    assert linked <= listed


def test_listing_is_stable_within_a_window_and_expires_after_it(served: Served) -> None:
    execution_id = served.finished_run()
    first = list_media(served, execution_id).json()["data"]
    served.clock.advance(60)
    assert list_media(served, execution_id).json()["data"] == first
    assert first[0]["expires_at"] > "2026-06-01T10:15:00"
    served.clock.advance(2 * 3600)
    expired = httpx.get(first[0]["download_url"])
    assert expired.status_code == 403
    assert expired.json() == {"error": "media link expired"}
    fresh = list_media(served, execution_id).json()["data"][0]
    assert fresh["download_url"] != first[0]["download_url"]
    assert httpx.get(fresh["download_url"]).status_code == 200


def test_a_link_with_a_moved_expiry_is_refused(served: Served) -> None:
    execution_id = served.finished_run()
    link = list_media(served, execution_id).json()["data"][0]["download_url"]
    expires = link.split("expires=")[1].split("&")[0]
    forged = link.replace(f"expires={expires}", f"expires={int(expires) + 3600}")
    response = httpx.get(forged)
    assert response.status_code == 403
    assert response.json() == {"error": "invalid media token"}


@pytest.mark.parametrize("token", ["\u00e9" * 40, "\u0430" + "0" * 39, "%FF" * 40])
def test_a_link_token_outside_ascii_is_refused_like_any_wrong_token(
    served: Served, token: str
) -> None:
    execution_id = served.finished_run()
    link = list_media(served, execution_id).json()["data"][0]["download_url"]
    signed = link.split("token=")[1]
    response = httpx.get(link.replace(f"token={signed}", f"token={token}"))
    assert response.status_code == 403
    assert response.json() == {"error": "invalid media token"}


def test_listing_pages_like_every_other_list(served: Served) -> None:
    execution_id = served.finished_run()
    every = list_media(served, execution_id, limit=100).json()["data"]
    pages = []
    for offset in range(len(every)):
        page = list_media(served, execution_id, limit=1, offset=offset).json()
        assert page["meta"] == {"total": len(every), "limit": 1, "offset": offset}
        pages.extend(page["data"])
    assert pages == every
    beyond = list_media(served, execution_id, limit=500, offset=len(every)).json()
    assert beyond["data"] == []
    assert beyond["meta"]["limit"] == 100
    bad = list_media(served, execution_id, limit="x")
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "BAD_REQUEST"


def test_an_unfinished_execution_or_a_schema_without_media_lists_nothing(served: Served) -> None:
    plain = {"type": "object", "properties": {"name": {"type": "string"}}}
    execution_id = served.finished_run(plain)
    assert list_media(served, execution_id).json()["data"] == []
    with served.client() as http:
        task_id = http.get(f"{API}/executions/{execution_id}").json()["data"]["task_id"]
        running = http.post(f"{API}/tasks/{task_id}/run").json()["data"]["id"]
    response = list_media(served, running)
    assert response.status_code == 200
    assert response.json()["data"] == []


def test_a_missing_execution_is_a_404(served: Served) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    response = list_media(served, missing)
    assert response.status_code == 404
    assert response.json()["success"] is False
    assert response.json()["error"]["code"] == "NOT_FOUND"


@pytest.mark.parametrize(
    ("token", "status", "code"),
    [(None, 401, "UNAUTHORIZED"), (STRANGER, 401, "UNAUTHORIZED"), (NO_DATA, 403, "FORBIDDEN")],
)
def test_a_foreign_token_is_refused_as_on_other_data_routes(
    served: Served, token: str | None, status: int, code: str
) -> None:
    execution_id = served.finished_run()
    with served.client(token) as http:
        media = http.get(f"{API}/executions/{execution_id}/media")
        datasets = http.get(f"{API}/executions/{execution_id}/datasets")
    assert media.status_code == datasets.status_code == status
    assert media.json()["error"]["code"] == code
    assert media.json()["error"]["message"] == datasets.json()["error"]["message"]
