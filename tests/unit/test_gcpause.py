"""The cyclic collector is paused while the pipeline builds its state, and always restored."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from titan_gitops.client import TitanClient
from titan_gitops.emulator import EmulatorConfig, create_app
from titan_gitops.errors import ValidationFailed
from titan_gitops.gcpause import collector_paused, pauses_collector
from titan_gitops.pipeline import make_plan, validate_directory

TOKEN = "gc-token"
TASK = """\
kind: task
name: gc-task
urls: [https://shop.example.com/a]
objective: Read the price.
execution_type: single
output_schema: {type: object, properties: {price: {type: number}}}
"""


@pytest.fixture(autouse=True)
def collector_on() -> Iterator[None]:
    gc.enable()
    yield
    gc.enable()


def test_the_block_runs_with_the_collector_off_and_turns_it_back_on() -> None:
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_the_collector_is_turned_back_on_when_the_block_raises() -> None:
    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError("stage failed")
    assert gc.isenabled()


def test_a_nested_pause_leaves_the_outer_one_in_force() -> None:
    with collector_paused():
        with collector_paused():
            pass
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_collector_the_caller_turned_off_stays_off() -> None:
    gc.disable()
    with collector_paused():
        pass
    assert not gc.isenabled()


def test_the_decorator_passes_arguments_and_result_through() -> None:
    seen: list[bool] = []

    @pauses_collector
    def stage(a: int, *, b: int) -> int:
        seen.append(gc.isenabled())
        return a + b

    assert stage(2, b=3) == 5
    assert seen == [False]
    assert gc.isenabled()


def _write(root: Path, text: str) -> Path:
    (root / "tasks").mkdir(parents=True)
    (root / "tasks" / "t.yaml").write_text(text, encoding="utf-8")
    return root


def test_validate_restores_the_collector_after_invalid_definitions(tmp_path: Path) -> None:
    root = _write(tmp_path, TASK.replace("execution_type: single", "execution_type: often"))
    with pytest.raises(ValidationFailed):
        validate_directory(root, environ={})
    assert gc.isenabled()


def test_the_plan_reads_the_service_with_the_collector_paused(tmp_path: Path) -> None:
    # Observed at the service: the listing the plan makes arrives while the collector is off.
    app = create_app(EmulatorConfig(db_path=":memory:", tokens={TOKEN: None}))
    seen: list[bool] = []

    def observing(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        seen.append(gc.isenabled())
        return app(environ, start_response)

    transport = httpx.WSGITransport(app=observing)
    with TitanClient("http://titan.test", TOKEN, transport=transport) as client:
        plan = make_plan(_write(tmp_path, TASK), client, environ={})
    assert plan.counts()["create"] == 1
    assert seen
    assert not any(seen)
    assert gc.isenabled()
