"""Which items of two lists correspond: alignment, then the most alike pairs inside a run."""

from __future__ import annotations

from titan_gitops.align import pair_items


def test_inside_a_run_an_item_pairs_with_the_most_alike_one() -> None:
    old = [{"action_type": "scrape", "n": 1}]
    new = [{"action_type": "crawl", "n": 2}, {"action_type": "scrape", "n": 3}]
    assert list(pair_items(old, new)) == [(0, 1), (None, 0)]


def test_a_removed_item_leaves_the_most_alike_one_paired() -> None:
    old = [{"action_type": "crawl", "n": 2}, {"action_type": "scrape", "n": 3}]
    new = [{"action_type": "scrape", "n": 1}]
    assert list(pair_items(old, new)) == [(1, 0), (0, None)]


def test_pairs_keep_the_order_of_both_lists() -> None:
    # The best pairs by entries in common would cross (0→1, 1→0); a diff never crosses.
    old = [{"k": "a", "x": 1}, {"k": "b", "x": 1}]
    new = [{"k": "b", "x": 2}, {"k": "a", "x": 2}]
    assert list(pair_items(old, new)) == [(0, 0), (1, 1)]


def test_as_many_items_pair_as_the_shorter_side_holds() -> None:
    old = [{"a": 1}, {"b": 1}]
    new = [{"c": 1}, {"d": 1}, {"e": 1}]
    pairs = list(pair_items(old, new))
    assert [p for p in pairs if None not in p] == [(0, 0), (1, 1)]
    assert (None, 2) in pairs


def test_unchanged_items_anchor_the_runs_between_them() -> None:
    a, b, c = {"k": "a"}, {"k": "b"}, {"k": "c"}
    assert list(pair_items([a, b], [a, c, b])) == [(None, 1)]
    assert list(pair_items([a, c, b], [a, b])) == [(1, None)]


def test_a_long_run_pairs_in_order() -> None:
    def lists(size: int) -> tuple[list[dict[str, int]], list[dict[str, int]]]:
        # Every item changed (x added), one inserted in front: one run of size by size + 1.
        old = [{"n": i} for i in range(size)]
        return old, [{"n": -1, "x": 0}, *({"n": i, "x": 1} for i in range(size))]

    # Under 2,500 comparisons, each item pairs with the one holding its n.
    old, new = lists(40)
    assert list(pair_items(old, new)) == [*((i, i + 1) for i in range(40)), (None, 0)]
    # Past them the best pairing is not searched: items pair in order.
    old, new = lists(60)
    assert list(pair_items(old, new)) == [*((i, i) for i in range(60)), (None, 60)]
