"""CLI start-up cost: `titan-gitops --version` and `--help` vs a bare `python -c pass`, one run.

Rounds alternate the cases so machine noise spreads over all of them; medians are printed, and the
ratio is the figure to watch (goal: at most 4x the bare interpreter).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

ROUNDS = 15
CASES = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "titan-gitops --version": [sys.executable, "-m", "titan_gitops", "--version"],
    "titan-gitops --help": [sys.executable, "-m", "titan_gitops", "--help"],
}


def time_once(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    samples: dict[str, list[float]] = {name: [] for name in CASES}
    for _ in range(ROUNDS):
        for name, argv in CASES.items():
            samples[name].append(time_once(argv))
    bare = statistics.median(samples["python -c pass"])
    for name, values in samples.items():
        median = statistics.median(values)
        print(f"{name:28s} median {median * 1000:7.1f} ms   {median / bare:5.2f}x bare python")
    version = statistics.median(samples["titan-gitops --version"])
    print(f"startup_vs_python={version / bare:.2f}x (goal <= 4x)")


if __name__ == "__main__":
    main()
