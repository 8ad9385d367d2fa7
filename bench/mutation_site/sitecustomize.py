"""Imported by Python at start-up when a mutation run puts this folder on PYTHONPATH.

It loads the modules under mutation from their mutant schemas (bench/mutants.py), so a test that
starts the CLI in a subprocess runs the same active mutant as the test itself.
"""

import sys
from pathlib import Path

_BENCH = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(_BENCH))

import mutants  # noqa: E402

sys.path.remove(str(_BENCH))
mutants.install_hook(_BENCH.parent)
