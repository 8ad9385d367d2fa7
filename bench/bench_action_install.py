"""The Action's install step (requirements/install_action.py), timed as a job would see it.

- cold: no venv and no pip cache (a job whose cache key missed): a fresh venv, the hash-locked
  requirements downloaded and installed, then titan-gitops itself. Needs the package index.
- package: the venv restored by the restore-key prefix (same lock, other action sources): only
  titan-gitops itself is reinstalled.
- warm: the venv restored under the exact key: only checked.

Each case runs the script as action.yml does, with the interpreter running this bench (pass
--python for another). Prints seconds per case and a last key=value line; no goal is asserted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "requirements" / "install_action.py"
MARKER = "titan-gitops-install.txt"


def run_install(python: str, venv: Path, pip_cache: Path | None) -> float:
    env = {**os.environ, "TG_VENV": str(venv)}
    env.pop("GITHUB_OUTPUT", None)
    if pip_cache is None:
        env["PIP_NO_CACHE_DIR"] = "1"
    else:
        env["PIP_CACHE_DIR"] = str(pip_cache)
    start = time.perf_counter()
    subprocess.run(
        [python, str(SCRIPT), "install"],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--python", default=sys.executable, help="interpreter to install for")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of the warm cases")
    parser.add_argument("--quick", action="store_true", help="one round of each warm case")
    args = parser.parse_args()
    rounds = 1 if args.quick else max(1, args.rounds)
    with tempfile.TemporaryDirectory(prefix="titan-gitops-bench-") as temp:
        venv = Path(temp) / "venv"
        cold = run_install(args.python, venv, None)
        package: list[float] = []
        warm: list[float] = []
        for _ in range(rounds):
            # As restored by the prefix: the marker names other action sources.
            (venv / MARKER).write_text("another-version\n", encoding="utf-8")
            package.append(run_install(args.python, venv, None))
            warm.append(run_install(args.python, venv, None))
    figures = {
        "cold": cold,
        "package": statistics.median(package),
        "warm": statistics.median(warm),
    }
    print(f"interpreter: {args.python}")
    print(f"cold (no venv, no pip cache)      {figures['cold']:7.2f} s")
    print(f"package only (restore-key prefix) {figures['package']:7.2f} s  median of {rounds}")
    print(f"warm (exact key, venv kept)       {figures['warm']:7.2f} s  median of {rounds}")
    print(
        f"cold={figures['cold']:.2f} package={figures['package']:.2f} "
        f"warm={figures['warm']:.2f} saved={figures['cold'] - figures['warm']:.2f}"
    )


if __name__ == "__main__":
    main()
