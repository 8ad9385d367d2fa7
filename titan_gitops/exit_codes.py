"""The one table of exit codes, shared by the CLI's commands and the GitHub Action.

`validate`: OK valid, ERROR invalid. `plan`: OK, ERROR; with `--detailed-exitcode` CHANGES when
there are changes. `drift`: OK in sync, CHANGES on drift, ERROR. `apply`: OK applied and converged,
ERROR otherwise. Any command: INTERRUPTED on Ctrl-C. The Action uses only OK and ERROR: it never
turns a successful plan red.
"""

from __future__ import annotations

from typing import Final

OK: Final = 0
ERROR: Final = 1
# Also why a usage error exits ERROR, not argparse's 2: 2 would read as "changes".
CHANGES: Final = 2
# Ctrl-C outside apply, or a second one (SIGINT or SIGTERM) during it: as shells report
# 128 + SIGINT.
INTERRUPTED: Final = 130
