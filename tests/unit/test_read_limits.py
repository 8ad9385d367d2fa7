"""Read limits: deadline settings, the figures errors name, bounded inflating, listing bounds."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest

from titan_gitops._http import ResponseRefused, _Inflater
from titan_gitops.client.limits import (
    ReadLimitExceeded,
    describe_bytes,
    describe_count,
    describe_location,
    describe_seconds,
    describe_url,
)
from titan_gitops.client.listing import ListingBounds, read_listing
from titan_gitops.client.records import Page, WireRecord
from titan_gitops.errors import ConfigError
from titan_gitops.settings import (
    COMMAND_DEADLINE,
    REQUEST_DEADLINE,
    ReadLimits,
    parse_deadline,
    resolve_read_limits,
    resolve_target,
)

# -- settings ------------------------------------------------------------------------------------


def test_deadlines_default_when_unset_or_empty() -> None:
    limits = resolve_read_limits({"TITAN_DEADLINE": "  "})
    assert (limits.request_deadline, limits.command_deadline) == (
        REQUEST_DEADLINE,
        COMMAND_DEADLINE,
    )


def test_deadlines_are_read_from_the_environment() -> None:
    limits = resolve_read_limits({"TITAN_DEADLINE": "90", "TITAN_REQUEST_DEADLINE": "2.5"})
    assert (limits.request_deadline, limits.command_deadline) == (2.5, 90.0)


@pytest.mark.parametrize("raw", ["soon", "0", "-5", "nan", "inf", "1e9", "30m"])
def test_a_deadline_that_is_not_a_sensible_number_of_seconds_is_refused(raw: str) -> None:
    with pytest.raises(ConfigError, match=r"TITAN_DEADLINE must be a number of seconds") as caught:
        parse_deadline({"TITAN_DEADLINE": raw}, "TITAN_DEADLINE", 10.0)
    assert repr(raw) in str(caught.value)


def test_a_long_bad_deadline_is_quoted_short() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_deadline({"TITAN_DEADLINE": "x" * 500}, "TITAN_DEADLINE", 10.0)
    assert len(str(caught.value)) < 200


def test_the_target_carries_the_limits_even_for_the_embedded_emulator(tmp_path: Path) -> None:
    target = resolve_target({"TITAN_REQUEST_DEADLINE": "7"}, cwd=tmp_path)
    assert target.is_embedded
    assert target.limits.request_deadline == 7.0
    with pytest.raises(ConfigError, match="TITAN_REQUEST_DEADLINE"):
        resolve_target({"TITAN_REQUEST_DEADLINE": "never"}, cwd=tmp_path)


# -- figures -------------------------------------------------------------------------------------


def test_figures_are_worded_for_people() -> None:
    assert describe_count(10**12) == "1,000,000,000,000"
    assert describe_bytes(32 * 2**20) == "32 MiB"
    assert describe_bytes(4 * 2**30) == "4 GiB"
    assert describe_bytes(1536) == "1.5 KiB"
    assert describe_bytes(10) == "10 bytes"
    assert describe_seconds(3.0) == "3 seconds"
    assert describe_seconds(1) == "1 second"
    assert describe_seconds(0.5) == "0.5 seconds"


def test_a_url_is_named_without_its_query_or_credentials() -> None:
    origin = "https://api.titan.test"
    assert describe_url(origin, "/api/v1/tasks", "/api/v1/tasks") == f"{origin}/api/v1/tasks"
    media = "https://user:pw@cdn.titan.test/media/a.png?token=s3cret"
    assert describe_url(origin, media, "/media/a.png") == "https://cdn.titan.test/media/a.png"


@pytest.mark.parametrize(
    ("location", "shown"),
    [
        ("http://127.0.0.1:99999/api/v1/tasks", "http://127.0.0.1:99999"),
        ("https://u:p@evil.test/steal?token=x", "https://evil.test"),
        ("http://[::1", "an unparsable location"),
        ("/api/v2/tasks?x=1", "the path /api/v2/tasks"),
        ("", "an empty location"),
        ("//other.test/x", "//other.test"),
    ],
)
def test_a_redirect_location_is_described_without_failing(location: str, shown: str) -> None:
    assert describe_location(location) == shown


def test_a_very_long_location_is_cut() -> None:
    assert len(describe_location("https://" + "a" * 5000 + ".test/")) <= 120


# -- inflating -----------------------------------------------------------------------------------


def inflate(encoding: str, body: bytes, limit: int, chunk: int = 4096) -> bytes:
    inflater = _Inflater(encoding, limit, 200)
    out = b""
    for start in range(0, len(body), chunk):
        for piece in inflater.feed(body[start : start + chunk]):
            assert len(piece) <= 1 << 16
            out += piece
    for piece in inflater.finish():
        out += piece
    return out


@pytest.mark.parametrize(
    ("encoding", "pack"),
    [
        ("gzip", gzip.compress),
        ("x-gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda data: zlib.compress(data)[2:-4]),  # the raw stream some servers send
        ("", lambda data: data),
        ("identity", lambda data: data),
    ],
)
def test_answers_below_the_cap_are_decoded(encoding: str, pack: Callable[[bytes], bytes]) -> None:
    data = b'{"success": true, "data": []}' * 1000
    assert inflate(encoding, pack(data), 1 << 20) == data


def test_inflating_stops_at_the_cap_in_small_steps() -> None:
    bomb = gzip.compress(bytes(64 * 2**20), compresslevel=9)
    with pytest.raises(ResponseRefused) as caught:
        inflate("gzip", bomb, 2**20, chunk=len(bomb))
    assert (caught.value.kind, caught.value.limit) == ("decoded", 2**20)


@pytest.mark.parametrize("encoding", ["br", "zstd", "gzip, gzip", "compress"])
def test_an_encoding_that_was_not_asked_for_is_refused(encoding: str) -> None:
    with pytest.raises(ResponseRefused) as caught:
        _Inflater(encoding, 1 << 20, 200)
    assert caught.value.kind == "encoding"


# -- listing bounds ------------------------------------------------------------------------------


class Item(WireRecord):
    id: str | None = None


def pages_of(
    total: int | None, *, same: bool = False, step: int | None = None
) -> Callable[..., Page[Item]]:
    """A page reader over an endless (or `total`-long) run of fresh items."""
    reads: list[int] = []

    def read(limit: int, offset: int) -> Page[Item]:
        reads.append(offset)
        size = step or limit
        if total is not None and not same:
            size = max(0, min(size, total - offset))
        start = 0 if same else offset
        items = tuple(Item(id=None if same else f"i-{start + n}") for n in range(size))
        return Page(items=items, total=total, limit=limit, offset=offset)

    read.reads = reads  # type: ignore[attr-defined]
    return read


BOUNDS = ListingBounds(pages=5, items=40, path="/api/v1/x", url="https://t.test/api/v1/x")


def test_an_endless_listing_stops_at_the_page_bound() -> None:
    read = pages_of(None)
    with pytest.raises(ReadLimitExceeded, match=r"https://t.test/api/v1/x passed 5 pages"):
        read_listing(read, page_size=5, bounds=BOUNDS)
    assert len(read.reads) == 5  # type: ignore[attr-defined]


def test_an_announced_total_beyond_the_item_bound_is_refused_after_one_page() -> None:
    read = pages_of(10**12)
    with pytest.raises(
        ReadLimitExceeded, match=r"announced 1,000,000,000,000 items, more than the 40"
    ):
        read_listing(read, page_size=10, parallelism=4, bounds=BOUNDS)
    assert read.reads == [0]  # type: ignore[attr-defined]


def test_more_items_than_the_bound_are_refused_while_read() -> None:
    with pytest.raises(ReadLimitExceeded, match="passed 40 items"):
        read_listing(pages_of(None), page_size=30, bounds=ListingBounds(pages=99, items=40))


def test_an_announced_total_needing_too_many_pages_is_refused_before_reading_them() -> None:
    read = pages_of(40, step=2)
    with pytest.raises(ReadLimitExceeded, match="in pages of 2, more than 5 pages"):
        read_listing(read, page_size=10, parallelism=4, bounds=BOUNDS)
    assert read.reads == [0]  # type: ignore[attr-defined]


@pytest.mark.parametrize("total", [None, 30])
def test_the_same_page_twice_is_refused_as_not_advancing(total: int | None) -> None:
    read = pages_of(total, same=True)
    with pytest.raises(ReadLimitExceeded, match=r"same page twice \(the second at offset 10\)"):
        read_listing(read, page_size=10, bounds=BOUNDS)
    assert read.reads == [0, 10]  # type: ignore[attr-defined]


def test_a_listing_within_its_bounds_is_read_whole() -> None:
    for parallelism in (1, 2):
        listing = read_listing(pages_of(35), page_size=10, parallelism=parallelism, bounds=BOUNDS)
        assert listing.problem is None
        assert [r.id for r in listing.records] == [f"i-{n}" for n in range(35)]


def test_the_default_bounds_are_the_named_limits() -> None:
    assert (ListingBounds().pages, ListingBounds().items) == (1_000, 100_000)
    assert ReadLimits().body_bytes <= ReadLimits().decoded_bytes < ReadLimits().download_bytes


def test_a_long_wait_gets_room_in_the_command_deadline_and_a_short_one_changes_nothing() -> None:
    limits = ReadLimits(request_deadline=300.0, command_deadline=1800.0)
    assert limits.with_room_for(3600.0).command_deadline == 3900.0
    assert limits.with_room_for(60.0).command_deadline == 1800.0
    assert limits.with_room_for(3600.0).request_deadline == 300.0
