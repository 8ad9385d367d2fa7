"""Whole listings from limit/offset pages, and the checks that a listing held still while read.

The first page gives the total (`meta.total`); the rest are then read at fixed offsets, concurrently
when `parallelism` > 1, or one after another, following the items actually returned, when it is 1.
Without a total the pages are walked until a short one. A listing whose total moves between pages,
that repeats an id, or whose length disagrees with its total is reported as a ListingProblem: a
partial inventory would turn into duplicate creates or wrong deletes, so callers refuse it (or read
it again) rather than use it.

A listing that passes its bounds (pages read, items read or announced) or does not advance (the
same page twice) raises ReadLimitExceeded instead: reading it again would only meet it again. The
announced total is a hint checked against the bounds, never a size to allocate for.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Generic

from titan_gitops.client.limits import ReadLimitExceeded, describe_count
from titan_gitops.client.records import Page, RecordT
from titan_gitops.settings import MAX_LISTING_ITEMS, MAX_LISTING_PAGES

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
class ListingBounds:
    """How far one listing may go, and the route and URL its errors name."""

    pages: int = MAX_LISTING_PAGES
    items: int = MAX_LISTING_ITEMS
    path: str = ""
    url: str = "the service"

    def refuse(self, what: str) -> ReadLimitExceeded:
        """The error for a listing of this route that `what` (a clause naming the figure)."""
        return ReadLimitExceeded(
            f"the listing of {self.url} {what}", bound="listing", method="GET", path=self.path
        )


@dataclass(frozen=True)
class Listing(Generic[RecordT]):
    """The records of one read of a listing; `problem` is set when they cannot be trusted."""

    records: tuple[RecordT, ...]
    announced: int | None
    problem: ListingProblem | None = None


def read_listing(
    read_page: PageReader[RecordT],
    *,
    page_size: int,
    parallelism: int = 1,
    bounds: ListingBounds | None = None,
) -> Listing[RecordT]:
    """Read a whole listing once, stopping at the first sign that it moved.

    Raises:
        ReadLimitExceeded: the listing passed its bounds or did not advance.
    """
    bounds = bounds or ListingBounds()
    read_page = _count_pages(read_page, bounds)
    first = read_page(page_size, 0)
    if first.total is not None and first.total > bounds.items:
        raise bounds.refuse(
            f"announced {describe_count(first.total)} items, more than the "
            f"{describe_count(bounds.items)} this tool reads; refusing to read it"
        )
    check = _ListingCheck[RecordT](first.total, bounds)
    if not check.take(first):
        return check.result()
    if first.total is None:
        pages: Iterable[Page[RecordT]] = _walk_to_short_page(read_page, first, page_size, bounds)
        return check.take_all(pages)
    if len(check.records) >= first.total:
        return check.result()
    if not first.items:
        return check.result()
    if parallelism <= 1:
        return check.take_all(_follow_offsets(read_page, first, page_size, bounds))
    step = len(first.items)
    if math.ceil(first.total / step) > bounds.pages:
        raise bounds.refuse(
            f"announced {describe_count(first.total)} items in pages of {step}, more than "
            f"{describe_count(bounds.pages)} pages; refusing to read it"
        )
    offsets = range(step, first.total, step)
    with ThreadPoolExecutor(max_workers=parallelism) as pool:
        return check.take_all(pool.map(lambda offset: read_page(step, offset), offsets))


def _count_pages(read_page: PageReader[RecordT], bounds: ListingBounds) -> PageReader[RecordT]:
    """`read_page`, refusing to read one page more than the bounds allow (thread-safe)."""
    lock = threading.Lock()
    count = [0]

    def counted(limit: int, offset: int) -> Page[RecordT]:
        with lock:
            count[0] += 1
            over = count[0] > bounds.pages
        if over:
            raise bounds.refuse(
                f"passed {describe_count(bounds.pages)} pages; refusing to read further"
            )
        return read_page(limit, offset)

    return counted


def _refuse_a_repeat(
    previous: Page[RecordT], page: Page[RecordT], offset: int, bounds: ListingBounds
) -> None:
    # The same items again means the service ignores the offset: the walk would never end.
    if page.items and page.items == previous.items:
        raise bounds.refuse(
            f"returned the same page twice (the second at offset {describe_count(offset)}): "
            "it does not advance; refusing to read further"
        )


class _ListingCheck(Generic[RecordT]):
    """Collects pages in order and notes the first inconsistency."""

    def __init__(self, announced: int | None, bounds: ListingBounds) -> None:
        self.announced = announced
        self._bounds = bounds
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
        if len(self.records) > self._bounds.items:
            raise self._bounds.refuse(
                f"passed {describe_count(self._bounds.items)} items; refusing to read further"
            )
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
    read_page: PageReader[RecordT], first: Page[RecordT], page_size: int, bounds: ListingBounds
) -> Iterator[Page[RecordT]]:
    # A short page ends the listing; a longer one means the route does not page.
    page, offset = first, len(first.items)
    while len(page.items) == page.limit:
        previous, page = page, read_page(page_size, offset)
        _refuse_a_repeat(previous, page, offset, bounds)
        yield page
        offset += len(page.items)


def _follow_offsets(
    read_page: PageReader[RecordT], first: Page[RecordT], page_size: int, bounds: ListingBounds
) -> Iterator[Page[RecordT]]:
    # One page at a time, each starting where the items read so far end; an empty page before
    # the total is reached ends the walk (the length check then reports it).
    total = first.total or 0
    page, offset = first, len(first.items)
    while offset < total:
        previous, page = page, read_page(page_size, offset)
        _refuse_a_repeat(previous, page, offset, bounds)
        yield page
        if not page.items:
            return
        offset += len(page.items)
