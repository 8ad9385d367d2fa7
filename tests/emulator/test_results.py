"""Results in the emulator: records valid against the schema, exports, metadata, datasets, media."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from titan_gitops.emulator import Clock, EmulatorConfig, create_app
from titan_gitops.emulator.app import EmulatorApp
from titan_gitops.emulator.records_csv import flatten_record

from .conftest import ORIGIN, READER, START, WRITER, connect, task_body

AppFactory = Callable[..., EmulatorApp]
API = "/api/v1"
NESTED_SCHEMA = {
    "type": "object",
    "properties": {
        "title": {"type": "string", "minLength": 1},
        "price": {
            "type": "object",
            "properties": {"amount": {"type": "number"}, "currency": {"enum": ["EUR", "USD"]}},
            "required": ["amount", "currency"],
        },
        "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 3},
        "photo": {"type": "string", "format": "media"},
    },
    "required": ["title", "price", "tags", "photo"],
}


@pytest.fixture
def clock() -> Clock:
    return Clock(frozen_at=START)


@pytest.fixture
def app(make_app: AppFactory, clock: Clock) -> EmulatorApp:
    return make_app(
        clock=clock,
        tokens={WRITER: None, READER: ["tasks:read"], "no-data": ["executions:read"]},
    )


def finished_run(client: httpx.Client, clock: Clock, schema: dict[str, Any]) -> str:
    """Create a task with `schema`, run it and move the clock past its end."""
    created = client.post(f"{API}/tasks", json=task_body(output_schema=schema))
    assert created.status_code == 201, created.text
    response = client.post(f"{API}/tasks/{created.json()['data']['id']}/run")
    clock.advance(2)
    execution_id: str = response.json()["data"]["id"]
    return execution_id


def export(client: httpx.Client, execution_id: str, fmt: str | None = None) -> httpx.Response:
    params = {"format": fmt} if fmt else None
    return client.get(f"{API}/executions/{execution_id}/results/export", params=params)


# --- records are valid instances of the output_schema (property-based) ---------------------

SCALARS = st.one_of(
    st.builds(lambda lo, span: {"type": "string", "minLength": lo, "maxLength": lo + span},
              st.integers(0, 5), st.integers(0, 20)),
    st.sampled_from([
        {"type": "string", "format": "media"},
        {"type": "string", "format": "email"},
        {"type": "string", "format": "date-time"},
        {"type": "string", "format": "uri"},
        {"type": "boolean"},
        {"type": "null"},
        {"type": ["string", "null"]},
        {"enum": ["a", "b", 3]},
        {"const": "fixed"},
    ]),
    st.builds(lambda lo, span: {"type": "integer", "minimum": lo, "maximum": lo + span},
              st.integers(-1000, 1000), st.integers(0, 50)),
    st.builds(lambda lo: {"type": "number", "exclusiveMinimum": lo}, st.integers(-10, 10)),
)  # fmt: skip


def object_schemas(children: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Objects with 1-4 properties, some required."""
    names = st.text(alphabet="abcdefghij_", min_size=1, max_size=6)
    return st.dictionaries(names, children, min_size=1, max_size=4).flatmap(
        lambda props: st.lists(st.sampled_from(sorted(props)), unique=True).map(
            lambda required: {"type": "object", "properties": props, "required": required}
        )
    )


VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        object_schemas(inner),
        st.builds(lambda items, lo: {"type": "array", "items": items, "minItems": lo,
                                     "maxItems": lo + 2}, inner, st.integers(0, 2)),
    ),
    max_leaves=8,
)  # fmt: skip


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schema=object_schemas(VALUES))
def test_exported_records_are_valid_instances_of_the_schema(schema: dict[str, Any]) -> None:
    clock = Clock(frozen_at=START)
    app = create_app(EmulatorConfig(tokens={WRITER: None}), clock=clock)
    try:
        with connect(app) as client:
            execution_id = finished_run(client, clock, schema)
            response = export(client, execution_id)
            assert response.status_code == 200, response.text
            records = response.json()
            assert isinstance(records, list)
            assert records
            validator = Draft202012Validator(schema)
            for record in records:
                assert not list(validator.iter_errors(record)), record
            table = list(csv.reader(io.StringIO(export(client, execution_id, "csv").text)))
            assert len(table) == len(records) + 1
            columns: dict[str, None] = {}
            for record in records:
                columns.update(dict.fromkeys(flatten_record(record)))
            assert table[0] == list(columns)
    finally:
        app.backend.close()


# --- exports -------------------------------------------------------------------------------


def test_exports_are_deterministic_per_execution(client: httpx.Client, clock: Clock) -> None:
    first = finished_run(client, clock, NESTED_SCHEMA)
    second = finished_run(client, clock, NESTED_SCHEMA)
    assert export(client, first).content == export(client, first).content
    assert export(client, first).json() != export(client, second).json()


def test_json_export_is_a_raw_attachment(client: httpx.Client, clock: Clock) -> None:
    execution_id = finished_run(client, clock, NESTED_SCHEMA)
    response = export(client, execution_id)
    assert response.headers["content-type"] == "application/json"
    assert response.headers["content-disposition"] == (
        f'attachment; filename="execution-{execution_id}.json"'
    )
    records = response.json()
    assert isinstance(records, list)
    assert export(client, execution_id, "json").content == response.content


def test_csv_flattens_nested_fields_to_dotted_columns(client: httpx.Client, clock: Clock) -> None:
    execution_id = finished_run(client, clock, NESTED_SCHEMA)
    records = export(client, execution_id).json()
    response = export(client, execution_id, "csv")
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"].endswith('.csv"')
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert list(rows[0]) == ["title", "price.amount", "price.currency", "tags", "photo"]
    for row, record in zip(rows, records, strict=True):
        assert row["price.currency"] == record["price"]["currency"]
        assert float(row["price.amount"]) == record["price"]["amount"]
        assert json.loads(row["tags"]) == record["tags"]
    download = client.get(f"{API}/executions/{execution_id}/results/download")
    assert download.status_code == 200
    assert download.content == response.content
    assert download.headers["content-disposition"] == response.headers["content-disposition"]


