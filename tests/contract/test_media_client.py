"""TitanClient's media listing and verified download: against the emulator over a socket, and
against a hostile server on loopback that lies about sizes, checksums and where files are.

Every failed download must be one clear error naming the host, and leave no file behind (not
even a temporary one); a file already at the target stays as it was.
"""

from __future__ import annotations

import hashlib
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from testing.emulator import start_background_server
from titan_gitops.client import MediaMismatch, MediaRecord, ReadLimitExceeded, TitanClient
from titan_gitops.emulator import Clock, EmulatorConfig, create_app
from titan_gitops.errors import ApiError, ApiUnavailable, AuthError, NotFound

TOKEN = "media-client-token-9c2e"
EXECUTION = "5b0e7c1a-4d2f-4f8e-9a61-2c7d3e9f0b14"
START = datetime(2026, 6, 1, 9, 15, 0, tzinfo=UTC)
SCHEMA = {
    "type": "object",
    "properties": {"image": {"type": "string", "format": "media"}},
    "required": ["image"],
}


# --- against the emulator ------------------------------------------------------------------------


@pytest.fixture
def emulated() -> Iterator[tuple[TitanClient, Clock]]:
    clock = Clock(frozen_at=START)
    app = create_app(EmulatorConfig(tokens={TOKEN: None}), clock=clock)
    server, base_url = start_background_server(app)

    def wait(seconds: float) -> None:
        clock.advance(seconds)

    client = TitanClient(base_url, TOKEN, sleep=wait, clock=clock.time)
    yield client, clock
    client.close()
    server.shutdown()
    app.backend.close()


def finished_execution(client: TitanClient) -> str:
    body = {
        "name": "media/photos",
        "urls": ["https://shop.example/p"],
        "objective": "Extract the photo",
        "output_schema": SCHEMA,
        "execution_type": "single",
    }
    task = client.create_task(body)
    execution_id = client.run_task(task.id).id
    client.wait_for_execution(execution_id, interval=1.0)
    return execution_id


def test_every_listed_media_file_downloads_verified(
    emulated: tuple[TitanClient, Clock], tmp_path: Path
) -> None:
    client, _ = emulated
    execution_id = finished_execution(client)
    items = client.list_execution_media(execution_id)
    assert items
    assert all(isinstance(item, MediaRecord) for item in items)
    for item in items:
        saved = client.download_media_item(item, tmp_path / f"{item.id}.bin")
        data = saved.read_bytes()
        assert len(data) == item.size
        assert item.checksum == "sha256:" + hashlib.sha256(data).hexdigest()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{i.id}.bin" for i in items)


def test_an_expired_link_is_a_403_and_leaves_no_file(
    emulated: tuple[TitanClient, Clock], tmp_path: Path
) -> None:
    client, clock = emulated
    item = client.list_execution_media(finished_execution(client))[0]
    clock.advance(3 * 3600)
    with pytest.raises(AuthError, match="media link expired") as caught:
        client.download_media_item(item, tmp_path / "photo.bin")
    assert caught.value.status == 403
    assert list(tmp_path.iterdir()) == []


def test_media_of_a_missing_execution_is_not_found(emulated: tuple[TitanClient, Clock]) -> None:
    client, _ = emulated
    with pytest.raises(NotFound):
        client.list_execution_media(EXECUTION)


# --- against a hostile server --------------------------------------------------------------------


@dataclass
class Hostile:
    """A loopback server answering a media listing and files as a test arranges them."""

    base_url: str = ""
    listing: list[dict[str, Any]] = field(default_factory=list)
    files: dict[str, tuple[int, dict[str, str], bytes]] = field(default_factory=dict)
    seen: list[tuple[str, str | None]] = field(default_factory=list)


def serve(hostile: Hostile) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hostile.seen.append((self.path, self.headers.get("Authorization")))
            if self.path.startswith(f"/api/v1/executions/{EXECUTION}/media"):
                payload = {"success": True, "data": hostile.listing}
                answer = (200, {"Content-Type": "application/json"}, json.dumps(payload).encode())
            else:
                answer = hostile.files.get(self.path.split("?")[0], (404, {}, b'{"error": "no"}'))
            status, headers, body = answer
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    hostile.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    return server


@pytest.fixture
def hostile() -> Iterator[tuple[Hostile, Hostile]]:
    """The API's server and another origin (another port on loopback)."""
    api, elsewhere = Hostile(), Hostile()
    servers = [serve(api), serve(elsewhere)]
    yield api, elsewhere
    for server in servers:
        server.shutdown()
        server.server_close()


BODY = b"a photo of an espresso machine\n"


def listed(link: str, body: bytes = BODY, **overrides: Any) -> dict[str, Any]:
    item = {
        "id": "photo-1",
        "content_type": "image/jpeg",
        "size": len(body),
        "checksum": "sha256:" + hashlib.sha256(body).hexdigest(),
        "download_url": link,
        "expires_at": "2026-06-01T11:00:00.000000Z",
    }
    item.update(overrides)
    return item


def download_one(api: Hostile, tmp_path: Path) -> Path:
    with TitanClient(api.base_url, TOKEN, max_retries=0) as client:
        (item,) = client.list_execution_media(EXECUTION)
        return client.download_media_item(item, tmp_path / "photo-1.jpg")


