"""Templates: built-ins, lookup by id or slug, paging, preview, and seeding from a file."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from titan_gitops.emulator.app import EmulatorApp
from titan_gitops.emulator.templates import TemplateFileError

from .conftest import connect, task_body

TEMPLATE_FIELDS = {
    "id", "slug", "name", "description", "action_type", "payload", "limits",
    "created_at", "updated_at",
}  # fmt: skip


def test_builtins_include_the_docs_slugs_with_their_defaults(client: httpx.Client) -> None:
    search = client.get("/api/v1/templates/example-search-template").json()["data"]
    assert set(search) == TEMPLATE_FIELDS
    assert search["action_type"] == "search"
    assert search["payload"] == {"max_results": 10, "include_ads": False}
    assert search["limits"] == {"max_results": 50}
    quote = client.get("/api/v1/templates/carrier-quote-json").json()["data"]
    assert quote["action_type"] == "api_call"
    assert quote["payload"] == {"origin_zip": "", "destination_zip": "", "weight_lb": 1}
    assert quote["limits"] == {"timeout_seconds": 30, "max_retries": 2}


def test_template_ids_are_stable_uuids_and_work_for_lookup(
    make_app: Callable[..., EmulatorApp],
) -> None:
    ids = []
    for _ in range(2):
        with connect(make_app()) as client:
            ids.append(client.get("/api/v1/templates/site-crawl").json()["data"]["id"])
    assert ids[0] == ids[1]
    assert ids[0] == str(uuid.uuid5(uuid.NAMESPACE_URL, "titan-emulator:template:site-crawl"))
    with connect(make_app()) as client:
        by_id = client.get(f"/api/v1/templates/{ids[0]}").json()["data"]
    assert by_id["slug"] == "site-crawl"


def test_list_is_paged_by_slug_with_meta(client: httpx.Client) -> None:
    everything = client.get("/api/v1/templates").json()
    slugs = [t["slug"] for t in everything["data"]]
    assert slugs == sorted(slugs)
    assert {"example-search-template", "carrier-quote-json"} <= set(slugs)
    assert {t["action_type"] for t in everything["data"]} == {
        "search", "api_call", "scrape", "crawl",
    }  # fmt: skip
    assert everything["meta"] == {"total": len(slugs), "limit": 20, "offset": 0}
    page = client.get("/api/v1/templates", params={"limit": 1, "offset": 1}).json()
    assert [t["slug"] for t in page["data"]] == slugs[1:2]
    assert page["meta"] == {"total": len(slugs), "limit": 1, "offset": 1}
    bad = client.get("/api/v1/templates", params={"limit": "many"})
    assert bad.status_code == 400
    assert bad.json()["error"]["message"].startswith("limit:")


def test_unknown_template_is_404(client: httpx.Client) -> None:
    for ref in ("no-such-template", str(uuid.uuid4())):
        for response in (
            client.get(f"/api/v1/templates/{ref}"),
            client.post(f"/api/v1/templates/{ref}/preview", json={}),
        ):
            assert response.status_code == 404
            assert response.json()["error"]["code"] == "NOT_FOUND"


def test_templates_are_read_only(client: httpx.Client) -> None:
    assert client.post("/api/v1/templates", json={"slug": "x"}).status_code == 405
    assert client.delete("/api/v1/templates/site-crawl").status_code == 405


def test_preview_without_a_body_uses_the_defaults(client: httpx.Client) -> None:
    response = client.post("/api/v1/templates/example-search-template/preview")
    assert response.status_code == 200
    preview = response.json()["data"]
    assert preview["template_slug"] == "example-search-template"
    assert preview["action_type"] == "search"
    assert preview["payload"] == {"max_results": 10, "include_ads": False}
    assert preview["limits"] == {"max_results": 50}
    assert preview["urls"] == []
    assert [r["position"] for r in preview["records"]] == [1, 2, 3]
    uuid.UUID(preview["preview_id"])


def test_preview_overlays_the_payload_and_is_deterministic(
    make_app: Callable[..., EmulatorApp],
) -> None:
    body = {"payload": {"max_results": 2}, "urls": ["https://search.example/?q=shoes"]}
    previews = []
    for _ in range(2):
        with connect(make_app()) as client:
            response = client.post("/api/v1/templates/example-search-template/preview", json=body)
            previews.append(response.json()["data"])
    assert previews[0] == previews[1]
    assert previews[0]["payload"] == {"max_results": 2, "include_ads": False}
    assert all(
        r["url"].startswith("https://search.example/?q=shoes") for r in previews[0]["records"]
    )
    with connect(make_app()) as client:
        other = client.post(
            "/api/v1/templates/example-search-template/preview", json={"payload": {"x": 1}}
        ).json()["data"]
    assert other["preview_id"] != previews[0]["preview_id"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"payload": [1]}, "payload: must be a JSON object"),
        ({"urls": ["ftp://x"]}, "urls[0]: must be an absolute http or https URL"),
        ({"urls": "https://x.example"}, "urls: must be a non-empty list"),
        ({"query": "shoes"}, "query: unknown field"),
    ],
)
def test_preview_body_problems_are_400(
    client: httpx.Client, body: dict[str, object], message: str
) -> None:
    response = client.post("/api/v1/templates/site-crawl/preview", json=body)
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith(message)


def test_templates_file_adds_and_overrides_templates(
    make_app: Callable[..., EmulatorApp], tmp_path: Path
) -> None:
    source = tmp_path / "templates.yaml"
    source.write_text(
        "templates:\n"
        "  - slug: rates-api\n"
        "    action_type: api_call\n"
        "    payload: {currency: EUR}\n"
        "  - slug: carrier-quote-json\n"
        "    name: Our carrier\n"
        "    action_type: api_call\n"
        "    limits: {timeout_seconds: 5}\n",
        encoding="utf-8",
    )
    app = make_app(templates_file=source)
    with connect(app) as client:
        added = client.get("/api/v1/templates/rates-api").json()["data"]
        replaced = client.get("/api/v1/templates/carrier-quote-json").json()["data"]
        kept = client.get("/api/v1/templates/example-search-template")
        task = client.post(
            "/api/v1/tasks",
            json=task_body(action_type="api_call", template_slug="rates-api"),
        )
    assert added["name"] == "rates-api"
    assert added["description"] == ""
    assert added["payload"] == {"currency": "EUR"}
    assert added["limits"] == {}
    assert replaced["name"] == "Our carrier"
    assert replaced["limits"] == {"timeout_seconds": 5}
    assert kept.status_code == 200
    assert task.status_code == 201


def test_templates_file_in_json_with_an_explicit_id(
    make_app: Callable[..., EmulatorApp], tmp_path: Path
) -> None:
    given = str(uuid.uuid4())
    source = tmp_path / "templates.json"
    source.write_text(
        json.dumps([{"id": given, "slug": "pages", "action_type": "scrape"}]), encoding="utf-8"
    )
    with connect(make_app(templates_file=str(source))) as client:
        found = client.get(f"/api/v1/templates/{given}").json()["data"]
    assert found["slug"] == "pages"


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("bad.json", "{", "invalid JSON at line 1"),
        ("bad.yaml", "a: [", "invalid YAML"),
        ("bad.yaml", "slug: x", "expected a list of templates"),
        ("bad.yaml", "- slug: Not A Slug\n  action_type: search", "templates[0].slug"),
        ("bad.yaml", "- slug: s\n  action_type: fly", "templates[0].action_type"),
        ("bad.yaml", "- slug: s\n  action_type: crawl\n  id: nope", "templates[0].id"),
        ("bad.yaml", "- slug: s\n  action_type: crawl\n  colour: red", "unknown field 'colour'"),
        ("bad.yaml", "- slug: s\n  action_type: crawl\n  payload: [1]", "templates[0].payload"),
        ("bad.yaml", "- 5", "templates[0] must be a mapping"),
    ],
)
def test_a_bad_templates_file_is_refused_with_a_clear_message(
    make_app: Callable[..., EmulatorApp], tmp_path: Path, name: str, text: str, message: str
) -> None:
    source = tmp_path / name
    source.write_text(text, encoding="utf-8")
    with pytest.raises(TemplateFileError, match=message.replace("[", r"\[").replace("]", r"\]")):
        make_app(templates_file=source)


def test_a_missing_templates_file_is_refused(
    make_app: Callable[..., EmulatorApp], tmp_path: Path
) -> None:
    with pytest.raises(TemplateFileError, match="cannot read"):
        make_app(templates_file=tmp_path / "absent.yaml")
