"""titan-gitops: keep Titan web-scraping tasks in git.

Public names resolve lazily, so importing the package (and `titan-gitops --version`) costs nothing
beyond the interpreter.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

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
