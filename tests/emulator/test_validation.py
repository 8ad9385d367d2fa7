"""Task validation: each invalid body is a 400 BAD_REQUEST whose message names the field."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import task_body

SEARCH_STEP = {"action_type": "search", "input_source": "static_urls"}
SCRAPE_STEP = {"action_type": "scrape", "input_source": "previous_step"}

# (overrides applied to a valid classic body, the field the message must start with)
INVALID: list[tuple[str, dict[str, Any], str]] = [
    ("missing name", {"name": None}, "name: required"),
    ("missing urls", {"urls": None}, "urls: required"),
    ("missing objective", {"objective": None}, "objective: required"),
    ("missing output_schema", {"output_schema": None}, "output_schema: required"),
    ("missing execution_type", {"execution_type": None}, "execution_type: required"),
    ("empty name", {"name": "  "}, "name: must be a non-empty string"),
    ("name not a string", {"name": 5}, "name: must be a non-empty string"),
    ("objective not a string", {"objective": ["x"]}, "objective: must be a non-empty string"),
    ("execution_type unknown", {"execution_type": "daily"}, "execution_type: must be"),
    ("scheduled without schedule", {"execution_type": "scheduled"}, "schedule: required"),
    (
        "schedule on a single task",
        {"schedule": "0 * * * *"},
        "schedule: only allowed when execution_type is 'scheduled'",
    ),
    (
        "schedule with 6 fields",
        {"execution_type": "scheduled", "schedule": "0 0 * * * *"},
        "schedule: not a valid 5-field cron expression: expected 5 fields, got 6",
    ),
    (
        "schedule out of range",
        {"execution_type": "scheduled", "schedule": "0 24 * * *"},
        "schedule: not a valid 5-field cron expression: hour: 24 is outside 0-23",
    ),
    (
        "schedule not a string",
        {"execution_type": "scheduled", "schedule": 5},
        "schedule: must be a 5-field cron expression string",
    ),
    ("output_schema a list", {"output_schema": []}, "output_schema: must be a JSON object schema"),
    (
        "output_schema not an object schema",
        {"output_schema": {"type": "string"}},
        "output_schema: must be a JSON object schema",
    ),
    (
        "output_schema invalid JSON Schema",
        {"output_schema": {"type": "object", "properties": {"a": {"type": "texty"}}}},
        "output_schema['properties']['a']['type']: not a valid JSON Schema",
    ),
    (
        "output_schema properties not a mapping",
        {"output_schema": {"type": "object", "properties": []}},
        "output_schema['properties']: not a valid JSON Schema",
    ),
    ("urls empty", {"urls": []}, "urls: must be a non-empty list of http(s) URLs"),
    ("urls a string", {"urls": "https://a.example"}, "urls: must be a non-empty list"),
    ("url not http", {"urls": ["ftp://a.example/x"]}, "urls[0]: must be an absolute http"),
    ("url without host", {"urls": ["https://"]}, "urls[0]: must be an absolute http"),
    ("url relative", {"urls": ["https://ok.example/", "/x"]}, "urls[1]: must be an absolute"),
    ("url not a string", {"urls": [7]}, "urls[0]: must be an absolute http"),
    ("action_type unknown", {"action_type": "download"}, "action_type: must be one of search"),
    ("input_source unknown", {"input_source": "s3"}, "input_source: must be one of"),
    (
        "previous_step without a plan",
        {"action_type": "scrape", "input_source": "previous_step"},
        "input_source: 'previous_step' is not possible on a task without an execution_plan",
    ),
    ("limits not a mapping", {"limits": [1]}, "limits: must be a JSON object"),
    ("payload not a mapping", {"payload": "x"}, "payload: must be a JSON object"),
    ("proxy_locations wrong", {"proxy_locations": "us"}, "proxy_locations: must be a list"),
    ("proxy_locations empty item", {"proxy_locations": [""]}, "proxy_locations[0]: must be a"),
    ("script_id empty", {"script_id": ""}, "script_id: must be a non-empty string"),
    ("script_version bool", {"script_version": True}, "script_version: must be a non-empty"),
    ("unknown field", {"labels": {"team": "a"}}, "labels: unknown field"),
    ("unknown template_slug", {"template_slug": "no-such"}, "template_slug: no template"),
    ("unknown template_id", {"template_id": "0" * 32}, "template_id: no template"),
    (
        "both template_id and template_slug",
        {"template_slug": "example-search-template", "template_id": "x"},
        "template_id: set template_id or template_slug, not both",
    ),
    (
        "template of another action type",
        {"action_type": "search", "template_slug": "carrier-quote-json"},
        "template_slug: template 'carrier-quote-json' is for action_type 'api_call'",
    ),
    (
        "plan with action_type",
        {"action_type": "search", "execution_plan": {"steps": [SEARCH_STEP]}},
        "execution_plan: cannot be combined with top-level action_type",
    ),
    (
        "plan with payload",
        {"payload": {"a": 1}, "execution_plan": {"steps": [SEARCH_STEP]}},
        "execution_plan: cannot be combined with top-level payload",
    ),
    (
        "plan with limits",
        {"limits": {"a": 1}, "execution_plan": {"steps": [SEARCH_STEP]}},
        "execution_plan: cannot be combined with top-level limits",
    ),
    (
        "plan with input_source",
        {"input_source": "static_urls", "execution_plan": {"steps": [SEARCH_STEP]}},
        "execution_plan: cannot be combined with top-level input_source",
    ),
    ("plan not an object", {"execution_plan": []}, "execution_plan: must be a JSON object"),
    ("plan without steps", {"execution_plan": {"steps": []}}, "execution_plan.steps: must be"),
    (
        "plan step without action_type",
        {"execution_plan": {"steps": [{"input_source": "static_urls"}]}},
        "execution_plan.steps[0].action_type: required",
    ),
    (
        "plan step unknown field",
        {"execution_plan": {"steps": [{**SEARCH_STEP, "depth": 2}]}},
        "execution_plan.steps[0].depth: unknown field",
    ),
    (
        "plan first step from previous_step",
        {"execution_plan": {"steps": [SCRAPE_STEP]}},
        "execution_plan.steps[0].input_source: 'previous_step' is not possible on the first step",
    ),
    (
        "plan step unknown template",
        {"execution_plan": {"steps": [{**SEARCH_STEP, "template_slug": "nope"}]}},
        "execution_plan.steps[0].template_slug: no template 'nope'",
    ),
    (
        "plan step not an object",
        {"execution_plan": {"steps": [SEARCH_STEP, "scrape"]}},
        "execution_plan.steps[1]: must be a JSON object",
    ),
]


@pytest.mark.parametrize(
    ("overrides", "expected"), [case[1:] for case in INVALID], ids=[case[0] for case in INVALID]
)
def test_invalid_bodies_are_400_naming_the_field(
    client: httpx.Client, overrides: dict[str, Any], expected: str
) -> None:
    response = client.post("/api/v1/tasks", json=task_body(**overrides))
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "BAD_REQUEST"
    assert expected in error["message"], error["message"]
    assert client.get("/api/v1/tasks").json()["meta"]["total"] == 0


def test_every_problem_is_reported_at_once(client: httpx.Client) -> None:
    body = task_body(name="", urls=["ftp://x"], extra=1)
    message = client.post("/api/v1/tasks", json=body).json()["error"]["message"]
    assert message.split("; ") == [
        "extra: unknown field",
        "name: must be a non-empty string",
        "urls[0]: must be an absolute http or https URL",
    ]


VALID: list[tuple[str, dict[str, Any]]] = [
    ("classic", {}),
    (
        "scheduled with names and steps",
        {"execution_type": "scheduled", "schedule": "*/5 8-18 1,15 jan-jun MON-FRI"},
    ),
    ("scheduled with sunday as 7", {"execution_type": "scheduled", "schedule": "0 0 * * 7"}),
    (
        "media field",
        {
            "output_schema": {
                "type": "object",
                "properties": {"image": {"type": "string", "format": "media"}},
            }
        },
    ),
    (
        "modular search without output_schema",
        {
            "output_schema": None,
            "action_type": "search",
            "input_source": "static_urls",
            "template_slug": "example-search-template",
            "limits": {"max_results": 5},
            "payload": {"include_ads": True},
        },
    ),
    (
        "modular api_call by template id",
        {
            "output_schema": None,
            "action_type": "api_call",
            "template_id": "377e4d53-80ec-582f-b7b2-f37a9aa71c56",
            "payload": {"origin_zip": "10001", "destination_zip": "94105", "weight_lb": 3},
        },
    ),
    (
        "multi-step plan without output_schema",
        {
            "output_schema": None,
            "execution_plan": {
                "steps": [
                    {**SEARCH_STEP, "template_slug": "example-search-template"},
                    {**SCRAPE_STEP, "limits": {"max_pages": 3}},
                ]
            },
        },
    ),
    ("classic with a template and script", {"template_slug": "site-crawl", "script_id": "s"}),
    ("proxy locations and script version", {"proxy_locations": [], "script_version": "1.2"}),
]


@pytest.mark.parametrize("overrides", [c[1] for c in VALID], ids=[c[0] for c in VALID])
def test_valid_shapes_are_created(client: httpx.Client, overrides: dict[str, Any]) -> None:
    response = client.post("/api/v1/tasks", json=task_body(**overrides))
    assert response.status_code == 201, response.text


def test_deeply_nested_bodies_are_400_not_a_crash(client: httpx.Client) -> None:
    nested: Any = "leaf"
    for _ in range(100):
        nested = {"a": nested}
    response = client.post("/api/v1/tasks", json=task_body(payload=nested))
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "body: nested deeper than 64 levels"
    raw = b'{"payload": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    response = client.post("/api/v1/tasks", content=raw)
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("body: nested deeper")


def test_nan_and_infinity_are_not_json(client: httpx.Client) -> None:
    for constant in (b"NaN", b"Infinity", b"-Infinity"):
        raw = b'{"name": "x", "payload": {"v": ' + constant + b"}}"
        response = client.post("/api/v1/tasks", content=raw)
        assert response.status_code == 400
        assert response.json()["error"]["message"] == "body: not valid JSON"


def test_absurd_paging_numbers_are_capped_not_a_crash(client: httpx.Client) -> None:
    response = client.get("/api/v1/tasks", params={"limit": "9" * 5000, "offset": "9" * 40})
    assert response.status_code == 200
    assert response.json()["data"] == []
    assert response.json()["meta"]["limit"] == 100


SCALARS = st.none() | st.booleans() | st.integers() | st.text(max_size=8)
JSON = st.recursive(
    SCALARS | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=12,
)
FIELDS = st.sampled_from(
    [*task_body(), "schedule", "action_type", "input_source", "limits", "payload",
     "execution_plan", "template_id", "template_slug", "proxy_locations", "script_version"]
)  # fmt: skip


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(changes=st.dictionaries(FIELDS, JSON, max_size=4))
def test_no_body_makes_the_emulator_fail(client: httpx.Client, changes: dict[str, Any]) -> None:
    response = client.post("/api/v1/tasks", json={**task_body(), **changes})
    assert response.status_code in (201, 400), response.text
    assert response.json()["success"] is (response.status_code == 201)
