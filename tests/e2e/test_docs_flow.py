"""The docs' full client flow (create → run → poll → export JSON → download CSV) over real HTTP.

Once with raw HTTP calls shaped like the docs' curl examples, once with `titan-gitops run`.
"""

from __future__ import annotations

import csv
import io
import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator

from .conftest import TOKEN, Served, run_cli

pytestmark = pytest.mark.e2e
TERMINAL = {"completed", "completed_with_errors", "failed", "cancelled"}
# The poll loop gives up after this many polls rather than after a time.
MAX_POLLS = 400
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "price": {
            "type": "object",
            "properties": {"amount": {"type": "number"}, "currency": {"type": "string"}},
            "required": ["amount", "currency"],
        },
        "photo": {"type": "string", "format": "media"},
    },
    "required": ["name", "price", "photo"],
}
TASK = {
    "name": "Product monitor",
    "urls": ["https://shop.example/products"],
    "objective": "Extract product names and prices",
    "output_schema": SCHEMA,
    "execution_type": "single",
}


def open_http(url: str) -> httpx.Client:
    return httpx.Client(
        base_url=url,
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
        timeout=10,
    )


def test_docs_flow_with_raw_http(emulator: Served) -> None:
    with open_http(emulator.url) as http:
        created = http.post("/api/v1/tasks", content=json.dumps(TASK))
        assert created.status_code == 201, created.text
        assert created.json()["success"] is True
        task_id = created.json()["data"]["id"]

        started = http.post(f"/api/v1/tasks/{task_id}/run")
        assert started.status_code == 201, started.text
        execution_id = started.json()["data"]["id"]

        status = ""
        for _ in range(MAX_POLLS):
            polled = http.get(f"/api/v1/executions/{execution_id}")
            assert polled.json()["success"] is True
            status = polled.json()["data"]["status"]
            if status in TERMINAL:
                break
            time.sleep(0.05)
        assert status == "completed"

        exported = http.get(f"/api/v1/executions/{execution_id}/results/export")
        assert exported.status_code == 200
        assert exported.headers["content-disposition"].startswith("attachment")
        records = exported.json()
        validator = Draft202012Validator(SCHEMA)
        assert records
        assert all(validator.is_valid(record) for record in records)

        downloaded = http.get(f"/api/v1/executions/{execution_id}/results/download")
        assert downloaded.status_code == 200
        assert downloaded.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(downloaded.text)))
        assert list(rows[0]) == ["name", "price.amount", "price.currency", "photo"]
        assert [row["price.currency"] for row in rows] == [r["price"]["currency"] for r in records]

        # The media link in a record works over the same socket, with its own token only.
        media = httpx.get(records[0]["photo"], timeout=10)
        assert media.status_code == 200
        assert media.content.startswith(b"titan emulator media ")

        early = http.get("/api/v1/executions/not-an-id/results/export")
        assert early.status_code == 404
        assert early.json()["error"]["code"] == "NOT_FOUND"


def test_docs_flow_with_the_cli(emulator: Served, tmp_path: Path) -> None:
    with open_http(emulator.url) as http:
        created = http.post("/api/v1/tasks", content=json.dumps(TASK))
        assert created.status_code == 201, created.text
    out_json, out_csv = tmp_path / "out.json", tmp_path / "out.csv"
    result = run_cli(
        "run", "Product monitor", "--wait", "--export", str(out_json), "--csv", str(out_csv),
        "--check-schema", "--interval", "0.1",
        url=emulator.url,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ended: completed" in result.stderr
    assert "Every exported record matches the task's output_schema." in result.stderr
    records = json.loads(out_json.read_text())
    assert records
    assert all(Draft202012Validator(SCHEMA).is_valid(r) for r in records)
    rows = list(csv.DictReader(io.StringIO(out_csv.read_text())))
    assert [row["name"] for row in rows] == [record["name"] for record in records]
    assert TOKEN not in result.stdout + result.stderr


def test_a_failed_run_says_why_and_exits_1(emulator: Served) -> None:
    impossible = {
        "type": "object",
        "properties": {"code": {"type": "string", "minLength": 5, "maxLength": 2}},
        "required": ["code"],
    }
    with open_http(emulator.url) as http:
        body = {**TASK, "name": "Impossible", "output_schema": impossible}
        assert http.post("/api/v1/tasks", content=json.dumps(body)).status_code == 201
    result = run_cli("run", "Impossible", "--wait", "--interval", "0.1", url=emulator.url)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "ended: failed: " in result.stderr
    assert "cannot build a record for this output_schema" in result.stderr
    assert "Traceback" not in result.stderr


def test_check_schema_without_a_schema_says_there_is_nothing_to_check(emulator: Served) -> None:
    search = {
        "name": "Search shops",
        "urls": ["https://duckduckgo.com/html/?q=espresso"],
        "objective": "Find shops.",
        "execution_type": "single",
        "action_type": "search",
        "input_source": "static_urls",
    }
    with open_http(emulator.url) as http:
        created = http.post("/api/v1/tasks", content=json.dumps(search))
        assert created.status_code == 201, created.text
    result = run_cli(
        "run", "Search shops", "--check-schema", "--interval", "0.1", url=emulator.url
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "has no output_schema to check the records against" in result.stderr
    assert "Every exported record matches" not in result.stderr
