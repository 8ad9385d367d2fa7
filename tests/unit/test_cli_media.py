"""`run TASK --wait --media DIR`: every media file of the finished execution, verified, in DIR.

Against the embedded emulator (the user's flow), and against a hostile service on loopback
that lists unsafe ids or lies about a file: one error line naming what is wrong, exit 1, and
nothing written outside DIR nor half-written inside it.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from titan_gitops.cli import main

TASK = "shop-product-images"


def error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("error:")]


def temporaries(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.endswith((".tmp", ".part"))]


def test_run_media_downloads_every_media_file_of_the_execution(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["apply", "defs", "--auto-approve"]) == 0
    capsys.readouterr()
    argv = ["run", TASK, "--interval", "0.05", "--export", "out/r.json", "--media", "out/media"]
    assert main(argv) == 0
    err = capsys.readouterr().err
    records = json.loads((workdir / "out" / "r.json").read_text(encoding="utf-8"))
    # One file per media link in the records, named by the key the link carries.
    links = [
        re.fullmatch(r"http://titan\.local/media/[^/]+/(\w+)\?token=\w+", r["image"])
        for r in records
    ]
    keys = sorted(link.group(1) for link in links if link is not None)
    assert len(keys) == len(records)
    files = sorted((workdir / "out" / "media").iterdir())
    assert [f.name for f in files] == [f"{key}.bin" for key in keys]
    for key, path in zip(keys, files, strict=True):
        assert path.read_bytes().startswith(f"titan emulator media {key}\n".encode())
    total = sum(f.stat().st_size for f in files)
    plural = "" if len(files) == 1 else "s"
    line = (
        f"Wrote {len(files)} media file{plural} ({total:,} bytes, size and sha256 verified) "
        "to out/media."
    )
    assert line in err.splitlines(), err
    assert temporaries(workdir) == []


def executions_held(capsys: pytest.CaptureFixture[str]) -> list[object]:
    capsys.readouterr()
    assert main(["executions", "list", "--output", "json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert isinstance(found, list)
    return found


@pytest.mark.parametrize(
    ("media", "message"),
    [
        ("afile", "error: cannot write to afile: it exists and is not a folder"),
        ("afile/media", "error: cannot write to afile/media: afile is not a folder"),
        ("/proc/media", "error: cannot write to /proc/media: no new file can be created in /proc"),
    ],
)
def test_a_media_folder_that_cannot_be_written_starts_no_execution(
    media: str, message: str, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (workdir / "afile").write_text("x")
    assert main(["apply", "defs", "--auto-approve"]) == 0
    assert executions_held(capsys) == []
    assert main(["run", TASK, "--media", media]) == 1
    err = capsys.readouterr().err
    assert error_lines(err) == [message], err
    assert "Started execution" not in err
    assert executions_held(capsys) == []


# --- a hostile service ---------------------------------------------------------------------------

TASK_ID = "0b7e9a6c-1f43-4c2d-8e5a-6d9f2b3c4a10"
EXECUTION_ID = "3c9d1e2f-5a6b-4c7d-8e9f-0a1b2c3d4e5f"
BODY = b"a photo\n"


@dataclass
class Service:
    """Just enough of a Task Service for `run --media`, with a media listing a test sets."""

    base_url: str = ""
    media: list[dict[str, Any]] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)
    schema: dict[str, Any] = field(default_factory=lambda: {"type": "object"})
    # Bodies answered as they are for a route, in place of the envelope.
    raw: dict[str, bytes] = field(default_factory=dict)


def answer(service: Service, path: str) -> tuple[int, bytes]:
    route = path.split("?")[0]
    api = "/api/v1"
    task = {"id": TASK_ID, "name": TASK, "output_schema": service.schema}
    execution = {"id": EXECUTION_ID, "task_id": TASK_ID, "status": "completed"}
    data: Any = {
        f"{api}/tasks/{TASK_ID}": task,
        f"{api}/tasks/{TASK_ID}/run": {**execution, "status": "queued"},
        f"{api}/executions/{EXECUTION_ID}": execution,
        f"{api}/executions/{EXECUTION_ID}/media": service.media,
    }.get(route)
    if route in service.raw:
        return 200, service.raw[route]
    if data is not None:
        return 200, json.dumps({"success": True, "data": data}).encode()
    if route in service.files:
        return 200, service.files[route]
    return 404, b'{"success": false, "error": {"code": "NOT_FOUND", "message": "no"}}'


@pytest.fixture
def service(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Service]:
    found = Service()

    class Handler(BaseHTTPRequestHandler):
        def _reply(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            status, body = answer(found, self.path)
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _reply

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    found.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TITAN_API_URL", found.base_url)
    monkeypatch.setenv("TITAN_TOKEN", "media-cli-token-4e1d")
    yield found
    server.shutdown()
    server.server_close()


def item(media_id: Any, link: str, body: bytes = BODY, **overrides: Any) -> dict[str, Any]:
    return {
        "id": media_id,
        "size": len(body),
        "checksum": "sha256:" + hashlib.sha256(body).hexdigest(),
        "download_url": link,
        "content_type": "image/jpeg",
        **overrides,
    }


def run_media(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["run", TASK_ID, "--interval", "0.01", "--media", "media"])
    err = capsys.readouterr().err
    assert "media-cli-token-4e1d" not in err
    assert temporaries(tmp_path) == []
    return code, err


def test_media_from_a_remote_service_are_named_by_id_and_type(
    service: Service, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    service.files = {"/f/1": BODY, "/f/2": b"{}"}
    service.media = [
        item("photo-1", f"{service.base_url}/f/1"),
        item("spec.v2", "/f/2", b"{}", content_type="application/json; charset=utf-8"),
    ]
    code, err = run_media(tmp_path, capsys)
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "media").iterdir()) == ["photo-1.jpg", "spec.v2.json"]
    assert (tmp_path / "media" / "photo-1.jpg").read_bytes() == BODY


@pytest.mark.parametrize(
    "media_id",
    [
        *("../../evil", "/etc/evil", ".hidden", "a/b", "a\\b", "..", "x" * 101, "tab\there"),
        *("a:b", "photo\n", "photo\r\n", "photo\x00"),
    ],
)
def test_an_id_that_is_not_a_plain_file_name_is_refused_before_any_download(
    media_id: Any, service: Service, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    service.files = {"/f/1": BODY}
    service.media = [item("first", "/f/1"), item(media_id, "/f/1")]
    code, err = run_media(tmp_path, capsys)
    assert code == 1
    (line,) = error_lines(err)
    assert line.startswith("error: the service listed a media id "), line
    assert line.endswith(
        "that is not a plain file name (letters, digits, '.', '_', '-'); nothing was downloaded"
    )
    assert not any(c in line for c in "\t\r\n\x00")
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == []


@pytest.mark.parametrize("media_id", [7, None])
def test_an_id_that_is_not_a_string_is_a_malformed_listing(
    media_id: Any, service: Service, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    service.media = [item(media_id, "/f/1")]
    code, err = run_media(tmp_path, capsys)
    assert code == 1
    assert error_lines(err) == [
        f"error: GET /api/v1/executions/{EXECUTION_ID}/media: the service returned a malformed "
        "record: id: Input should be a valid string"
    ]
    assert not (tmp_path / "media").exists()


def test_ids_naming_the_same_file_are_refused(
    service: Service, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    service.files = {"/f/1": BODY}
    service.media = [item("Photo", "/f/1"), item("photo", "/f/1")]
    code, err = run_media(tmp_path, capsys)
    assert code == 1
    assert error_lines(err) == [
        "error: the service listed the media ids Photo and photo, which name the same file; "
        "nothing was downloaded"
    ]
    assert not (tmp_path / "media").exists()


def test_a_file_unlike_its_listing_is_one_error_naming_the_host_and_no_file(
    service: Service, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    service.files = {"/f/1": BODY + b"extra"}
    service.media = [item("photo-1", "/f/1")]
    code, err = run_media(tmp_path, capsys)
    assert code == 1
    assert error_lines(err) == [
        f"error: GET {service.base_url}/f/1: media photo-1: the body was 13 bytes, but the "
        f"listing gave 8 bytes; nothing was written to {Path('media') / 'photo-1.jpg'}"
    ]
    assert list((tmp_path / "media").iterdir()) == []


def test_a_listing_nested_too_deeply_to_read_is_one_error_naming_the_route(
    service: Service, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    route = f"/api/v1/executions/{EXECUTION_ID}/media"
    service.raw = {route: b'{"success": true, "data": ' + b"[" * 5000 + b"]" * 5000 + b"}"}
    code, err = run_media(tmp_path, capsys)
    assert code == 1
    (line,) = error_lines(err)
    assert line.startswith(
        f"error: GET {route} HTTP 200: the service answered with JSON nested too deeply to read: "
    ), line
    assert not (tmp_path / "media").exists()


def test_an_export_nested_too_deeply_to_read_is_one_error(
    service: Service, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export = f"/api/v1/executions/{EXECUTION_ID}/results/export"
    service.raw = {export: b"[" * 5000 + b"]" * 5000}
    assert main(["run", TASK_ID, "--interval", "0.01", "--check-schema"]) == 1
    err = capsys.readouterr().err
    assert error_lines(err) == ["error: the results export is nested too deeply to read"], err


def test_a_secret_payload_nested_too_deeply_to_read_is_one_error_and_starts_nothing(
    service: Service, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "deep.json").write_text("[" * 5000 + "]" * 5000, encoding="utf-8")
    assert main(["run", TASK_ID, "--secret-payload", "deep.json"]) == 1
    err = capsys.readouterr().err
    assert error_lines(err) == ["error: deep.json: the secret payload is nested too deeply to read"]
    assert "Started execution" not in err


def test_a_record_key_holding_a_slash_or_tilde_is_named_by_an_escaped_pointer(
    service: Service, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    service.schema = {"type": "object", "additionalProperties": {"type": "number"}}
    export = f"/api/v1/executions/{EXECUTION_ID}/results/export"
    service.raw = {export: json.dumps([{"price/usd": 1, "a~b/c": "cheap"}]).encode()}
    assert main(["run", TASK_ID, "--interval", "0.01", "--check-schema"]) == 1
    err = capsys.readouterr().err
    assert "schema: record 0: /a~0b~1c: 'cheap' is not of type 'number'" in err.splitlines(), err
