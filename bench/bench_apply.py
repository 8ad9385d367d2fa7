"""Benchmark: apply throughput under injected latency, and use of the service's rate-limit budget.

Part 1 (latency): N creates against an emulator that delays every request by L ms, applied with
parallelism P over a loopback socket. The floor is N * L / P; the goal (issue 6) is a create
step within 1.25 times that. The whole apply (creates, then the read-back that checks convergence)
is timed too, since the read-back also pays L per task.

Part 2 (rate limit): creates against an emulator with `rate_limit` requests per minute (one fixed
60 s window per caller, as emulator/ratelimit.py documents). A wrapper around the app records
every response, so the figures are the server's view: 429s answered, budget used in each window
the run filled, and how long after a window reset the client resumed.

    python bench/bench_apply.py [--creates 500] [--latency-ms 50] [--parallelism 8]
                                [--limited-creates 100] [--rate-limit 120] [--quick]

--quick shrinks both parts (part 2 then stays inside one window: no 429s are expected). Figures
only: it exits 0 whatever they are. The last line is a `key=value` summary.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import repo_path  # noqa: F401  (testing/ below lives at the repo root)

from testing.emulator import spawn_server, start_background_server
from titan_gitops.apply import apply_plan
from titan_gitops.client import TitanClient
from titan_gitops.emulator import EmulatorConfig, create_app
from titan_gitops.emulator.faults import FaultRule
from titan_gitops.model import ApplyReport, Outcome
from titan_gitops.pipeline import make_plan

TOKEN = "bench-token-3f9e1c"
LATENCY_GOAL = 1.25
BUDGET_GOAL = 0.90
WINDOW = 60.0

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


def write_definitions(root: Path, count: int) -> Path:
    """`count` one-task files in namespace `bench-`."""
    (root / "tasks").mkdir(parents=True)
    (root / "titan-gitops.yaml").write_text("namespace: bench-\n", encoding="utf-8")
    for n in range(count):
        (root / "tasks" / f"t{n:05d}.yaml").write_text(TASK.format(n=n), encoding="utf-8")
    return root


@dataclass
class Seen:
    """One response as the server sent it."""

    at: float
    status: int
    remaining: int | None


@dataclass
class ResponseLog:
    """WSGI middleware recording the status and X-RateLimit-Remaining of every response."""

    app: Callable[..., Iterable[bytes]]
    seen: list[Seen] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        def record(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            remaining = next((v for k, v in headers if k.lower() == "x-ratelimit-remaining"), None)
            entry = Seen(
                time.monotonic(), int(status[:3]), None if remaining is None else int(remaining)
            )
            with self.lock:
                self.seen.append(entry)
            return (
                start_response(status, headers, exc_info)
                if exc_info
                else start_response(status, headers)
            )

        return self.app(environ, record)


def make_client(url: str) -> TitanClient:
    """A client with default retry settings (httpx's pool outgrows any parallelism used here)."""
    return TitanClient(url, TOKEN, timeout=30.0)


@contextlib.contextmanager
def served(latency_ms: int) -> Iterator[str]:
    """`emulator serve` in its own process (as users run it), every request delayed."""
    with tempfile.TemporaryDirectory() as tmp:
        faults = Path(tmp) / "faults.json"
        rule = FaultRule(kind="latency", latency_ms=latency_ms)
        faults.write_text(json.dumps([rule.to_dict()]), encoding="utf-8")
        process, url, _ = spawn_server("--token", TOKEN, "--faults", str(faults))
        try:
            yield url
        finally:
            process.terminate()
            process.communicate(timeout=10)


def measure_latency_apply(creates: int, latency_ms: int, parallelism: int) -> dict[str, float]:
    """Part 1: apply `creates` creates with `latency_ms` on every request."""
    with (
        tempfile.TemporaryDirectory() as tmp,
        served(latency_ms) as url,
        make_client(url) as client,
    ):
        root = write_definitions(Path(tmp) / "defs", creates)
        plan = make_plan(root, client, environ={})
        assert len(plan.actionable) == creates, "the plan should create every task"
        marks: dict[str, float] = {}

        def progress(outcome: Outcome, done: int, total: int) -> None:
            if done == total:
                marks["creates_done"] = time.perf_counter()

        sent_before = client.request_count
        start = time.perf_counter()
        report = apply_plan(plan, client, parallelism=parallelism, progress=progress)
        whole = time.perf_counter() - start
        requests = client.request_count - sent_before
    check_report(report, creates)
    create_step = marks["creates_done"] - start
    floor = creates * latency_ms / 1000 / parallelism
    return {
        "create_step": create_step,
        "whole": whole,
        "verify": whole - create_step,
        "floor": floor,
        "ratio": create_step / floor,
        "whole_ratio": whole / floor,
        "requests": float(requests),
    }


def check_report(report: ApplyReport, creates: int) -> None:
    if not report.ok or len(report.outcomes) != creates:
        failed = [o.message for o in report.outcomes if o.status.value == "failed"][:3]
        raise SystemExit(f"apply did not succeed: converged={report.converged} {failed}")


def measure_rate_limited_apply(creates: int, rate_limit: int, parallelism: int) -> dict[str, float]:
    """Part 2: apply `creates` creates against a service allowing `rate_limit` per minute."""
    app = create_app(EmulatorConfig(tokens={TOKEN: None}, rate_limit=rate_limit))
    log = ResponseLog(app)
    server, url = start_background_server(log)
    try:
        with tempfile.TemporaryDirectory() as tmp, make_client(url) as client:
            root = write_definitions(Path(tmp) / "defs", creates)
            start = time.monotonic()
            plan = make_plan(root, client, environ={})
            report = apply_plan(plan, client, parallelism=parallelism)
            elapsed = time.monotonic() - start
            retries = client.retry_count
    finally:
        server.shutdown()
    check_report(report, creates)
    return summarise_budget(log.seen, rate_limit, elapsed, retries)


def summarise_budget(
    seen: list[Seen], limit: int, elapsed: float, retries: int
) -> dict[str, float]:
    """Budget use per window, from the server's responses.

    A window opens with the request that leaves `limit - 1` remaining. Every window but the last
    was followed by more work, so the client should have used all of it; the last one ends when
    the work ends and says nothing about pacing.
    """
    metered = [s for s in seen if s.remaining is not None]
    rejected = sum(1 for s in seen if s.status == 429)
    opens = [s.at for s in metered if s.status != 429 and s.remaining == limit - 1]
    allowed = [s for s in metered if s.status != 429]
    per_window = [
        sum(
            1 for s in allowed if begin <= s.at < (opens[i + 1] if i + 1 < len(opens) else math.inf)
        )
        for i, begin in enumerate(opens)
    ]
    full = per_window[:-1]
    share = sum(full) / (limit * len(full)) if full else float("nan")
    # How long after each reset the next window's first request came.
    resume = [opens[i + 1] - (opens[i] + WINDOW) for i in range(len(opens) - 1)]
    ideal = WINDOW * (len(opens) - 1)
    return {
        "elapsed": elapsed,
        "requests_allowed": float(len(allowed)),
        "rejected_429": float(rejected),
        "client_retries": float(retries),
        "windows": float(len(opens)),
        "budget_share": share,
        "max_resume_delay": max(resume) if resume else 0.0,
        "ideal": ideal,
    }


def main(argv: list[str] | None = None) -> int:
    """Run both parts and print their figures and a one-line summary."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--creates", type=int, default=500)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--parallelism", type=int, default=8)
    parser.add_argument("--limited-creates", type=int, default=200)
    parser.add_argument("--rate-limit", type=int, default=120)
    parser.add_argument("--quick", action="store_true", help="100 creates; part 2 in one window")
    parser.add_argument("--skip-rate-limit", action="store_true", help="part 1 only")
    args = parser.parse_args(argv)
    creates = 100 if args.quick else args.creates
    limited = 40 if args.quick else args.limited_creates

    lat = measure_latency_apply(creates, args.latency_ms, args.parallelism)
    print(
        f"latency: {creates} creates, {args.latency_ms} ms per request, "
        f"parallelism {args.parallelism}"
    )
    print(f"  floor N×L/P          {lat['floor']:7.2f} s")
    print(
        f"  create step          {lat['create_step']:7.2f} s  ratio {lat['ratio']:.2f} "
        f"(goal ≤ {LATENCY_GOAL})"
    )
    print(f"  read-back (verify)   {lat['verify']:7.2f} s")
    print(f"  whole apply          {lat['whole']:7.2f} s  ratio {lat['whole_ratio']:.2f}")
    print(f"  requests             {int(lat['requests'])}")
    summary = (
        f"creates={creates} latency_ms={args.latency_ms} parallelism={args.parallelism} "
        f"floor={lat['floor']:.2f} create_step={lat['create_step']:.2f} "
        f"create_ratio={lat['ratio']:.2f} verify={lat['verify']:.2f} "
        f"whole={lat['whole']:.2f} whole_ratio={lat['whole_ratio']:.2f} "
        f"latency_goal={LATENCY_GOAL}"
    )
    if not args.skip_rate_limit:
        rl = measure_rate_limited_apply(limited, args.rate_limit, args.parallelism)
        print(
            f"rate limit: {limited} creates, {args.rate_limit} requests/min, "
            f"parallelism {args.parallelism}"
        )
        print(
            f"  elapsed              {rl['elapsed']:7.2f} s  (fixed-window floor "
            f"{rl['ideal']:.0f} s)"
        )
        print(
            f"  requests allowed     {int(rl['requests_allowed'])} in "
            f"{int(rl['windows'])} window(s)"
        )
        print(
            f"  429s answered        {int(rl['rejected_429'])}  "
            f"(client retries {int(rl['client_retries'])})"
        )
        print(
            f"  budget used in filled windows {rl['budget_share']:.0%} (goal ≥ {BUDGET_GOAL:.0%})"
        )
        print(f"  slowest resume after a reset  {rl['max_resume_delay']:.2f} s")
        summary += (
            f" limited_creates={limited} rate_limit={args.rate_limit} "
            f"rl_elapsed={rl['elapsed']:.2f} rl_windows={int(rl['windows'])} "
            f"rl_429={int(rl['rejected_429'])} rl_retries={int(rl['client_retries'])} "
            f"budget_share={rl['budget_share']:.2f} resume_delay={rl['max_resume_delay']:.2f} "
            f"budget_goal={BUDGET_GOAL}"
        )
    print(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
