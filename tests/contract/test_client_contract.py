"""Every TitanClient method against the emulator, in-process and on loopback: the readings agree."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from titan_gitops.client import TaskRecord, TitanClient
from titan_gitops.errors import AuthError, BadRequest, NotFound, RateLimited

ClientFactory = Callable[..., TitanClient]


def task_body(name: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": name,
        "urls": ["https://shop.example/products"],
        "objective": "Extract product names and prices",
        "output_schema": {
            "type": "object",
            "properties": {"name": {"type": "string"}, "price": {"type": "number"}},
        },
        "execution_type": "single",
    }
    body.update(overrides)
    return body


def test_create_get_and_list_a_task(connect: ClientFactory) -> None:
    client = connect()
    created = client.create_task(task_body("contract/one"))
    assert isinstance(created, TaskRecord)
    assert created.name == "contract/one"
    assert created.id
    assert created.body()["urls"] == ["https://shop.example/products"]
    fetched = client.get_task(created.id)
    assert fetched.body() == created.body()
    assert [t.id for t in client.list_tasks()] == [created.id]


def test_patch_merges_and_put_replaces(connect: ClientFactory) -> None:
    client = connect()
    created = client.create_task(task_body("contract/update"))
    patched = client.update_task(created.id, {"objective": "Only prices"})
    assert patched.body()["objective"] == "Only prices"
    assert patched.body()["urls"] == created.body()["urls"]
    replaced = client.update_task(
        created.id, task_body("contract/update", urls=["https://other.example/"]), replace=True
    )
    assert replaced.body()["urls"] == ["https://other.example/"]
    assert replaced.body()["objective"] == "Extract product names and prices"
    assert client.get_task(created.id).body() == replaced.body()


def test_delete_then_get_is_not_found(connect: ClientFactory) -> None:
    client = connect()
    created = client.create_task(task_body("contract/delete"))
    client.delete_task(created.id)
    with pytest.raises(NotFound) as caught:
        client.get_task(created.id)
    assert caught.value.status == 404
    assert caught.value.code == "NOT_FOUND"
    with pytest.raises(NotFound):
        client.delete_task(created.id)
    assert client.list_tasks() == []


def test_a_bad_body_is_a_bad_request_naming_the_field(connect: ClientFactory) -> None:
    client = connect()
    body = task_body("contract/bad")
    del body["objective"]
    with pytest.raises(BadRequest) as caught:
        client.create_task(body)
    assert caught.value.code == "BAD_REQUEST"
    assert "objective" in str(caught.value)
    assert client.request_count == 1


def test_paging_reads_every_task_in_ceil_n_over_100_requests(connect: ClientFactory) -> None:
    client = connect()
    ids = {client.create_task(task_body(f"contract/page-{i:03d}")).id for i in range(205)}
    before = client.request_count
    tasks = client.list_tasks()
    assert client.request_count - before == 3
    assert {t.id for t in tasks} == ids
    page = client.list_tasks_page(limit=500, offset=200)
    assert (len(page.items), page.total, page.limit, page.offset) == (5, 205, 100, 200)


def test_list_tasks_page_defaults_to_the_first_page(connect: ClientFactory) -> None:
    client = connect()
    client.create_task(task_body("contract/first"))
    page = client.list_tasks_page()
    assert page.total == 1
    assert page.offset == 0
    assert [t.name for t in page.items] == ["contract/first"]


def test_templates_list_get_and_preview(connect: ClientFactory) -> None:
    client = connect()
    templates = client.list_templates()
    slugs = {t.slug for t in templates}
    assert {"example-search-template", "carrier-quote-json"} <= slugs
    quote = next(t for t in templates if t.slug == "carrier-quote-json")
    assert quote.action_type == "api_call"
    assert client.get_template("carrier-quote-json").id == quote.id
    assert client.get_template(quote.id).slug == "carrier-quote-json"
    preview = client.preview_template("carrier-quote-json", {})
    assert isinstance(preview, dict)
    with pytest.raises(NotFound):
        client.get_template("no-such-template")


def test_a_task_may_name_a_template_by_slug(connect: ClientFactory) -> None:
    client = connect()
    body = task_body("contract/templated", template_slug="carrier-quote-json")
    created = client.create_task(body)
    assert created.body()["template_slug"] == "carrier-quote-json"
    with pytest.raises(BadRequest, match="template"):
        client.create_task(task_body("contract/unknown-template", template_slug="nope-nope"))


def test_an_unknown_token_is_unauthorized(connect: ClientFactory) -> None:
    client = connect("stranger")
    with pytest.raises(AuthError) as caught:
        client.list_tasks()
    assert caught.value.status == 401
    assert caught.value.code == "UNAUTHORIZED"
    assert "not-a-known-token" not in str(caught.value)


def test_a_missing_scope_is_forbidden_and_named(connect: ClientFactory) -> None:
    reader = connect("reader")
    assert reader.list_tasks() == []
    with pytest.raises(AuthError) as caught:
        reader.create_task(task_body("contract/forbidden"))
    assert caught.value.status == 403
    assert caught.value.scope == "tasks:write"


def test_the_key_may_travel_in_x_api_key(connect: ClientFactory) -> None:
    client = connect(auth_header="x-api-key")
    client.create_task(task_body("contract/api-key"))
    assert [t.name for t in client.list_tasks()] == ["contract/api-key"]


def test_the_client_limiter_follows_the_emulators_budget(connect: ClientFactory) -> None:
    now = [time.time()]
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    client = connect(
        emulator={"rate_limit": 3},
        sleep=sleep,
        clock=lambda: now[0],
        max_retries=0,
    )
    for _ in range(3):
        client.list_tasks()
    assert sleeps == []
    # The budget is spent: the limiter holds the next request until the window resets; the real
    # emulator clock has not moved, so it answers 429, which the client reports as typed.
    with pytest.raises(RateLimited) as caught:
        client.list_tasks()
    assert sleeps
    assert sleeps[0] > 0
    assert caught.value.status == 429
    assert caught.value.code == "TOO_MANY_REQUESTS"
