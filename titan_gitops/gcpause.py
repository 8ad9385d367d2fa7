"""Pausing Python's cyclic garbage collector while a stage builds a large acyclic state.

Loading, validating, fetching and diffing 10,000 definitions build millions of small dicts and
lists that all stay alive until the plan is made. Each one counts towards the collector's next
run, and every third older run walks every object still alive, so the collector keeps walking
the same growing state: on a 10,000-task plan it was a third of the time (bench/bench_plan.py).
That state holds no reference cycle (trees of plain data), so there is nothing for the collector
to find there. The pause ends with the stage, whether it returns or raises, and restores what
was there before, so nested pauses and a caller that disabled the collector itself are kept.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import ParamSpec, TypeVar

_P = ParamSpec("_P")
_R = TypeVar("_R")


@contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic collector off for the block, then as it was (reference counting goes on)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def pauses_collector(function: Callable[_P, _R]) -> Callable[_P, _R]:
    """`function` run with the cyclic collector paused (see the module's docstring)."""

    @wraps(function)
    def paused(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        with collector_paused():
            return function(*args, **kwargs)

    return paused
