"""The emulator's field contract at every depth: limits typed, steps closed, nulls refused below
the top level, hints for unknown keys; the same choices `validate` makes (spec.py)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from .conftest import task_body

SEARCH = {"action_type": "search", "input_source": "static_urls"}
PLAN_ONLY: dict[str, Any] = {"output_schema": None}


def refusal(client: httpx.Client, body: dict[str, Any]) -> list[str]:
    response = client.post("/api/v1/tasks", json=body)
    assert response.status_code == 400, response.text
    assert client.get("/api/v1/tasks").json()["meta"]["total"] == 0
    return str(response.json()["error"]["message"]).split("; ")


@pytest.mark.parametrize(
    ("limits", "expected"),
    [
        ({"max_results": "ten"}, "limits.max_results: must be a non-negative integer"),
        ({"max_results": -1}, "limits.max_results: must be a non-negative integer"),
        ({"max_results": 1.5}, "limits.max_results: must be a non-negative integer"),
        ({"max_results": True}, "limits.max_results: must be a non-negative integer"),
        ({"max_results": 2_147_483_648}, "limits.max_results: must be a non-negative integer"),
        ({"max_results": None}, "limits.max_results: must be a non-negative integer"),
        ({"timeout_secs": 5}, "limits.timeout_secs: unknown field (did you mean timeout_seconds?)"),
    ],
)
def test_limits_are_typed_and_closed(
    client: httpx.Client, limits: dict[str, Any], expected: str
) -> None:
    body = task_body(action_type="search", limits=limits, **PLAN_ONLY)
    found = refusal(client, body)
    assert any(item.startswith(expected) for item in found), found


def test_the_issue_example_reports_both_limits_problems(client: httpx.Client) -> None:
    body = task_body(action_type="search", limits={"max_results": "ten", "timeout_secs": 5})
    assert refusal(client, body) == [
        "limits.timeout_secs: unknown field (did you mean timeout_seconds?)",
        "limits.max_results: must be a non-negative integer no larger than 2147483647",
    ]


@pytest.mark.parametrize(
    ("step", "expected"),
    [
        (
            {**SEARCH, "output_shema": {"type": "object"}},
            "execution_plan.steps[0].output_shema: unknown field (did you mean output_schema?)",
        ),
        ({"action_type": "search"}, "execution_plan.steps[0].input_source: required"),
        ({**SEARCH, "limits": {"max_pages": -3}}, "execution_plan.steps[0].limits.max_pages: must"),
        ({**SEARCH, "name": None}, "execution_plan.steps[0].name: must be a non-empty string"),
        ({**SEARCH, "payload": None}, "execution_plan.steps[0].payload: must be a JSON object"),
    ],
)
def test_step_fields_follow_the_contract(
    client: httpx.Client, step: dict[str, Any], expected: str
) -> None:
    body = task_body(execution_plan={"steps": [step]}, **PLAN_ONLY)
    found = refusal(client, body)
    assert any(item.startswith(expected) for item in found), found


def test_an_unknown_plan_key_is_named(client: httpx.Client) -> None:
    body = task_body(execution_plan={"steps": [SEARCH], "stepz": []}, **PLAN_ONLY)
    assert "execution_plan.stepz: unknown field (did you mean steps?)" in refusal(client, body)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"proxy_locations": [5, 6, 7]}, "proxy_locations[2]: must be a non-empty string"),
        ({"script_version": " "}, "script_version: must be a non-empty string or an integer"),
        ({"urls": ["https://shop.example/a\tb"]}, "urls[0]: must be an absolute http or https URL"),
        ({"outptu_schema": {}}, "outptu_schema: unknown field (did you mean output_schema?)"),
    ],
)
def test_top_level_fields_follow_the_contract(
    client: httpx.Client, overrides: dict[str, Any], expected: str
) -> None:
    assert expected in refusal(client, task_body(**overrides))


def test_a_valid_plan_with_limits_is_created(client: httpx.Client) -> None:
    step = {**SEARCH, "limits": {"max_results": 0, "timeout_seconds": 30}, "name": "find"}
    second = {"action_type": "scrape", "input_source": "previous_step", "script_version": 2}
    body = task_body(execution_plan={"steps": [step, second]}, **PLAN_ONLY)
    response = client.post("/api/v1/tasks", json=body)
    assert response.status_code in (200, 201), response.text
