"""Unknown JSON Schema keywords in an output_schema: 400 naming the path; `x-` keys pass."""

from __future__ import annotations

from typing import Any

import httpx

from .conftest import task_body

PRICE_TYPO: dict[str, Any] = {
    "type": "object",
    "properties": {"price": {"type": "string", "maxLenght": 5}},
}


def test_an_unknown_keyword_is_refused_naming_its_path(client: httpx.Client) -> None:
    response = client.post("/api/v1/tasks", json=task_body(output_schema=PRICE_TYPO))
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "BAD_REQUEST"
    assert error["message"] == (
        "output_schema['properties']['price']['maxLenght']: "
        "unknown JSON Schema keyword (did you mean maxLength?)"
    )
    assert client.get("/api/v1/tasks").json()["meta"]["total"] == 0


def test_every_unknown_keyword_is_reported(client: httpx.Client) -> None:
    schema = {"type": "object", "requried": ["a"], "$defs": {"m": {"not": {"zzz": 1}}}}
    message = client.post("/api/v1/tasks", json=task_body(output_schema=schema)).json()
    assert message["error"]["message"].split("; ") == [
        "output_schema['requried']: unknown JSON Schema keyword (did you mean required?)",
        "output_schema['$defs']['m']['not']['zzz']: unknown JSON Schema keyword "
        "(an extension key must start with x-)",
    ]


def test_an_update_is_refused_too(client: httpx.Client) -> None:
    task = client.post("/api/v1/tasks", json=task_body()).json()["data"]
    response = client.patch(f"/api/v1/tasks/{task['id']}", json={"output_schema": PRICE_TYPO})
    assert response.status_code == 400
    assert "['maxLenght']: unknown JSON Schema keyword" in response.json()["error"]["message"]


def test_a_plan_step_schema_is_checked(client: httpx.Client) -> None:
    step = {
        "action_type": "scrape",
        "input_source": "static_urls",
        "output_schema": {"type": "object", "propertes": {}},
    }
    body = task_body(output_schema=None, execution_plan={"steps": [step]})
    response = client.post("/api/v1/tasks", json=body)
    assert response.status_code == 400
    assert response.json()["error"]["message"] == (
        "execution_plan.steps[0].output_schema['propertes']: "
        "unknown JSON Schema keyword (did you mean properties?)"
    )


def test_extension_keys_annotations_and_field_names_pass(client: httpx.Client) -> None:
    schema = {
        "type": "object",
        "x-owner": "team-a",
        "title": "Product",
        "$comment": "prices",
        "properties": {
            "maxLenght": {"type": "string", "x-source": "css", "deprecated": True},
            "propertes": {"const": {"requried": 1}, "default": {"zzz": 1}},
        },
    }
    response = client.post("/api/v1/tasks", json=task_body(output_schema=schema))
    assert response.status_code == 201, response.text
