"""Breaking output_schema changes at every depth: the task's schema and each step's."""

from __future__ import annotations

from titan_gitops.diff import pair_items

# --- the pairing the diff and the breaking check share ----------------------------------------


def test_pair_items_leaves_equal_items_out_and_pairs_a_replacement_in_order() -> None:
    a = [{"n": 1}, {"n": 2}, {"n": 3}, {"n": 4}]
    b = [{"n": 1}, {"n": 20}, {"n": 30}, {"n": 31}, {"n": 4}]
    assert list(pair_items(a, b)) == [(1, 1), (2, 2), (None, 3)]


def test_pair_items_yields_removed_items_by_their_old_index() -> None:
    a = [{"n": 1}, {"n": 2}, {"n": 3}, {"n": 4}]
    b = [{"n": 1}, {"n": 20}, {"n": 4}]
    assert list(pair_items(a, b)) == [(1, 1), (2, None)]


def test_pair_items_compares_items_by_canonical_json() -> None:
    # Key order is no change; 1 and True are equal in Python but not the same JSON.
    assert list(pair_items([{"a": 1, "b": 2}], [{"b": 2, "a": 1}])) == []
    assert list(pair_items([{"a": 1}], [{"a": True}])) == [(0, 0)]
    assert list(pair_items([], [{"a": 1}, {"a": 2}])) == [(None, 0), (None, 1)]
