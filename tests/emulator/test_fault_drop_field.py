"""The `drop_field` fault: the service acts, then forgets one field of the task it answers with."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from titan_gitops.emulator import EmulatorConfig, create_app
from titan_gitops.emulator.faults import FaultRule, load_fault_file

TOKEN = "drop-field-token"


def task_body() -> dict[str, Any]:
    return {
        "name": "shop-one",
        "urls": ["https://shop.example/p"],
        "objective": "Extract prices",
        "output_schema": {"type": "object", "properties": {"price": {"type": "number"}}},
        "execution_type": "single",
    }


def make_client(*rules: FaultRule) -> httpx.Client:
    app = create_app(EmulatorConfig(tokens={TOKEN: None}, faults=rules, rate_limit=50))
    return httpx.Client(
        transport=httpx.WSGITransport(app=app),
        base_url="http://titan.test",
        headers={"Authorization": f"Bearer {TOKEN}"},
    )


def test_drop_field_removes_the_field_from_the_answer_only() -> None:
    rule = FaultRule(kind="drop_field", field="urls", method="PATCH", path="/api/v1/tasks/*")
    with make_client(rule) as client:
        created = client.post("/api/v1/tasks", json=task_body()).json()["data"]
        patched = client.patch(f"/api/v1/tasks/{created['id']}", json={"objective": "Only prices"})
        read = client.get(f"/api/v1/tasks/{created['id']}").json()["data"]
    assert "urls" in created
    assert patched.status_code == 200
    assert "urls" not in patched.json()["data"]
    assert patched.json()["data"]["objective"] == "Only prices"
    assert patched.headers["Content-Length"] == str(len(patched.content))
    assert patched.headers["X-RateLimit-Limit"] == "50"
    assert read["urls"] == ["https://shop.example/p"]


def test_drop_field_removes_it_from_every_item_of_a_list() -> None:
    rule = FaultRule(kind="drop_field", field="objective", method="GET", path="/api/v1/tasks")
    with make_client(rule) as client:
        client.post("/api/v1/tasks", json=task_body())
        listed = client.get("/api/v1/tasks").json()
    assert listed["meta"]["total"] == 1
    assert all("objective" not in task for task in listed["data"])


def test_drop_field_leaves_an_error_answer_alone() -> None:
    rule = FaultRule(kind="drop_field", field="error")
    with make_client(rule) as client:
        missing = client.get("/api/v1/tasks/00000000-0000-4000-8000-000000000000")
    assert missing.json()["error"]["code"] == "NOT_FOUND"


def test_drop_field_needs_a_field(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="field"):
        FaultRule(kind="drop_field")
    faults = tmp_path / "faults.json"
    faults.write_text('{"kind": "drop_field", "field": 3}', encoding="utf-8")
    with pytest.raises(ValueError, match="'field' must be str"):
        load_fault_file(faults)
    faults.write_text('{"kind": "status", "field": "urls"}', encoding="utf-8")
    with pytest.raises(ValueError, match="field applies only to kind 'drop_field'"):
        load_fault_file(faults)
