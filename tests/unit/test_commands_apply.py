"""The shared apply loop: a signal stops new changes from starting and the handlers come back."""

from __future__ import annotations

import signal
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import httpx
import pytest

from titan_gitops.client import TitanClient
from titan_gitops.commands.apply import apply_with_signals
from titan_gitops.emulator import EmulatorConfig, create_app
from titan_gitops.errors import StalePlan
from titan_gitops.model import Action, Outcome, Status
from titan_gitops.pipeline import make_plan

TOKEN = "apply-loop-token-3e91"


@pytest.fixture
def client() -> Iterator[TitanClient]:
    """A client talking to a fresh in-process emulator."""
    app = create_app(EmulatorConfig(db_path=":memory:", tokens={TOKEN: None}))
    with TitanClient("http://titan.test", TOKEN, transport=httpx.WSGITransport(app=app)) as c:
        yield c


def write_task(root: Path, name: str) -> None:
    (root / "tasks").mkdir(parents=True, exist_ok=True)
    (root / "tasks" / f"{name}.yaml").write_text(
        textwrap.dedent(
            f"""\
            kind: task
            name: {name}
            urls:
              - https://shop.example/products
            objective: Extract product names and prices.
            output_schema:
              type: object
              properties:
                name: {{type: string}}
            execution_type: single
            """
        ),
        encoding="utf-8",
    )


def test_a_signal_during_apply_stops_later_steps_and_restores_the_handlers(
    tmp_path: Path, client: TitanClient
) -> None:
    # One create and one delete: deletes run in a later step, so a signal raised while the
    # create reports its progress is seen before the delete step starts.
    root = tmp_path / "defs"
    root.mkdir()
    (root / "titan-gitops.yaml").write_text("namespace: shop-\n", encoding="utf-8")
    write_task(root, "shop-new")
    client.create_task(
        {
            "name": "shop-orphan",
            "urls": ["https://shop.example/other"],
            "objective": "Made by hand.",
            "output_schema": {"type": "object"},
            "execution_type": "single",
        }
    )
    plan = make_plan(root, client, environ={})
    assert [(c.action, c.name) for c in plan.actionable] == [
        (Action.CREATE, "shop-new"),
        (Action.DELETE, "shop-orphan"),
    ]

    def outer_handler(_signum: int, _frame: FrameType | None) -> None:
        raise AssertionError("the apply loop's handler must be in place during apply")

    notices: list[str] = []
    seen: list[str] = []

    def progress(outcome: Outcome, _done: int, _total: int) -> None:
        seen.append(outcome.change.name)
        # One signal: a second one exits the process at once (tests/reliability, in a child).
        signal.raise_signal(signal.SIGINT)

    previous = {s: signal.signal(s, outer_handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        report = apply_with_signals(
            plan,
            client,
            environ={},
            parallelism=1,
            progress=progress,
            on_first_signal=lambda: notices.append("stopping"),
        )
        assert signal.getsignal(signal.SIGINT) is outer_handler
        assert signal.getsignal(signal.SIGTERM) is outer_handler
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    assert notices == ["stopping"]
    assert seen == ["shop-new"]
    assert report.interrupted
    assert not report.ok
    statuses = {o.change.name: (o.status, o.message) for o in report.outcomes}
    assert statuses["shop-new"][0] is Status.APPLIED
    assert statuses["shop-orphan"] == (Status.SKIPPED, "not started: interrupted")
    names = sorted(str(r.body().get("name")) for r in client.list_tasks())
    assert names == ["shop-new", "shop-orphan"]


class EditsBeforeTheLease:
    """WSGI middleware: once armed, someone edits a task in Titan just before the next create
    (the apply's lease) reaches the service."""

    def __init__(self, app: Any, edit: Callable[[], object]) -> None:
        self.app = app
        self.edit = edit
        self.armed = False

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if self.armed and environ["REQUEST_METHOD"] == "POST":
            self.armed = False
            self.edit()
        return self.app(environ, start_response)


def test_a_task_edited_after_the_plan_listed_it_is_refused_by_the_leases_listing(
    tmp_path: Path,
) -> None:
    # The plan reads the live tasks before the lease is taken; the listing that wins the lease
    # is the stale check, so an edit made in between is found, and nothing is written.
    app = create_app(EmulatorConfig(db_path=":memory:", tokens={TOKEN: None}))
    outsider = TitanClient("http://titan.test", TOKEN, transport=httpx.WSGITransport(app=app))
    root = tmp_path / "defs"
    root.mkdir()
    (root / "titan-gitops.yaml").write_text("namespace: shop-\n", encoding="utf-8")
    write_task(root, "shop-a")
    made = outsider.create_task(
        {
            "name": "shop-a",
            "urls": ["https://shop.example/products"],
            "objective": "Old.",
            "output_schema": {"type": "object"},
            "execution_type": "single",
        }
    ).body()
    middle = EditsBeforeTheLease(
        app, lambda: outsider.update_task(str(made["id"]), {"objective": "Edited in Titan."})
    )
    transport = httpx.WSGITransport(app=middle)
    with outsider, TitanClient("http://titan.test", TOKEN, transport=transport) as client:
        plan = make_plan(root, client, environ={})
        assert [c.action for c in plan.actionable] == [Action.UPDATE]
        middle.armed = True
        with pytest.raises(StalePlan, match=r"'shop-a'.* was changed"):
            apply_with_signals(plan, client, environ={}, parallelism=1, progress=lambda *_: None)
        assert not middle.armed, "the lease was taken after the edit"
        (stored,) = outsider.list_tasks()  # the lease was released, the update not sent
    assert stored.body()["objective"] == "Edited in Titan."
