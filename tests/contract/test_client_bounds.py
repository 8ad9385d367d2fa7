"""The client's bounds over a real loopback socket: what a cut-off answer means for each method.

A read cut off at a bound fails at once (never retried); a write whose answer was cut off may have
acted, so it is OutcomeUnknown and is never sent again; the command deadline stops the next
request before it is sent; a download beyond its cap leaves nothing behind.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from tests.reliability.test_attacks_reads import (
    Request,
    answer_dripping_body,
    hostile,
    send_answer,
    send_json,
    task,
)
from titan_gitops.client import ReadLimitExceeded, TitanClient
from titan_gitops.errors import OutcomeUnknown
from titan_gitops.settings import ReadLimits

TOKEN = "bounds-contract-token"
QUICK = ReadLimits(request_deadline=1.0)


def client_to(url: str, limits: ReadLimits = QUICK) -> TitanClient:
    return TitanClient(url, TOKEN, limits=limits, backoff_base=0.01, sleep=lambda s: None)


def test_a_read_cut_off_at_the_deadline_is_not_retried() -> None:
    with hostile(answer_dripping_body) as server, client_to(server.url) as client:
        started = time.monotonic()
        with pytest.raises(ReadLimitExceeded, match="longer than 1 second") as caught:
            client.get_task("t-1")
    assert time.monotonic() - started < 5
    assert caught.value.bound == "deadline"
    assert len(server.seen) == 1


def test_a_write_whose_answer_is_cut_off_is_an_unknown_outcome_sent_once() -> None:
    with (
        hostile(answer_dripping_body) as server,
        client_to(server.url) as client,
        pytest.raises(OutcomeUnknown, match="may have been processed") as caught,
    ):
        client.create_task({"name": "n"})
    assert caught.value.may_still_land
    assert [r.method for r in server.seen] == ["POST"]


def test_an_oversized_error_body_is_refused_without_retrying() -> None:
    def answer(request: Request, sock: socket.socket) -> None:
        send_answer(sock, "503 Service Unavailable", b"x" * (2 * 2**20))

    limits = ReadLimits(body_bytes=2**20)
    with (
        hostile(answer) as server,
        client_to(server.url, limits) as client,
        pytest.raises(ReadLimitExceeded, match="passed 1 MiB as sent"),
    ):
        client.list_tasks()
    assert len(server.seen) == 1


def test_a_refused_write_with_an_oversized_body_is_not_an_unknown_outcome() -> None:
    def answer(request: Request, sock: socket.socket) -> None:
        send_answer(sock, "400 Bad Request", b"x" * (2 * 2**20))

    limits = ReadLimits(body_bytes=2**20)
    with (
        hostile(answer) as server,
        client_to(server.url, limits) as client,
        pytest.raises(ReadLimitExceeded) as caught,
    ):
        client.create_task({"name": "n"})
    assert caught.value.status == 400


def read_twenty_times(client: TitanClient) -> None:
    for _ in range(20):
        client.get_task("t-1")


def test_the_command_deadline_stops_the_next_request_before_it_is_sent() -> None:
    def answer(request: Request, sock: socket.socket) -> None:
        time.sleep(0.3)
        send_json(sock, {"success": True, "data": task(1)})

    limits = ReadLimits(command_deadline=1.0)
    with hostile(answer) as server, client_to(server.url, limits) as client:
        with pytest.raises(ReadLimitExceeded, match=r"deadline of 1 second \(TITAN_DEADLINE\)"):
            read_twenty_times(client)
        sent = len(server.seen)
        with pytest.raises(ReadLimitExceeded, match="ran out before GET"):
            client.get_task("t-1")
    assert 2 <= sent <= 5
    assert len(server.seen) == sent


def test_a_download_beyond_its_cap_leaves_no_file(tmp_path: Path) -> None:
    def answer(request: Request, sock: socket.socket) -> None:
        send_answer(sock, "200 OK", b"a,b\n" * 2**18)

    limits = ReadLimits(download_bytes=2**19)
    dest = tmp_path / "results.csv"
    with (
        hostile(answer) as server,
        client_to(server.url, limits) as client,
        pytest.raises(ReadLimitExceeded, match="passed 512 KiB"),
    ):
        client.download_results_csv("e-1", dest)
    assert list(tmp_path.iterdir()) == []


def test_a_download_within_its_cap_is_written(tmp_path: Path) -> None:
    body = b"a,b\n" * 1000

    def answer(request: Request, sock: socket.socket) -> None:
        send_answer(sock, "200 OK", body)

    with hostile(answer) as server, client_to(server.url) as client:
        assert client.download_results_csv("e-1", tmp_path / "r.csv") == tmp_path / "r.csv"
    assert (tmp_path / "r.csv").read_bytes() == body


def test_a_page_holding_more_items_than_a_whole_listing_may_is_refused_before_validation() -> None:
    def answer(request: Request, sock: socket.socket) -> None:
        send_json(sock, {"success": True, "data": [{"no": "id"}] * 60})

    with (
        hostile(answer) as server,
        client_to(server.url, ReadLimits(listing_items=50)) as client,
        pytest.raises(ReadLimitExceeded, match=r"one page of .* held 60 items, more than the 50"),
    ):
        client.list_tasks()
