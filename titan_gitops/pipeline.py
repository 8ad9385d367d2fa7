"""The one module that chains the stages: load → validate → fetch → diff → plan (→ apply).

The CLI, the GitHub Action and library users all call these functions.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from titan_gitops.changes import Plan
from titan_gitops.fetch import fetch_live_state
from titan_gitops.plan import PlanOptions, build_plan
from titan_gitops.redact import register_secret
from titan_gitops.validate import validate_directory

if TYPE_CHECKING:
    from titan_gitops.client import TitanClient


def make_plan(
    root: Path,
    client: TitanClient,
    options: PlanOptions | None = None,
    *,
    environ: Mapping[str, str],
    target: str = "",
) -> Plan:
    """Validate the definitions under `root`, read the live tasks, and build the plan.

    Raises:
        ValidationFailed: the definitions are invalid (nothing was fetched).
        ApiError: the service could not be read completely.
        PlanError: the plan cannot be made safely.
    """
    desired = validate_directory(root, environ=environ)
    for secret in desired.secrets:
        register_secret(secret)
    live = fetch_live_state(client)
    return build_plan(desired, live, options, target=target)
