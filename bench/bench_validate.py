"""Benchmark: `titan-gitops validate` as whole processes vs two bare loaders of the same files.

    python bench/bench_validate.py [--sizes 2000,20000] [--rounds 3] [--quick]

Per size, N generated one-task files; three contenders, each a whole process (imports included),
in an order that rotates every round: `titan-gitops validate DIR` (cold: the validated-definitions
cache emptied before each run), floor A (a bare ruamel
C-loader load, `YAML(typ="safe", pure=False)`) and floor B (PyYAML's libyaml `CSafeLoader`);
see floors.py. Printed: median, spread (min-max) and peak RSS of each, validate / floor A
(goal, issue 4: at most 1.25) and validate / floor B. The exit code is 0 whatever the figures.
--quick: 2,000 files only. write_files is shared with bench_plan.py.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import wholeproc
from floors import floor_commands
from wholeproc import Samples, verdict

GOAL = 1.25

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


def measure(files: int, rounds: int, scratch: Path) -> dict[str, Samples]:
    """validate, floor A and floor B on `files` files, rotating order, as whole processes."""
    root = scratch / f"defs-{files}"
    root.mkdir()
    write_files(root, files)
    environ = wholeproc.cli_environ(None, scratch)
    commands = {"validate": [*wholeproc.entry_point(), "validate", str(root)]}
    commands |= {f"floor {k}": v for k, v in floor_commands(scratch, root, listing=False).items()}
    samples = {name: Samples() for name in commands}
    names = list(commands)
    for number in range(rounds):
        shift = number % len(names)
        for name in names[shift:] + names[:shift]:
            # Cold, as on a fresh runner: the validated-definitions cache is emptied first.
            wholeproc.clear_caches(root, environ)
            samples[name].add(wholeproc.run(commands[name], environ))
    shutil.rmtree(root)
    return samples


def main(argv: list[str] | None = None) -> int:
    """Generate the files, run the three contenders, print the figures and a summary."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="2000,20000", help="comma-separated file counts")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="2,000 files only")
    args = parser.parse_args(argv)
    sizes = [2000] if args.quick else [int(n) for n in args.sizes.split(",")]
    words: list[str] = []
    with tempfile.TemporaryDirectory(prefix="titan-bench-validate-") as tmp:
        for files in sizes:
            samples = measure(files, args.rounds, Path(tmp))
            print(f"{files} files, {args.rounds} rounds, rotating order")
            for name, sample in samples.items():
                print(sample.line(name, 12))
            v = samples["validate"]
            a, b = v.median / samples["floor A"].median, v.median / samples["floor B"].median
            print(f"validate / floor A (ruamel): {a:.2f}x (goal <= {GOAL}: {verdict(a, GOAL)})")
            print(f"validate / floor B (libyaml): {b:.2f}x")
            tag = f"{files // 1000}k" if files % 1000 == 0 else str(files)
            if not words:
                words = [f"files={files}", f"validate_vs_floor={a:.2f}x"]
            words += [f"validate_{tag}_vs_floor={a:.2f}x", f"validate_{tag}_vs_libyaml={b:.2f}x"]
            words.append(f"validate_{tag}_mib={v.peak:.0f}")
    print(" ".join(words) + f" goal={GOAL}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
