"""Whole listings from limit/offset pages, and the checks that a listing held still while read.

The first page gives the total (`meta.total`); the rest are then read at fixed offsets, concurrently
when `parallelism` > 1, or one after another, following the items actually returned, when it is 1.
Without a total the pages are walked until a short one. A listing whose total moves between pages,
that repeats an id, or whose length disagrees with its total is reported as a ListingProblem: a
partial inventory would turn into duplicate creates or wrong deletes, so callers refuse it (or read
it again) rather than use it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Generic

from titan_gitops.client.records import Page, RecordT

PageReader = Callable[[int, int], Page[RecordT]]
"""Reads one page: (limit, offset) -> Page."""


@dataclass(frozen=True)
class ListingProblem:
    """Why a listing cannot be trusted.

    `kind` is "changed size" (a later page announced another total, or more items came than
    announced), "repeated an item" or "ended early" (fewer items than announced).
    """

    kind: str
    announced: int | None
    later_total: int | None
    read: int
    repeated: int


@dataclass(frozen=True)
class Listing(Generic[RecordT]):
    """The records of one read of a listing; `problem` is set when they cannot be trusted."""

    records: tuple[RecordT, ...]
    announced: int | None
    problem: ListingProblem | None = None


def read_listing(
    read_page: PageReader[RecordT], *, page_size: int, parallelism: int = 1
) -> Listing[RecordT]:
    """Read a whole listing once, stopping at the first sign that it moved."""
    first = read_page(page_size, 0)
    check = _ListingCheck[RecordT](first.total)
    if not check.take(first):
        return check.result()
    if first.total is None:
        pages: Iterable[Page[RecordT]] = _walk_to_short_page(read_page, first, page_size)
        return check.take_all(pages)
    if len(check.records) >= first.total:
        return check.result()
    if not first.items:
        return check.result()
    if parallelism <= 1:
        return check.take_all(_follow_offsets(read_page, first, page_size))
    step = len(first.items)
    offsets = [step * i for i in range(1, math.ceil(first.total / step))]
    with ThreadPoolExecutor(max_workers=parallelism) as pool:
        return check.take_all(pool.map(lambda offset: read_page(step, offset), offsets))


class _ListingCheck(Generic[RecordT]):
    """Collects pages in order and notes the first inconsistency."""

    def __init__(self, announced: int | None) -> None:
        self.announced = announced
        self.records: list[RecordT] = []
        self._seen: set[str] = set()
        self._problem: ListingProblem | None = None
        self._repeated = 0

    def take(self, page: Page[RecordT]) -> bool:
        """Add one page; False once the listing is known to have moved."""
        if page.total != self.announced:
            self._note("changed size", page.total)
            return False
        for record in page.items:
            key = getattr(record, "id", None)
            if key is not None:
                if key in self._seen:
                    self._repeated += 1
                self._seen.add(key)
            self.records.append(record)
        if self._repeated:
            self._note("repeated an item", page.total)
            return False
        return True

    def take_all(self, pages: Iterable[Page[RecordT]]) -> Listing[RecordT]:
        """Add pages until one shows the listing moved; then the result."""
        for page in pages:
            if not self.take(page):
                break
        return self.result()

    def result(self) -> Listing[RecordT]:
        """The records read, with the problem found (a length check against the total last)."""
        read = len(self.records)
        if self._problem is None and self.announced is not None and read != self.announced:
            self._note("ended early" if read < self.announced else "changed size", None)
        return Listing(tuple(self.records), self.announced, self._problem)

    def _note(self, kind: str, later_total: int | None) -> None:
        self._problem = ListingProblem(
            kind, self.announced, later_total, len(self.records), self._repeated
        )


def _walk_to_short_page(
    read_page: PageReader[RecordT], first: Page[RecordT], page_size: int
) -> Iterator[Page[RecordT]]:
    # A short page ends the listing; a longer one means the route does not page.
    page, offset = first, len(first.items)
    while len(page.items) == page.limit:
        page = read_page(page_size, offset)
        yield page
        offset += len(page.items)


def _follow_offsets(
    read_page: PageReader[RecordT], first: Page[RecordT], page_size: int
) -> Iterator[Page[RecordT]]:
    # One page at a time, each starting where the items read so far end; an empty page before
    # the total is reached ends the walk (the length check then reports it).
    total = first.total or 0
    offset = len(first.items)
    while offset < total:
        page = read_page(page_size, offset)
        yield page
        if not page.items:
            return
        offset += len(page.items)
