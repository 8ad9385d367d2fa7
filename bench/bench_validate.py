"""Benchmark: `titan-gitops validate` on 2,000 generated task files vs a bare ruamel C-loader.

Runs the two as whole processes (imports included), alternating, and prints each run and the
medians. Goal (issue 4 §6): validate at most 1.25 times the floor.

    python bench/bench_validate.py [--files 2000] [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

TASK = """\
# yaml-language-server: $schema=../schema/titan-gitops.schema.json
kind: task
name: bench-task-{n:05d}
urls:
  - https://shop.example.com/products/{n}
  - https://shop.example.com/products/{n}?page=2
objective: Extract the name, price and stock state of every product on page {n}.
execution_type: {execution}
{schedule}proxy_locations: [us, de]
output_schema:
  type: object
  properties:
    name: {{type: string, minLength: 1}}
    price: {{type: number, minimum: 0}}
    currency: {{type: string, enum: [USD, EUR, GBP]}}
    in_stock: {{type: boolean}}
    image: {{type: string, format: media}}
  required: [name, price]
"""

FLOOR = """\
import sys
from pathlib import Path
from ruamel.yaml import YAML
yaml = YAML(typ="safe", pure=False)
assert yaml.Parser.__name__ == "CParser"
count = 0
for path in sorted(Path(sys.argv[1]).rglob("*.yaml")):
    for document in yaml.load_all(path.read_text(encoding="utf-8")):
        count += 1
print(count, "documents")
"""


def write_files(root: Path, count: int) -> None:
    """`count` one-task files; every fourth task is scheduled, schemas repeat (as in real repos)."""
    (root / "titan-gitops.yaml").write_text("namespace: bench-\n", encoding="utf-8")
    tasks = root / "tasks"
    tasks.mkdir()
    for n in range(count):
        scheduled = n % 4 == 0
        text = TASK.format(
            n=n,
            execution="scheduled" if scheduled else "single",
            schedule=f"schedule: '{n % 60} * * * *'\n" if scheduled else "",
        )
        (tasks / f"task-{n:05d}.yaml").write_text(text, encoding="utf-8")


def time_command(command: list[str]) -> float:
    """Wall time of one whole process; fails loudly if the command fails."""
    start = time.perf_counter()
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return elapsed


def main() -> None:
    """Generate the files, run both commands alternately, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="500 files, 3 runs")
    args = parser.parse_args()
    if args.quick:
        args.files, args.runs = 500, 3
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "defs"
        root.mkdir()
        write_files(root, args.files)
        floor_script = Path(tmp) / "floor.py"
        floor_script.write_text(FLOOR, encoding="utf-8")
        validate = [sys.executable, "-m", "titan_gitops", "validate", str(root)]
        floor = [sys.executable, str(floor_script), str(root)]
        times: dict[str, list[float]] = {"validate": [], "floor": []}
        for run in range(args.runs):
            # Alternate the order so neither side always runs on a warmer cache.
            order = [("validate", validate), ("floor", floor)]
            for name, command in order if run % 2 == 0 else order[::-1]:
                elapsed = time_command(command)
                times[name].append(elapsed)
                print(f"run {run + 1}: {name:8s} {elapsed:6.2f} s", flush=True)
        v, f = statistics.median(times["validate"]), statistics.median(times["floor"])
        print(f"files: {args.files}")
        print(f"median validate: {v:.2f} s   median floor: {f:.2f} s")
        print(f"ratio: {v / f:.2f} (goal: at most 1.25)")
        print(
            f"files={args.files} validate={v:.3f} floor={f:.3f} "
            f"validate_vs_floor={v / f:.2f}x goal=1.25"
        )


if __name__ == "__main__":
    main()
