"""Benchmark: the client against the emulator, over a loopback socket and in-process.

Two figures: a 10,000-task listing, and GET /tasks/:id throughput in-process
(httpx.WSGITransport) vs over the socket.

The listing must take exactly ceil(N / 100) requests (the page size is clamped to 100). Tasks are
seeded straight into the emulator's backend, which is quicker than N POSTs and not what is timed.

    python bench/bench_client.py [--tasks 10000] [--gets 3000] [--runs 3] [--quick]

Figures only (exit 1 only when the listing's request count or length is wrong). The last line is
a `key=value` summary.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from typing import Any

import httpx
import repo_path  # noqa: F401  (testing/ below lives at the repo root)

from testing.emulator import start_background_server
from titan_gitops.client import TitanClient
from titan_gitops.emulator import EmulatorConfig, create_app

TOKEN = "bench-token-7a0d52"
PAGE = 100


def seed_tasks(app: Any, count: int) -> list[str]:
    """Store `count` tasks in the backend directly; return their ids."""
    ids = []
    for n in range(count):
        body = {
            "name": f"bench-{n:05d}",
            "urls": [f"https://shop.example.com/products/{n}"],
            "objective": f"Extract the name and price of every product on page {n}.",
            "execution_type": "single",
            "output_schema": {"type": "object", "properties": {"name": {"type": "string"}}},
        }
        ids.append(str(app.backend.create_task(body)["id"]))
    return ids


def time_listing(client: TitanClient, count: int, runs: int) -> tuple[float, int, bool]:
    """Median seconds of a full listing, the requests one listing made, and whether it was whole."""
    times = []
    requests = 0
    whole = True
    for _ in range(runs):
        before = client.request_count
        start = time.perf_counter()
        tasks = client.list_tasks()
        times.append(time.perf_counter() - start)
        requests = client.request_count - before
        whole = whole and len(tasks) == count and len({t.body()["id"] for t in tasks}) == count
    return statistics.median(times), requests, whole


def time_gets(client: TitanClient, ids: list[str], gets: int) -> float:
    """Sequential GET /tasks/:id requests per second (ids taken round-robin)."""
    for task_id in ids[:20]:  # open the connection and warm the caches
        client.get_task(task_id)
    start = time.perf_counter()
    for n in range(gets):
        client.get_task(ids[n % len(ids)])
    return gets / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> int:
    """Seed, list, and time GETs both ways; print figures and a one-line summary."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--gets", type=int, default=3_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="2,000 tasks, 500 GETs, one run")
    args = parser.parse_args(argv)
    tasks, gets, runs = (2_000, 500, 1) if args.quick else (args.tasks, args.gets, args.runs)

    app = create_app(EmulatorConfig(tokens={TOKEN: None}))
    start = time.perf_counter()
    ids = seed_tasks(app, tasks)
    print(f"seeded {tasks} tasks in {time.perf_counter() - start:.2f} s", flush=True)

    server, url = start_background_server(app)
    try:
        with TitanClient(url, TOKEN) as socket_client:
            list_s, requests, whole = time_listing(socket_client, tasks, runs)
            socket_rps = time_gets(socket_client, ids, gets)
    finally:
        server.shutdown()
    transport = httpx.WSGITransport(app=app)
    with TitanClient("http://titan.test", TOKEN, transport=transport) as local_client:
        local_list_s, _, _ = time_listing(local_client, tasks, runs)
        local_rps = time_gets(local_client, ids, gets)

    expected = math.ceil(tasks / PAGE)
    ok = whole and requests == expected
    print(
        f"listing {tasks} tasks over loopback: {list_s:.3f} s, {requests} requests "
        f"(expected {expected}){'' if whole else ' INCOMPLETE'}"
    )
    print(f"listing {tasks} tasks in-process:    {local_list_s:.3f} s")
    print(f"GET /tasks/:id, sequential, {gets} requests:")
    print(f"  in-process (WSGITransport) {local_rps:8.0f} req/s")
    print(
        f"  loopback socket            {socket_rps:8.0f} req/s  "
        f"({socket_rps / local_rps:.2f} × in-process)"
    )
    print(
        f"tasks={tasks} list_seconds={list_s:.3f} list_requests={requests} "
        f"expected_requests={expected} list_inprocess_seconds={local_list_s:.3f} gets={gets} "
        f"inprocess_rps={local_rps:.0f} socket_rps={socket_rps:.0f} "
        f"socket_share={socket_rps / local_rps:.2f} ok={str(ok).lower()}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