def test_exports_before_completion_and_bad_formats_are_json_errors(
    client: httpx.Client, clock: Clock
) -> None:
    created = client.post(f"{API}/tasks", json=task_body()).json()["data"]
    execution_id = client.post(f"{API}/tasks/{created['id']}/run").json()["data"]["id"]
    for path in ("results/export", "results/download"):
        early = client.get(f"{API}/executions/{execution_id}/{path}")
        assert early.status_code == 400
        assert early.json()["success"] is False
        assert "is queued" in early.json()["error"]["message"]
    clock.advance(2)
    bad = export(client, execution_id, "xml")
    assert bad.status_code == 400
    assert bad.json()["error"]["message"] == "format: must be one of json, csv"
    unknown = client.get(f"{API}/executions/00000000-0000-4000-8000-000000000000/results/export")
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "NOT_FOUND"


# --- metadata and datasets -----------------------------------------------------------------


def test_results_metadata_tells_whether_output_exists(client: httpx.Client, clock: Clock) -> None:
    created = client.post(f"{API}/tasks", json=task_body(output_schema=NESTED_SCHEMA)).json()
    execution_id = client.post(f"{API}/tasks/{created['data']['id']}/run").json()["data"]["id"]
    before = client.get(f"{API}/executions/{execution_id}/results").json()["data"]
    assert before["available"] is False
    assert before["record_count"] == 0
    assert before["export_url"] is None
    clock.advance(2)
    after = client.get(f"{API}/executions/{execution_id}/results").json()["data"]
    records = export(client, execution_id).json()
    assert after["available"] is True
    assert after["status"] == "completed"
    assert after["record_count"] == len(records)
    assert after["columns"] == ["title", "price.amount", "price.currency", "tags", "photo"]
    assert after["media_fields"] == len(records)
    assert after["formats"] == ["json", "csv"]
    assert after["export_url"] == f"/api/v1/executions/{execution_id}/results/export"


def test_datasets_per_execution_and_per_task(client: httpx.Client, clock: Clock) -> None:
    task = client.post(f"{API}/tasks", json=task_body()).json()["data"]
    first = client.post(f"{API}/tasks/{task['id']}/run").json()["data"]["id"]
    assert client.get(f"{API}/executions/{first}/datasets").json()["data"] == []
    clock.advance(2)
    second = client.post(f"{API}/tasks/{task['id']}/run").json()["data"]["id"]
    clock.advance(2)
    datasets = client.get(f"{API}/executions/{first}/datasets").json()
    assert datasets["meta"]["total"] == 1
    dataset = datasets["data"][0]
    assert dataset["execution_id"] == first
    assert dataset["task_id"] == task["id"]
    assert dataset["record_count"] == len(export(client, first).json())
    of_task = client.get(f"{API}/tasks/{task['id']}/datasets").json()
    assert [d["execution_id"] for d in of_task["data"]] == [first, second]
    assert len({d["id"] for d in of_task["data"]}) == 2
    missing = client.get(f"{API}/tasks/00000000-0000-4000-8000-000000000000/datasets")
    assert missing.status_code == 404


@pytest.mark.parametrize(
    "path",
    ["results", "results/export", "results/download", "datasets"],
)
def test_data_routes_need_data_read(
    app: EmulatorApp, client: httpx.Client, clock: Clock, path: str
) -> None:
    execution_id = finished_run(client, clock, NESTED_SCHEMA)
    with connect(app, "no-data") as limited:
        response = limited.get(f"{API}/executions/{execution_id}/{path}")
    assert response.status_code == 403
    assert response.json()["error"]["message"] == "token lacks the 'data:read' scope"


# --- media ---------------------------------------------------------------------------------


def media_link(client: httpx.Client, clock: Clock) -> str:
    execution_id = finished_run(client, clock, NESTED_SCHEMA)
    link: str = export(client, execution_id).json()[0]["photo"]
    assert link.startswith(f"{ORIGIN}/media/{execution_id}/")
    return link


def test_media_downloads_with_its_token_alone(app: EmulatorApp, clock: Clock) -> None:
    with connect(app) as client:
        link = media_link(client, clock)
    with connect(app, token=None) as anonymous:
        first = anonymous.get(link)
        second = anonymous.get(link)
    assert first.status_code == 200
    assert first.headers["content-type"] == "application/octet-stream"
    assert first.content
    assert first.content == second.content


@pytest.mark.parametrize(
    ("tamper", "status", "message"),
    [
        (lambda link: link.split("?")[0], 401, "missing media token"),
        (lambda link: link.split("?")[0] + "?token=" + "x" * 40, 403, "invalid media token"),
        (lambda link: link.replace("/media/", "/media/x"), 404, "media not found"),
    ],
)
def test_media_errors_are_bare_error_objects(
    app: EmulatorApp, clock: Clock, tamper: Callable[[str], str], status: int, message: str
) -> None:
    with connect(app) as client:
        link = tamper(media_link(client, clock))
    with connect(app, token=None) as anonymous:
        response = anonymous.get(link)
    assert response.status_code == status
    assert response.json() == {"error": message}


def test_media_of_a_reset_emulator_is_gone(app: EmulatorApp, clock: Clock) -> None:
    with connect(app) as client:
        link = media_link(client, clock)
    app.backend.reset()
    with connect(app, token=None) as anonymous:
        assert anonymous.get(link).status_code == 404
