"""Wire records keep exactly what the server sent, and refuse what the client cannot work with."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from titan_gitops._http import make_wsgi_transport
from titan_gitops.client import ExecutionRecord, TaskRecord, TemplateRecord, TitanClient
from titan_gitops.errors import ApiUnavailable

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
