"""Every runtime TitanClient method (executions, results, datasets, media) against the emulator.

Each test runs in-process (WSGI) and over a loopback socket. The emulator's clock is frozen and
the client's `sleep` moves it, so waiting for an execution takes no real time.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from testing.emulator import start_background_server
from titan_gitops._http import make_wsgi_transport
from titan_gitops.client import TitanClient
from titan_gitops.client.client import ExecutionTimeout
from titan_gitops.client.records import DatasetRecord, ExecutionRecord
from titan_gitops.emulator import Clock, EmulatorConfig, create_app
from titan_gitops.emulator.app import EmulatorApp
from titan_gitops.errors import AuthError, BadRequest, NotFound

TOKEN = "runtime-contract-token"
NO_DATA = "runtime-no-data-token"
SECRET = "pw-runtime-contract-2b9c77"
SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "price": {"type": "object", "properties": {"amount": {"type": "number"}}},
        "image": {"type": "string", "format": "media"},
    },
    "required": ["name", "price", "image"],
}


@dataclass
class Runtime:
    app: EmulatorApp
    clock: Clock
    connect: Callable[..., TitanClient]


@pytest.fixture(params=["in-process", "socket"])
def runtime(request: pytest.FixtureRequest) -> Iterator[Runtime]:
    clock = Clock(frozen_at=datetime(2026, 5, 4, 10, 0, 30, tzinfo=UTC))
    app = create_app(
        EmulatorConfig(tokens={TOKEN: None, NO_DATA: ["executions:read"]}), clock=clock
    )
    server = None
    if request.param == "socket":
        server, origin = start_background_server(app)
    else:
        origin = "http://titan.runtime"
    clients: list[TitanClient] = []

    def sleep(seconds: float) -> None:
        clock.advance(seconds)

    def connect(token: str = TOKEN) -> TitanClient:
        transport = make_wsgi_transport(app) if server is None else None
        client = TitanClient(
            origin,
            token,
            transport=transport,
            sleep=sleep,
            clock=clock.time,
            max_retries=0,
        )
        clients.append(client)
        return client

    yield Runtime(app, clock, connect)
    for client in clients:
        client.close()
    if server is not None:
        server.shutdown()
    app.backend.close()


def new_task(client: TitanClient, name: str = "runtime/products") -> str:
    body: dict[str, Any] = {
        "name": name,
        "urls": ["https://shop.example/products"],
        "objective": "Extract product names and prices",
        "output_schema": SCHEMA,
        "execution_type": "single",
    }
    return client.create_task(body).id


def test_the_docs_flow_run_wait_export_download(runtime: Runtime, tmp_path: Path) -> None:
    client = runtime.connect()
    task_id = new_task(client)
    started = client.run_task(task_id)
    assert isinstance(started, ExecutionRecord)
    assert started.task_id == task_id
    assert started.status == "queued"
    polled: list[str | None] = []
    final = client.wait_for_execution(
        started.id, interval=0.25, on_poll=lambda r: polled.append(r.status)
    )
    assert final.status == "completed"
    assert polled[0] == "queued"
    assert polled[-1] == "completed"
    exported = client.export_results(started.id)
    assert isinstance(exported, bytes)
    records = json.loads(exported)
    validator = Draft202012Validator(SCHEMA)
    assert records
    assert all(validator.is_valid(record) for record in records)
    as_csv = client.export_results(started.id, fmt="csv")
    downloaded = client.download_results_csv(started.id, dest=tmp_path / "out.csv")
    assert downloaded == tmp_path / "out.csv"
    assert isinstance(as_csv, bytes)
    assert (tmp_path / "out.csv").read_bytes() == as_csv
    rows = list(csv.DictReader(io.StringIO(as_csv.decode())))
    assert list(rows[0]) == ["name", "price.amount", "image"]
    assert [row["name"] for row in rows] == [record["name"] for record in records]
    written = client.export_results(started.id, dest=tmp_path / "out.json")
    assert isinstance(written, Path)
    assert written.read_bytes() == exported


def test_secret_payload_runs_and_never_comes_back(runtime: Runtime) -> None:
    client = runtime.connect()
    started = client.run_task(new_task(client), secret_payload={"password": SECRET})
    assert started.body()["secret_payload"] is True
    assert SECRET not in json.dumps(started.body())
    assert SECRET not in json.dumps(client.get_execution(started.id).body())


def test_listings_and_get(runtime: Runtime) -> None:
    client = runtime.connect()
    first, second = new_task(client, "runtime/a"), new_task(client, "runtime/b")
    ids = [client.run_task(first).id, client.run_task(first).id, client.run_task(second).id]
    assert [e.id for e in client.list_executions()] == ids
    assert [e.id for e in client.list_task_executions(first)] == ids[:2]
    assert [e.id for e in client.list_executions(task_id=second)] == ids[2:]
    assert client.get_execution(ids[0]).task_id == first
    with pytest.raises(NotFound):
        client.get_execution("00000000-0000-4000-8000-000000000000")
    with pytest.raises(NotFound):
        client.list_task_executions("00000000-0000-4000-8000-000000000000")


def test_pause_resume_stop(runtime: Runtime) -> None:
    client = runtime.connect()
    execution_id = client.run_task(new_task(client)).id
    with pytest.raises(BadRequest, match="cannot pause an execution that is queued"):
        client.pause_execution(execution_id)
    runtime.clock.advance(0.5)
    assert client.pause_execution(execution_id).status == "paused"
    assert client.resume_execution(execution_id).status == "running"
    assert client.stop_execution(execution_id).status == "cancelled"
    assert client.wait_for_execution(execution_id).status == "cancelled"
    with pytest.raises(BadRequest, match="is cancelled"):
        client.resume_execution(execution_id)


def test_wait_times_out_on_a_paused_execution(runtime: Runtime) -> None:
    client = runtime.connect()
    execution_id = client.run_task(new_task(client)).id
    runtime.clock.advance(0.5)
    client.pause_execution(execution_id)
    with pytest.raises(ExecutionTimeout) as raised:
        client.wait_for_execution(execution_id, timeout=30, interval=1)
    assert raised.value.last_status == "paused"


def test_results_metadata_and_datasets(runtime: Runtime) -> None:
    client = runtime.connect()
    task_id = new_task(client)
    execution_id = client.run_task(task_id).id
    assert client.get_results(execution_id)["available"] is False
    assert client.list_execution_datasets(execution_id) == []
    client.wait_for_execution(execution_id, interval=0.5)
    results = client.get_results(execution_id)
    assert results["available"] is True
    assert results["execution_id"] == execution_id
    datasets = client.list_execution_datasets(execution_id)
    assert len(datasets) == 1
    assert isinstance(datasets[0], DatasetRecord)
    assert datasets[0].body()["record_count"] == results["record_count"]
    later = client.run_task(task_id).id
    client.wait_for_execution(later, interval=0.5)
    of_task = client.list_task_datasets(task_id)
    assert [d.body()["execution_id"] for d in of_task] == [execution_id, later]


def test_export_before_completion_is_a_bad_request(runtime: Runtime) -> None:
    client = runtime.connect()
    execution_id = client.run_task(new_task(client)).id
    with pytest.raises(BadRequest, match="is queued"):
        client.export_results(execution_id)
    with pytest.raises(BadRequest, match="is queued"):
        client.download_results_csv(execution_id)


def test_download_media_from_a_record(runtime: Runtime, tmp_path: Path) -> None:
    client = runtime.connect()
    execution_id = client.run_task(new_task(client)).id
    client.wait_for_execution(execution_id, interval=0.5)
    exported = client.export_results(execution_id)
    assert isinstance(exported, bytes)
    link = json.loads(exported)[0]["image"]
    saved = client.download_media(link, tmp_path / "image.bin")
    assert saved.read_bytes().startswith(b"titan emulator media ")
    path_only = link[link.index("/media/") :]
    again = client.download_media(path_only, tmp_path / "again.bin")
    assert again.read_bytes() == saved.read_bytes()


def test_data_routes_need_data_read(runtime: Runtime) -> None:
    writer = runtime.connect()
    execution_id = writer.run_task(new_task(writer)).id
    limited = runtime.connect(NO_DATA)
    assert limited.get_execution(execution_id).id == execution_id
    with pytest.raises(AuthError, match="data:read"):
        limited.get_results(execution_id)
    with pytest.raises(AuthError, match="executions:write"):
        limited.stop_execution(execution_id)
