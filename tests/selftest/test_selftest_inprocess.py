"""The selftest in-process: its list matches the emulator's choices, Ctrl-C still sweeps, it keeps
within a small rate budget, and with no target it brings its own emulator."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

import titan_gitops.emulator
from titan_gitops._http import HttpSession, make_wsgi_transport
from titan_gitops.cli import main
from titan_gitops.emulator import Clock, EmulatorConfig, create_app
from titan_gitops.emulator.app import EmulatorApp
from titan_gitops.selftest import EXPECTATIONS, SelftestContext, run_selftest
from titan_gitops.selftest.checks_tasks import check_create
from titan_gitops.selftest.expectations import expectation
from titan_gitops.selftest.probe import Probe

TOKEN = "selftest-inprocess-token-51a0"
ORIGIN = "http://titan.test"


def emulator(rate_limit: int | None = None, preview_quota: int | None = 50) -> EmulatorApp:
    config = EmulatorConfig(
        tokens={TOKEN: None},
        rate_limit=rate_limit,
        execution_seconds=2.0,
        preview_quota=preview_quota,
    )
    return create_app(config, clock=Clock(frozen_at=datetime(2026, 12, 1, tzinfo=UTC)))


def context(app: EmulatorApp, namespace: str = "inproc-selftest-") -> SelftestContext:
    """A selftest on `app` whose every wait moves the emulator's clock instead of sleeping."""
    session = HttpSession(ORIGIN, transport=make_wsgi_transport(app))

    def wait(seconds: float) -> None:
        app.clock.advance(seconds)

    probe = Probe(
        session,
        ORIGIN,
        {"Authorization": f"Bearer {TOKEN}"},
        sleep=wait,
        clock=app.clock.time,
    )
    return SelftestContext(probe, namespace, TOKEN, sleep=wait, clock=app.clock.time)


def task_names(app: EmulatorApp) -> list[str]:
    tasks, _ = app.backend.list_tasks(100, 0)
    return [str(task["name"]) for task in tasks]


def test_every_emulator_choice_is_checked_by_exactly_one_expectation() -> None:
    doc = titan_gitops.emulator.__doc__ or ""
    choices = re.findall(r"^- `([a-z0-9-]+)`:", doc, re.MULTILINE)
    checked = [item.choice for item in EXPECTATIONS if item.choice is not None]
    assert len(choices) == 21
    assert sorted(checked) == sorted(choices)
    assert len({item.id for item in EXPECTATIONS}) == len(EXPECTATIONS)
    for item in EXPECTATIONS:
        assert item.statement
        assert "\n" not in item.statement
        assert item.reference.startswith(("docs: ", "emulator choice "))


def test_every_expectation_holds_in_process_within_a_small_rate_budget() -> None:
    app = emulator(rate_limit=12)
    started = app.clock.time()
    ctx = context(app)
    report = run_selftest(ctx, EXPECTATIONS)
    assert [o.expectation.id for o in report.outcomes if not o.passed] == []
    assert len(ctx.probe.exchanges) > 36  # three windows of 12 at least
    assert app.clock.time() - started >= 120  # so it waited for them, on the emulator clock
    refused = [e for e in ctx.probe.exchanges if e.status == 429]
    assert len(refused) <= 1  # paced by X-RateLimit-*; a 429 is waited out, never a failure
    assert task_names(app) == []


def test_ctrl_c_in_the_middle_still_sweeps_the_namespace_and_nothing_else() -> None:
    app = emulator()
    outside = app.backend.create_task(
        {
            "name": "inproc-selftes",  # one character short of the namespace: not in it
            "urls": ["https://shop.example/p"],
            "objective": "Extract prices",
            "output_schema": {"type": "object"},
            "execution_type": "single",
        }
    )

    @expectation("interrupt", "Ctrl-C arrives.", "docs: none")
    def interrupt(ctx: SelftestContext) -> str:
        raise KeyboardInterrupt

    said: list[str] = []
    with pytest.raises(KeyboardInterrupt):
        run_selftest(context(app), [check_create, interrupt], announce=said.append)
    assert task_names(app) == ["inproc-selftes"]
    assert app.backend.get_task(outside["id"]) == outside
    assert said == ["selftest: removed 1 task named inproc-selftest-*"]


def test_with_no_target_it_brings_its_own_emulator_and_leaves_local_state_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["selftest"]) == 0
    captured = capsys.readouterr()
    assert "selftest against a fresh in-memory emulator" in captured.err
    assert "24 of 24 expectations hold." in captured.out
    assert not (tmp_path / ".titan-local").exists()


@pytest.mark.parametrize(
    ("namespace", "message"),
    [
        ("tg-", "the namespace must be at least 8 characters"),
        (" padded-prefix-", "without leading or trailing spaces"),
    ],
)
def test_a_bad_namespace_is_a_usage_error(
    namespace: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["selftest", f"--namespace={namespace}"]) == 1
    assert message in capsys.readouterr().err


def test_a_spent_preview_quota_is_reported_once_never_waited_for_or_retried() -> None:
    app = emulator(rate_limit=600, preview_quota=0)
    ctx = context(app)
    report = run_selftest(ctx, EXPECTATIONS)
    observed = {o.expectation.id: (o.passed, o.observed) for o in report.outcomes}
    # Not a failure of the service: the route answered as documented; only its records are unseen.
    assert [o.expectation.id for o in report.outcomes if not o.passed] == []
    assert [o.expectation.id for o in report.outcomes if not o.checked] == [
        "scopes",
        "preview-task",
    ]
    assert report.passed
    assert observed["preview-task"][1].startswith(
        "not checked: 429 preview_limit_exceeded: today's previews are spent, so the route exists"
    )
    assert observed["preview-quota-shape"] == (True, "X-Preview-Limit: 0, X-Preview-Remaining: 0")
    previews = [e for e in ctx.probe.exchanges if e.path == "/api/v1/tasks/preview"]
    assert len(previews) == 1  # one preview per run, and a spent day is not retried
    assert task_names(app) == []


def test_the_media_expectation_downloads_one_listed_item_by_its_link_alone() -> None:
    app = emulator()
    ctx = context(app)
    report = run_selftest(ctx, EXPECTATIONS)
    media = next(o for o in report.outcomes if o.expectation.id == "media-list")
    assert media.passed, media.observed
    assert re.fullmatch(r"\d+ items; one downloaded: \d+ bytes, sha256 as listed", media.observed)
    [download] = [e for e in ctx.probe.exchanges if "/media/" in e.path and e.method == "GET"]
    assert download.path.startswith(f"{ORIGIN}/media/")
    assert set(download.params) == {"expires", "token"}
    assert download.status == 200
