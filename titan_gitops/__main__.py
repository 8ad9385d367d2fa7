"""`python -m titan_gitops`: the same as the `titan-gitops` command."""

import sys

from titan_gitops.cli import main

sys.exit(main())
