"""`titan-gitops selftest` against `emulator serve` on loopback: it passes, it names exactly the
expectations a faulty service breaks, and it leaves every task outside its namespace alone."""

from __future__ import annotations

import base64
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from testing.emulator import spawn_server
from titan_gitops.cli import main
from titan_gitops.secrets import SecretSet

TOKEN = "selftest-serve-token-7c41e9"
ADMIN = "selftest-serve-admin-2b8d"
ALL = {
    "auth-no-token", "auth-bad-token", "auth-x-api-key", "scopes", "rate-limit-headers", "create",
    "get",
    "list-paging", "list-clamp", "patch-merge", "rename", "unknown-field", "error-envelope",
    "run", "poll", "results", "export-json", "export-csv", "media-list", "templates-list",
    "templates-get", "preview-task", "preview-quota-shape", "delete",
}  # fmt: skip
OUTSIDE = {
    "name": "shop-prices",
    "urls": ["https://shop.example/p"],
    "objective": "Extract prices",
    "output_schema": {"type": "object", "properties": {"price": {"type": "number"}}},
    "execution_type": "single",
}


def serve(*extra: str) -> tuple[subprocess.Popen[str], str]:
    """The README's own `emulator serve --port N --token T`, with `extra` flags after it."""
    process, url, _ = spawn_server("--token", TOKEN, *extra)
    return process, url


def stop(process: subprocess.Popen[str]) -> None:
    process.terminate()
    process.communicate(timeout=10)


@pytest.fixture(scope="module")
def served() -> Iterator[str]:
    process, url = serve("--admin-token", ADMIN)
    try:
        yield url
    finally:
        stop(process)


@pytest.fixture
def url(served: str) -> str:
    """The shared server, back to no tasks and no faults."""
    admin = {"Authorization": f"Bearer {ADMIN}"}
    httpx.post(f"{served}/_emulator/reset", headers=admin).raise_for_status()
    return served


def api(url: str) -> httpx.Client:
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {TOKEN}"})


def seed_outside(url: str) -> dict[str, Any]:
    with api(url) as client:
        created: dict[str, Any] = client.post("/api/v1/tasks", json=OUTSIDE).json()["data"]
    return created


def live_tasks(url: str) -> list[dict[str, Any]]:
    with api(url) as client:
        tasks: list[dict[str, Any]] = client.get("/api/v1/tasks?limit=100").json()["data"]
    return tasks


def run_selftest(url: str, *extra: str) -> int:
    return main(["selftest", "--api-url", url, "--token", TOKEN, *extra])


def outcomes(out: str) -> dict[str, bool]:
    report = json.loads(out)
    return {item["id"]: item["passed"] for item in report["expectations"]}


