"""Benchmark: loading generated one-task files in-process, the reference path (ruamel's C parser)
against the libyaml fast path, with PyYAML's CSafeLoader as an independent floor.

The texts are read first, so only the load is timed. Contenders alternate within each round;
the figures are medians of the rounds with their spread. Peak memory is tracemalloc's peak while
loading a slice of the files and keeping what they loaded (as validate and plan keep it).

    python bench/bench_load.py [--files 10000] [--runs 3] [--memory-files 2000]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import repo_path  # noqa: F401  (puts the repository root on sys.path)
import yaml  # type: ignore[import-untyped]
from bench_validate import write_files

from titan_gitops.load import load_yaml_text
from titan_gitops.load.documents import load_yaml_text_reference


def _libyaml_floor(text: str, display: str) -> Any:
    return list(yaml.load_all(text, Loader=yaml.CSafeLoader))


CONTENDERS: dict[str, Callable[[str, str], Any]] = {
    "reference (ruamel C)": load_yaml_text_reference,
    "fast (libyaml)": load_yaml_text,
    "floor: PyYAML CSafeLoader": _libyaml_floor,
}


def load_all(load: Callable[[str, str], Any], texts: list[tuple[str, str]]) -> list[Any]:
    return [load(text, display) for display, text in texts]


def timed(load: Callable[[str, str], Any], texts: list[tuple[str, str]]) -> float:
    gc.collect()
    start = time.perf_counter()
    load_all(load, texts)
    return time.perf_counter() - start


def peak_bytes(load: Callable[[str, str], Any], texts: list[tuple[str, str]]) -> int:
    gc.collect()
    tracemalloc.start()
    kept = load_all(load, texts)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del kept
    return peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--memory-files", type=int, default=2_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "defs"
        root.mkdir()
        write_files(root, args.files)
        paths = sorted((root / "tasks").glob("*.yaml"))
        texts = [(str(p), p.read_text(encoding="utf-8")) for p in paths]
    for load in CONTENDERS.values():  # warm-up: imports, regex compiles, caches
        load_all(load, texts[:50])
    times: dict[str, list[float]] = {name: [] for name in CONTENDERS}
    for run in range(args.runs):
        order = list(CONTENDERS.items())
        if run % 2:
            order.reverse()
        for name, load in order:
            times[name].append(timed(load, texts))
    print(f"in-process load of {len(texts)} one-task files, median of {args.runs} (alternating)")
    base = statistics.median(times["reference (ruamel C)"])
    for name, runs in times.items():
        median = statistics.median(runs)
        spread = max(runs) - min(runs)
        print(
            f"  {name:28} {median:6.2f} s  spread {spread:.2f} s  "
            f"{median / len(texts) * 1e6:5.0f} us/file  {median / base:.2f}x reference"
        )
    sample = texts[: args.memory_files]
    print(f"tracemalloc peak loading {len(sample)} files and keeping what they loaded")
    for name, load in CONTENDERS.items():
        peak = peak_bytes(load, sample)
        print(f"  {name:28} {peak / 2**20:7.1f} MiB  {peak / len(sample) / 1024:6.1f} KiB/file")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
