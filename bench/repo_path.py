"""Puts the repository root on sys.path, so a bench run as `python bench/NAME.py` imports testing/.

Import it (for this effect alone) before `testing`: a script run by path only has its own folder
on sys.path, and testing/ is a sibling of bench/, not an installed package.
"""

import sys
from pathlib import Path

ROOT = str(Path(__file__).resolve().parents[1])
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