def test_selftest_passes_against_emulator_serve_and_leaves_other_tasks_alone(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    outside = seed_outside(url)
    assert run_selftest(url, "--output", "json") == 0
    out = capsys.readouterr().out
    assert outcomes(out) == dict.fromkeys(ALL, True)
    report = json.loads(out)
    assert report["namespace"].startswith("titan-gitops-selftest-")
    assert report["cleanup"]["problems"] == []
    assert live_tasks(url) == [outside]  # untouched: same fields, same updated_at


def test_the_readmes_serve_command_passes_with_rate_limiting_off_shown_as_not_checked(
    capsys: pytest.CaptureFixture[str],
) -> None:
    process, url = serve()  # exactly the README's command: no --rate-limit
    try:
        assert run_selftest(url) == 0
    finally:
        stop(process)
    out = capsys.readouterr().out
    assert (
        "–  rate-limit-headers   not checked: no X-RateLimit-Limit or X-RateLimit-Remaining on a "
        "list or a 404: rate limiting is off on this target"
    ) in out, out


def test_with_rate_limiting_on_the_headers_are_checked(
    capsys: pytest.CaptureFixture[str],
) -> None:
    process, url = serve("--rate-limit", "600")
    try:
        assert run_selftest(url, "--output", "json") == 0
    finally:
        stop(process)
    report = json.loads(capsys.readouterr().out)
    (headers,) = [e for e in report["expectations"] if e["id"] == "rate-limit-headers"]
    assert headers["checked"], headers
    assert headers["passed"], headers
    assert headers["observed"].startswith("present on a list and a 404 (remaining/limit ")


def test_a_check_left_without_what_it_needs_is_not_checked_not_failed(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    rule = {"kind": "non_json", "status": 200, "method": "GET", "path": "/api/v1/templates"}
    admin = {"Authorization": f"Bearer {ADMIN}"}
    httpx.post(f"{url}/_emulator/faults", headers=admin, json=rule).raise_for_status()
    assert run_selftest(url) == 1
    out = capsys.readouterr().out
    assert "✗  templates-list" in out
    assert "–  templates-get        not checked: needs a template from 'templates-list'" in out
    assert (
        "20 of 24 expectations hold; not: templates-list; "
        "not checked: scopes, rate-limit-headers, templates-get." in out
    ), out


def test_text_output_is_a_table_of_expectation_observed_and_a_mark(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_selftest(url, "--namespace", "ci-selftest-") == 0
    out = capsys.readouterr().out
    assert f"titan-gitops selftest of {url} (namespace ci-selftest-)" in out
    assert "✓  patch-merge          objective changed, the other fields kept" in out
    # No read-only token given: the scopes check is said to be left out, and fails nothing.
    assert "–  scopes " in out
    assert "22 of 24 expectations hold; not checked: scopes, rate-limit-headers." in out
    assert "selftest: removed 1 task named ci-selftest-*" in out
    assert live_tasks(url) == []


def test_a_patch_that_forgets_a_field_fails_exactly_patch_merge_and_still_cleans_up(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    faults = tmp_path / "faults.yaml"
    faults.write_text(
        "faults:\n  - {kind: drop_field, field: urls, method: PATCH, path: /api/v1/tasks/*}\n",
        encoding="utf-8",
    )
    process, url = serve("--faults", str(faults))
    try:
        outside = seed_outside(url)
        assert run_selftest(url, "--output", "json", "--namespace", "faulty-patch-") == 1
        captured = capsys.readouterr()
        found = outcomes(captured.out)
        assert {name for name, passed in found.items() if not passed} == {"patch-merge"}
        report = json.loads(captured.out)
        failed = next(item for item in report["expectations"] if item["id"] == "patch-merge")
        assert failed["observed"] == "the PATCH answer: missing urls"
        assert failed["choice"] == "patch-merge"
        assert live_tasks(url) == [outside]
    finally:
        stop(process)


def test_an_answer_without_the_envelope_fails_exactly_that_expectation(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    rule = {"kind": "non_json", "status": 200, "method": "GET", "path": "/api/v1/templates/*"}
    admin = {"Authorization": f"Bearer {ADMIN}"}
    httpx.post(f"{url}/_emulator/faults", headers=admin, json=rule).raise_for_status()
    outside = seed_outside(url)
    assert run_selftest(url) == 1
    out = capsys.readouterr().out
    assert "✗  templates-get" in out
    assert "GET by slug: 200 with a non-JSON body '<html>502 Bad Gateway</html>'" in out
    assert "expected: GET /api/v1/templates/{slug} and /api/v1/templates/{id}" in out
    assert (
        "21 of 24 expectations hold; not: templates-get; not checked: scopes, rate-limit-headers."
        in out
    )
    assert live_tasks(url) == [outside]


def test_a_namespace_already_in_use_is_refused_before_anything_is_made(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    outside = seed_outside(url)
    assert run_selftest(url, "--namespace", "shop-pri") == 1
    err = capsys.readouterr().err
    assert "1 task(s) already have a name starting with 'shop-pri'" in err
    assert "choose another --namespace" in err
    assert live_tasks(url) == [outside]


def test_record_saves_every_exchange_with_the_token_masked_in_any_encoding(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "exchanges"
    assert run_selftest(url, "--record", str(folder)) == 0
    files = sorted(folder.iterdir())
    assert f"Recorded {len(files)} exchanges in {folder}." in capsys.readouterr().err
    assert len(files) > 30
    assert not [f for f in files if f.name.startswith(".")]  # no temporary left behind
    first = json.loads(files[0].read_text(encoding="utf-8"))
    assert first["request"]["method"] == "GET"
    assert first["request"]["path"] == "/api/v1/tasks"
    assert first["request"]["headers"]["authorization"] == "***"
    assert set(first["response"]) == {"status", "headers", "body"}
    names = [f.name for f in files]
    assert any(n.endswith("-create-POST.json") for n in names)
    assert any(n.endswith("-cleanup-DELETE.json") for n in names)
    secrets = SecretSet.of([TOKEN])
    encoded = base64.b64encode(TOKEN.encode()).decode()
    for file in files:
        text = file.read_text(encoding="utf-8")
        assert secrets.find_leak(text) is None, file.name
        assert TOKEN not in text
        assert encoded not in text


def test_an_unreachable_service_is_one_line_and_exit_1(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import socket

    with socket.socket() as spare:
        spare.bind(("127.0.0.1", 0))
        port = spare.getsockname()[1]
    assert run_selftest(f"http://127.0.0.1:{port}") == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("error: GET /api/v1/tasks: could not connect")
    assert f"127.0.0.1:{port}" in err[0]


def test_a_short_media_download_and_a_missing_preview_route_fail_exactly_those_two(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    admin = {"Authorization": f"Bearer {ADMIN}"}
    rules = [
        {"kind": "truncate", "method": "GET", "path": "/media/*"},
        {"kind": "non_json", "status": 404, "method": "POST", "path": "/api/v1/tasks/preview"},
    ]
    for rule in rules:
        httpx.post(f"{url}/_emulator/faults", headers=admin, json=rule).raise_for_status()
    outside = seed_outside(url)
    assert run_selftest(url, "--output", "json") == 1
    report = json.loads(capsys.readouterr().out)
    observed = {item["id"]: item["observed"] for item in report["expectations"]}
    failed = {item["id"] for item in report["expectations"] if not item["passed"]}
    assert failed == {"media-list", "preview-task"}
    unchecked = {item["id"] for item in report["expectations"] if not item["checked"]}
    assert unchecked == {"scopes", "rate-limit-headers", "preview-quota-shape"}
    assert observed["media-list"].endswith(" bytes downloaded, the listing said 119")
    assert observed["preview-task"] == (
        "POST /api/v1/tasks/preview: 404 with a non-JSON body '<html>502 Bad Gateway</html>' "
        "(expected 200)"
    )
    assert observed["preview-quota-shape"].startswith("not checked: the preview answered 404")
    assert report["cleanup"]["problems"] == []
    assert live_tasks(url) == [outside]
