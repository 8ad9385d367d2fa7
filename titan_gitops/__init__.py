"""titan-gitops: keep Titan web-scraping tasks in git.

Public names resolve lazily, so importing the package (and `titan-gitops --version`) costs nothing
beyond the interpreter.
"""

from __future__ import annotations

import importlib

# Not `typing.TYPE_CHECKING`: `python -m titan_gitops` runs this file before its Ctrl-C guard is
# in place, so it imports nothing the interpreter has not already loaded (typing takes ~5 ms).
TYPE_CHECKING = False

__version__ = "0.1.0"

_LAZY: dict[str, str] = {
    "TitanClient": "titan_gitops.client",
    "validate_directory": "titan_gitops.pipeline",
    "TitanGitopsError": "titan_gitops.errors",
    "InputError": "titan_gitops.errors",
    "ValidationFailed": "titan_gitops.errors",
    "ApiError": "titan_gitops.errors",
    "AuthError": "titan_gitops.errors",
    "NotFound": "titan_gitops.errors",
    "RateLimited": "titan_gitops.errors",
    "ApiUnavailable": "titan_gitops.errors",
    "PlanError": "titan_gitops.errors",
    "StalePlan": "titan_gitops.errors",
}

__all__ = ["__version__", *sorted(_LAZY)]

if TYPE_CHECKING:
    from typing import Any

    from titan_gitops.client import TitanClient as TitanClient
    from titan_gitops.errors import (  # noqa: F401  (re-exported lazily)
        ApiError,
        ApiUnavailable,
        AuthError,
        InputError,
        NotFound,
        PlanError,
        RateLimited,
        StalePlan,
        TitanGitopsError,
        ValidationFailed,
    )
    from titan_gitops.pipeline import validate_directory as validate_directory


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'titan_gitops' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
