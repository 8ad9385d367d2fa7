"""What every command shares: printing through the redactor, the colour choice, the Titan target."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

from titan_gitops.redact import redact

if TYPE_CHECKING:
    from titan_gitops.settings import Target


@dataclass(frozen=True)
class TargetOptions:
    """The `--api-url` and `--token` flags; unset ones fall back to the environment."""

    api_url: str | None = None
    token: str | None = None


def print_line(text: str, stream: TextIO | None = None) -> None:
    """Print one line (stdout by default) with every known secret masked."""
    print(redact(text), file=stream or sys.stdout)


def warn(text: str) -> None:
    """Print one line to stderr with every known secret masked."""
    print_line(text, sys.stderr)


def use_colour(no_color: bool) -> bool:
    """Colour only on a terminal, and never with --no-color or NO_COLOR."""
    if no_color or os.environ.get("NO_COLOR"):
        return False
    return sys.stdout.isatty()


def resolve_cli_target(options: TargetOptions) -> Target:
    """The Titan target from the flags and the environment.

    Raises:
        ConfigError: the flags and the environment do not name a usable target.
    """
    from titan_gitops.settings import resolve_target

    return resolve_target(os.environ, api_url=options.api_url, token=options.token)
