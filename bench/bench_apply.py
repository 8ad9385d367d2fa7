"""Benchmark: `titan-gitops apply` as whole processes against `emulator serve` with latency.

    python bench/bench_apply.py [--creates 500] [--latency-ms 50] [--parallelism 8]
                                [--rounds 3] [--quick]

The emulator runs as `titan-gitops emulator serve` on 127.0.0.1, every /api/v1 request delayed
by L ms (a `latency` fault rule), with an admin token: `POST /_emulator/reset` empties it between
runs and `GET /_emulator/requests` tells what it received, per route. Each round runs, in an
order that rotates, three contenders as whole processes:

- the CLI, `titan-gitops apply DIR --auto-approve --parallelism P`: (a) N creates into the empty
  emulator, (b) the no-op re-run right after, (c) 5% of the files edited and applied;
- a sequential httpx script and an 8-thread httpx script (ThreadPoolExecutor) doing (a): each
  file read with a bare PyYAML load, its body POSTed.

Printed: per scenario the median, spread (min-max) and peak RSS, the requests the server
counted, (a) against the ideal N*L/P, the 8-thread peer against it too (what the emulator's
own handling costs the same creates), and the CLI against the peers. Goals (issue 20): (a) at
most 1.25x N*L/P; (b) the listing pages and nothing else; (c) the writes plus at most one listing
per phase (plan, read-back). The exit code is 0 whatever the figures (the last line says which
goals were met); it is 1 only when the bench itself failed. --quick: 100 creates.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import wholeproc
from wholeproc import Samples, verdict

GOAL = 1.25
PAGE = 100
LISTING = "GET /api/v1/tasks"

TASK = """\
kind: task
name: bench-{n:05d}
urls: [https://shop.example.com/products/{n}]
objective: Extract the name and price of every product on page {n}.
execution_type: single
output_schema:
  type: object
  properties:
    name: {{type: string}}
    price: {{type: number}}
  required: [name]
"""

PEER = """\
import os, sys
from pathlib import Path
from typing import Any
import httpx, yaml

def bodies(root):
    for path in sorted(Path(root, "tasks").glob("*.yaml")):
        body = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
        body.pop("kind", None)
        yield body

root, threads = sys.argv[1], int(sys.argv[2])
headers = {"Authorization": "Bearer " + os.environ["TITAN_TOKEN"]}
limits = httpx.Limits(max_connections=max(threads, 1))
with httpx.Client(base_url=os.environ["TITAN_API_URL"], headers=headers, limits=limits,
                  timeout=60) as http:
    def create(body):
        http.post("/api/v1/tasks", json=body).raise_for_status()
    if threads == 1:
        for body in bodies(root):
            create(body)
    else:
        from concurrent.futures import ThreadPoolExecutor
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(create, bodies(root)))
"""


def write_definitions(root: Path, count: int) -> list[Path]:
    """`count` one-task files in namespace `bench-`; returns them in order."""
    (root / "tasks").mkdir(parents=True)
    (root / "titan-gitops.yaml").write_text("namespace: bench-\n", encoding="utf-8")
    files = []
    for n in range(count):
        path = root / "tasks" / f"t{n:05d}.yaml"
        path.write_text(TASK.format(n=n), encoding="utf-8")
        files.append(path)
    return files


def edit_share(files: list[Path], share: float) -> dict[Path, str]:
    """Edit every 1/share-th file's objective; returns the originals to restore."""
    originals = {}
    for path in files[:: max(1, round(1 / share))]:
        text = path.read_text(encoding="utf-8")
        originals[path] = text
        path.write_text(text.replace("objective: ", "objective: Edited. ", 1), encoding="utf-8")
    return originals


class ApplyBench:
    """The contenders of one run, their samples and the requests the server counted."""

    def __init__(self, admin: wholeproc.Admin, root: Path, files: list[Path], args: Any) -> None:
        self.admin, self.root, self.files, self.args = admin, root, files, args
        self.environ = wholeproc.cli_environ(admin.url, root.parent)
        self.samples = {name: Samples() for name in ("create", "noop", "update", "seq", "threads")}
        self.requests: dict[str, dict[str, int]] = {}
        self.edited = 0
        cli = wholeproc.entry_point()
        self.apply = [*cli, "apply", str(root), "--auto-approve"]
        self.apply += ["--parallelism", str(args.parallelism)]
        self.peer = wholeproc.write_script(root.parent, "peer.py", PEER)

    def timed(self, name: str, argv: list[str]) -> None:
        self.samples[name].add(wholeproc.run(argv, self.environ))
        self.requests[name] = self.admin.take_requests()

    def cli(self) -> None:
        self.admin.reset()
        self.timed("create", self.apply)
        self.timed("noop", self.apply)
        originals = edit_share(self.files, 0.05)
        self.edited = len(originals)
        try:
            self.timed("update", self.apply)
        finally:
            for path, text in originals.items():
                path.write_text(text, encoding="utf-8")

    def peer_run(self, name: str, threads: int) -> None:
        self.admin.reset()
        self.timed(name, [*self.peer, str(self.root), str(threads)])

    def round(self, number: int) -> None:
        threads = int(self.args.parallelism)
        contenders: list[Callable[[], None]] = [
            self.cli,
            partial(self.peer_run, "seq", 1),
            partial(self.peer_run, "threads", threads),
        ]
        shift = number % len(contenders)
        for contender in contenders[shift:] + contenders[:shift]:
            contender()


