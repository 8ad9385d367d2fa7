"""Wire records keep exactly what the server sent, and refuse what the client cannot work with."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from titan_gitops._http import make_wsgi_transport
from titan_gitops.client import ExecutionRecord, TaskRecord, TemplateRecord, TitanClient
from titan_gitops.errors import ApiUnavailable
from titan_gitops.fetch import live_tasks_of

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=8,
)
extras = st.dictionaries(
    st.text(min_size=1, max_size=10).filter(
        lambda k: (
            k not in {"id", "name", "status", "created_at", "updated_at"}
            and not k.startswith("_")
            and k not in dir(TaskRecord)
        )
    ),
    json_values,
    max_size=5,
)


@given(extra=extras)
def test_task_body_gives_back_exactly_what_was_received(extra: dict[str, Any]) -> None:
    data = {"id": "t-1", "name": "n", **extra}
    assert TaskRecord.model_validate(data).body() == data


optional = st.fixed_dictionaries(
    {},
    optional={
        "status": st.none() | st.text(max_size=8),
        "created_at": st.none() | st.text(max_size=8),
        "updated_at": st.none() | st.text(max_size=8),
    },
)


@given(extra=extras, fields=optional, number=st.floats(allow_nan=False, allow_infinity=False))
def test_a_listed_records_shared_body_is_its_body_in_the_same_order(
    extra: dict[str, Any], fields: dict[str, Any], number: float
) -> None:
    data = {"number": number, **extra, "name": "n", **fields, "id": "t-1"}
    record = TaskRecord.model_validate(data)
    shared = record.shared_body()
    assert shared == record.body() == data
    assert list(shared) == list(record.body())


def test_a_shared_body_gives_nan_and_infinities_as_the_body_does() -> None:
    text = (
        '{"id": "t-1", "name": "n", "script_version": NaN,'
        ' "limits": {"max_pages": Infinity, "n": 2.5}, "tags": [[-Infinity], 1.5]}'
    )
    record = TaskRecord.model_validate(json.loads(text))
    expected = {
        "id": "t-1",
        "name": "n",
        "script_version": None,
        "limits": {"max_pages": None, "n": 2.5},
        "tags": [[None], 1.5],
    }
    assert record.body() == expected
    assert record.shared_body() == expected
    # As a plan reads it: a null is no value set, and no NaN reaches the diff or a plan file.
    (live,) = live_tasks_of([record])
    assert live.body == expected


def test_a_shared_body_of_deeply_nested_values_is_read_without_recursion() -> None:
    deep: Any = 1.5
    for _ in range(5000):
        deep = [deep]
    record = TaskRecord.model_validate({"id": "t-1", "name": "n", "deep": deep})
    assert record.shared_body()["deep"] is deep


def test_a_shared_body_holds_the_values_sent_not_copies() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    urls = ["https://a.example/"]
    record = TaskRecord.model_validate(
        {"id": "t-1", "name": "n", "output_schema": schema, "urls": urls}
    )
    shared = record.shared_body()
    assert shared["output_schema"] is schema
    assert shared["urls"] is urls
    assert record.body()["output_schema"] is not schema


def test_optional_fields_absent_on_the_wire_stay_absent() -> None:
    record = TaskRecord.model_validate({"id": "t-1", "name": "n"})
    assert record.status is None
    assert record.body() == {"id": "t-1", "name": "n"}


def test_records_do_not_coerce_ids() -> None:
    with pytest.raises(ValidationError):
        TaskRecord.model_validate({"id": 7, "name": "n"})


def test_records_are_frozen() -> None:
    record = TemplateRecord.model_validate({"id": "tp", "slug": "s"})
    with pytest.raises(ValidationError):
        record.slug = "other"  # type: ignore[misc]


def test_execution_record_keeps_undocumented_fields() -> None:
    record = ExecutionRecord.model_validate({"id": "e", "status": "running", "phase": "fetch"})
    assert record.body()["phase"] == "fetch"


def test_an_exception_inside_an_in_process_app_is_a_server_error_not_a_crash() -> None:
    def broken_app(environ: Any, start_response: Any) -> Any:
        raise RuntimeError("emulator bug")

    client = TitanClient(
        "http://titan.local",
        None,
        transport=make_wsgi_transport(broken_app),
        max_retries=1,
        sleep=lambda s: None,
    )
    with pytest.raises(ApiUnavailable) as caught:
        client.list_tasks()
    assert caught.value.status == 500
    assert not isinstance(caught.value, httpx.HTTPError)