def test_a_true_listing_downloads_and_the_token_stays_on_the_api_origin(
    hostile: tuple[Hostile, Hostile], tmp_path: Path
) -> None:
    api, elsewhere = hostile
    api.files["/files/1"] = (200, {}, BODY)
    elsewhere.files["/files/1"] = (200, {}, BODY)
    api.listing = [listed(f"{api.base_url}/files/1?sig=abc")]
    assert download_one(api, tmp_path).read_bytes() == BODY
    assert api.seen[-1] == ("/files/1?sig=abc", f"Bearer {TOKEN}")
    api.listing = [listed(f"{elsewhere.base_url}/files/1?sig=abc")]
    assert download_one(api, tmp_path).read_bytes() == BODY
    assert elsewhere.seen == [("/files/1?sig=abc", None)]


@pytest.mark.parametrize(
    ("served", "overrides", "message"),
    [
        (BODY + b"and more", {}, "the body was 39 bytes, but the listing gave 31 bytes"),
        (BODY[:5], {}, "the body was 5 bytes, but the listing gave 31 bytes"),
        (b"x" * 300_000, {}, "the body was more than 64 KiB, but the listing gave 31 bytes"),
        (
            BODY.upper(),
            {},
            f"the body's sha256 is {hashlib.sha256(BODY.upper()).hexdigest()}, but the listing "
            f"gave {hashlib.sha256(BODY).hexdigest()}",
        ),
    ],
)
def test_a_body_unlike_its_listing_is_refused_and_nothing_is_written(
    hostile: tuple[Hostile, Hostile],
    tmp_path: Path,
    served: bytes,
    overrides: dict[str, Any],
    message: str,
) -> None:
    api, _ = hostile
    api.files["/files/1"] = (200, {}, served)
    api.listing = [listed(f"{api.base_url}/files/1?sig=s3cr3t-link-token", **overrides)]
    (tmp_path / "photo-1.jpg").write_bytes(b"the previous photo")
    with pytest.raises(MediaMismatch) as caught:
        download_one(api, tmp_path)
    text = str(caught.value)
    assert text.startswith(f"GET {api.base_url}/files/1: media photo-1: "), text
    assert message in text
    assert f"nothing was written to {tmp_path / 'photo-1.jpg'}" in text
    assert "s3cr3t-link-token" not in text
    assert [p.name for p in tmp_path.iterdir()] == ["photo-1.jpg"]
    assert (tmp_path / "photo-1.jpg").read_bytes() == b"the previous photo"


def test_a_redirect_is_not_followed_and_the_other_host_hears_nothing(
    hostile: tuple[Hostile, Hostile], tmp_path: Path
) -> None:
    api, elsewhere = hostile
    elsewhere.files["/files/1"] = (200, {}, BODY)
    api.files["/files/1"] = (302, {"Location": f"{elsewhere.base_url}/files/1"}, b"")
    api.listing = [listed(f"{api.base_url}/files/1")]
    with pytest.raises(ReadLimitExceeded, match="redirects are not followed") as caught:
        download_one(api, tmp_path)
    assert elsewhere.base_url in str(caught.value)
    assert elsewhere.seen == []
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"checksum": "md5:0123456789abcdef0123456789abcdef"}, "checksum is not sha256"),
        ({"download_url": "file:///etc/passwd"}, "download_url is not an http"),
        ({"download_url": "//127.0.0.1:9/files/1"}, "download_url is not an http"),
        ({"download_url": "files/1"}, "download_url is not an http"),
    ],
)
def test_a_listing_that_cannot_be_verified_is_refused_before_any_request(
    hostile: tuple[Hostile, Hostile],
    tmp_path: Path,
    overrides: dict[str, Any],
    message: str,
) -> None:
    api, _ = hostile
    api.listing = [listed(f"{api.base_url}/files/1", **overrides)]
    with pytest.raises(MediaMismatch, match=message):
        download_one(api, tmp_path)
    assert [path for path, _ in api.seen if path.startswith("/files")] == []
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("size", ["31", -1, 3.5, None])
def test_a_listing_with_a_malformed_size_is_refused(
    hostile: tuple[Hostile, Hostile], tmp_path: Path, size: Any
) -> None:
    api, _ = hostile
    api.listing = [listed(f"{api.base_url}/files/1", size=size)]
    with pytest.raises(ApiError, match="malformed record: size"):
        download_one(api, tmp_path)


@pytest.mark.parametrize("userinfo", ["", "someone:s3cr3t-pass@"])
def test_a_link_on_an_unreachable_host_names_that_host_not_the_api(
    hostile: tuple[Hostile, Hostile], tmp_path: Path, userinfo: str
) -> None:
    api, _ = hostile
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    api.listing = [listed(f"http://{userinfo}127.0.0.1:{closed}/files/1?sig=s3cr3t-link-token")]
    with pytest.raises(ApiUnavailable) as caught:
        download_one(api, tmp_path)
    text = str(caught.value)
    assert f"could not connect to 127.0.0.1:{closed}" in text, text
    assert api.base_url.rsplit(":", 1)[1] not in text
    assert "s3cr3t" not in text
    assert list(tmp_path.iterdir()) == []