def check_requests(
    requests: dict[str, dict[str, int]], creates: int, edited: int
) -> dict[str, bool]:
    """The request goals, from the server's counts of the last round."""
    pages = math.ceil(creates / PAGE)
    noop, update = requests["noop"], requests["update"]
    reads_only = all(key.startswith("GET ") and key.split()[1].count("/") == 3 for key in noop)
    writes = {k: v for k, v in update.items() if not k.startswith("GET ")}
    # The updates, and the lease that keeps a concurrent apply out: one POST, one DELETE.
    lease = {"POST /api/v1/tasks": 1, "DELETE /api/v1/tasks/{task_id}": 1}
    return {
        "noop": reads_only and noop.get(LISTING, 0) <= pages + 1,
        "update": writes == {"PATCH /api/v1/tasks/{task_id}": edited, **lease}
        and update.get(LISTING, 0) <= 2 * (pages + 1)
        and all(k == LISTING or k.endswith("/templates") for k in update if k.startswith("GET ")),
    }


def report(bench: ApplyBench, creates: int, args: Any) -> str:
    """Print the figures; returns the summary line."""
    ideal = creates * args.latency_ms / 1000 / args.parallelism
    s = bench.samples
    ratio = s["create"].median / ideal
    print(
        f"{creates} creates, {args.latency_ms} ms per request, parallelism {args.parallelism}, "
        f"{args.rounds} rounds alternating; ideal N*L/P = {ideal:.2f} s"
    )
    labels = {
        "create": f"(a) apply: {creates} creates",
        "noop": "(b) apply: no-op re-run",
        "update": f"(c) apply: {bench.edited} updates (5%)",
        "seq": "peer: sequential httpx",
        "threads": f"peer: {args.parallelism}-thread httpx",
    }
    for name, label in labels.items():
        print(s[name].line(label, 36))
        print(f"{'':36s} requests: {wholeproc.format_requests(bench.requests[name])}")
    met = check_requests(bench.requests, creates, bench.edited)
    vs_threads = s["create"].median / s["threads"].median
    vs_seq = s["create"].median / s["seq"].median
    peer_ratio = s["threads"].median / ideal
    print(f"(a) / ideal: {ratio:.2f}x (goal <= {GOAL}: {verdict(ratio, GOAL)})")
    peer = f"{args.parallelism}-thread peer"
    print(f"the {peer} / ideal: {peer_ratio:.2f}x (the same creates, no plan)")
    print(f"(b) listing pages only: {'ok' if met['noop'] else 'missed'}")
    updates = "ok" if met["update"] else "missed"
    print(f"(c) writes (the updates and the lease) + one listing per phase: {updates}")
    print(
        f"CLI / {args.parallelism}-thread peer: {vs_threads:.2f}x   CLI / sequential: {vs_seq:.2f}x"
    )
    goals_met = ratio <= GOAL and met["noop"] and met["update"]
    return (
        f"creates={creates} latency_ms={args.latency_ms} parallelism={args.parallelism} "
        f"ideal={ideal:.2f} create={s['create'].median:.2f} noop={s['noop'].median:.2f} "
        f"update={s['update'].median:.2f} apply_cli_vs_ideal={ratio:.2f}x "
        f"apply_vs_threads={vs_threads:.2f}x apply_vs_sequential={vs_seq:.2f}x "
        f"peer_threads_vs_ideal={peer_ratio:.2f}x "
        f"create_mib={s['create'].peak:.0f} noop_requests={sum(bench.requests['noop'].values())} "
        f"update_requests={sum(bench.requests['update'].values())} goal={GOAL} "
        f"goals_met={str(goals_met).lower()}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--creates", type=int, default=500)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--parallelism", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="100 creates")
    args = parser.parse_args(argv)
    creates = 100 if args.quick else args.creates
    with tempfile.TemporaryDirectory(prefix="titan-bench-apply-") as tmp:
        faults = Path(tmp) / "faults.json"
        rule = {"kind": "latency", "latency_ms": args.latency_ms, "path": "/api/v1/*"}
        faults.write_text(json.dumps([rule]), encoding="utf-8")
        files = write_definitions(Path(tmp) / "defs", creates)
        with wholeproc.served("--faults", str(faults)) as admin:
            bench = ApplyBench(admin, Path(tmp) / "defs", files, args)
            for number in range(args.rounds):
                bench.round(number)
                print(f"round {number + 1} done", flush=True)
        print(report(bench, creates, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
