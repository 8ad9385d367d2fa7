"""bench/mutants.py: a mutant schema behaves as its source until a mutant is made active."""

from __future__ import annotations

import builtins
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))
import mutants  # noqa: E402
import mutation  # noqa: E402
import mutation_pool  # noqa: E402

sys.path.remove(str(BENCH))

SOURCE = '''
"""Docstring, never mutated."""
LIMIT: int = 3


def grade(score: int, strict: bool = False) -> str:
    """Also never mutated."""
    if score >= LIMIT and not strict:
        return "pass"
    return "fail"


def count(items: list[int]) -> int:
    total = 0
    for item in items:
        if item in (1, 2):
            continue
        total += item
    return total


def kept(items: list[int]) -> list[int]:
    return [item for item in items if item > 0 or item == -5]
'''


@pytest.fixture
def schema() -> Iterator[tuple[mutants.Module, ModuleType]]:
    module = mutants.find_mutants(SOURCE, "sample.py", 100)
    assert module.tree is not None
    code = compile(module.tree, "sample.py", "exec")
    namespace = ModuleType("sample")
    builtins.__dict__[mutants.SWITCH] = -1
    exec(code, namespace.__dict__)
    yield module, namespace
    builtins.__dict__.pop(mutants.SWITCH, None)


def _behaviour(namespace: ModuleType) -> list[Any]:
    calls: list[Any] = []
    for score in (0, 2, 3, 4):
        for strict in (False, True):
            calls.append(namespace.grade(score, strict))
    calls.append(namespace.count([1, 2, 3, 4]))
    calls.append(namespace.kept([-5, -1, 0, 1, 2]))
    return calls


def test_the_unmutated_schema_behaves_as_the_source(
    schema: tuple[mutants.Module, ModuleType],
) -> None:
    _module, namespace = schema
    plain = ModuleType("plain")
    exec(compile(SOURCE, "plain.py", "exec"), plain.__dict__)
    assert _behaviour(namespace) == _behaviour(plain)


def test_every_mutant_acting_in_a_call_changes_behaviour(
    schema: tuple[mutants.Module, ModuleType],
) -> None:
    module, namespace = schema
    baseline = _behaviour(namespace)
    in_calls = [m for m in module.mutants if not m.at_import]
    assert {m.operator for m in in_calls} == {
        "flip comparison",
        "swap and/or",
        "negate condition",
        "return None",
        "statement → pass",
        "change constant",
    }
    for mutant in in_calls:
        builtins.__dict__[mutants.SWITCH] = mutant.number
        try:
            changed = _behaviour(namespace)
        except (TypeError, UnboundLocalError) as error:
            changed = [type(error).__name__]  # `return None` added to; `total = 0` gone
        assert changed != baseline, mutant.describe()
    builtins.__dict__[mutants.SWITCH] = -1
    assert _behaviour(namespace) == baseline


def test_mutants_are_numbered_keyed_and_placed(schema: tuple[mutants.Module, ModuleType]) -> None:
    module, _namespace = schema
    numbers = [m.number for m in module.mutants]
    assert numbers == list(range(100, 100 + len(numbers)))
    assert len({m.key for m in module.mutants}) == len(module.mutants)
    described = [m.describe() for m in module.mutants]
    assert (
        "sample.py:8  swap and/or  score >= LIMIT and (not strict) → score >= LIMIT or not strict"
        in described
    )
    assert not any("Docstring" in text or "never mutated" in text for text in described)
    at_import = [(m.line, m.operator, m.after) for m in module.mutants if m.at_import]
    assert at_import == [
        (3, "change constant", "4"),
        (6, "change constant", "True"),
    ]  # LIMIT, the default
    continue_ = next(m for m in module.mutants if m.before == "continue")
    assert (continue_.qualname, continue_.operator) == ("count", "statement → pass")


def test_the_equivalents_file_needs_a_reason_for_each_entry(tmp_path: Path) -> None:
    listed = tmp_path / "equivalents.txt"
    listed.write_text("# header\nplan.py::f::flip comparison::a → b\n    why it cannot differ\n")
    assert mutation.read_equivalents(listed) == {
        "plan.py::f::flip comparison::a → b": "why it cannot differ"
    }
    listed.write_text("plan.py::f::flip comparison::a → b\n")
    with pytest.raises(SystemExit, match="no reason"):
        mutation.read_equivalents(listed)
    listed.write_text("x\n  because\nx\n  again\n")
    with pytest.raises(SystemExit, match="listed twice"):
        mutation.read_equivalents(listed)


def test_the_kept_list_of_equivalents_reads() -> None:
    assert all(reason for reason in mutation.read_equivalents(mutation.EQUIVALENTS).values())


def _mutant(line: int, *, at_import: bool = False) -> mutants.Mutant:
    return mutants.Mutant(
        number=line,
        path="titan_gitops/plan.py",
        line=line,
        end_line=line + 1,
        qualname="f",
        operator="flip comparison",
        before="a == b",
        after="a != b",
        at_import=at_import,
        key=f"k{line}",
    )


def test_a_mutant_runs_the_fast_tests_that_cover_its_lines_fastest_first() -> None:
    test_map = mutation_pool.TestMap(
        lines={
            "titan_gitops/plan.py": {
                10: ["t.py::slow", "t.py::b"],
                11: ["u.py::a"],
                30: ["v.py::c"],
            }
        },
        durations={
            "t.py::slow": 9.0,
            "t.py::b": 0.2,
            "u.py::a": 0.1,
            "v.py::c": 0.1,
            "f.py::x": 0.3,
        },
        failed=["v.py::c"],
        cap=0.5,
    )
    assert test_map.left_out() == ["t.py::slow"]
    (job,) = mutation.jobs_for([_mutant(10)], test_map, minimum=20.0)
    assert job.select == ["u.py::a", "t.py::b"]
    assert job.args == ["u.py", "t.py"]
    assert job.timeout == pytest.approx(20.0 + 3 * 0.3)
    assert mutation.jobs_for([_mutant(30)], test_map, minimum=20.0) == []  # only a failing test
    (at_import,) = mutation.jobs_for([_mutant(50, at_import=True)], test_map, minimum=20.0)
    assert at_import.select == ["u.py::a", "t.py::b"]  # every fast, passing test of the module
    test_map.fresh = ["f.py"]
    (with_fresh,) = mutation.jobs_for([_mutant(30)], test_map, minimum=20.0)
    assert (with_fresh.args, with_fresh.select) == (["f.py"], ["file:f.py"])


def test_a_sample_is_spread_evenly_or_drawn_with_a_seed() -> None:
    items = [_mutant(line) for line in range(100)]
    assert [m.line for m in mutation.sample(items, 4, None)] == [0, 25, 50, 75]
    drawn = mutation.sample(items, 4, 7)
    assert drawn == mutation.sample(items, 4, 7)
    assert len({m.line for m in drawn}) == 4
    assert mutation.sample(items, None, None) == items
