"""The selftest's scopes expectation: a second token without tasks:write may read, not write."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.selftest.test_selftest_serve import TOKEN, live_tasks, run_selftest, serve, stop

READ_ONLY = "selftest-read-only-5d0c3a"


@pytest.fixture(scope="module")
def served() -> Iterator[str]:
    # READ_ONLY has tasks:read only; WRITES (a second full token) stands for a token the
    # operator believed read-only.
    process, url = serve("--token", f"{READ_ONLY}=tasks:read", "--token", "selftest-writes-11")
    try:
        yield url
    finally:
        stop(process)


def report(out: str) -> dict[str, dict[str, object]]:
    return {item["id"]: item for item in json.loads(out)["expectations"]}


def test_a_read_only_token_is_checked_against_a_create(
    served: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TITAN_SELFTEST_READ_TOKEN", READ_ONLY)
    assert run_selftest(served, "--output", "json") == 0
    out = capsys.readouterr().out
    scopes = report(out)["scopes"]
    assert (scopes["passed"], scopes["checked"]) == (True, True)
    assert scopes["observed"] == "200 on a list, 403 FORBIDDEN on a create"
    assert READ_ONLY not in out


def test_a_token_that_may_write_fails_scopes_and_what_it_made_is_removed(
    served: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TITAN_SELFTEST_READ_TOKEN", "selftest-writes-11")
    assert run_selftest(served, "--output", "json") == 1
    out = capsys.readouterr().out
    failed = {key for key, item in report(out).items() if not item["passed"]}
    assert failed == {"scopes"}
    assert report(out)["scopes"]["observed"] == "201: a task was created with the read-only token"
    assert "selftest-writes-11" not in out
    assert live_tasks(served) == []
    assert TOKEN not in out
