"""What every command shares: the console that masks secrets, the colour choice, the target."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from titan_gitops.escape import escape_output
from titan_gitops.secrets import SecretSet

if TYPE_CHECKING:
    from titan_gitops.settings import Target


# Go back to the start of the line and erase it: how a status line is redrawn in place.
_REDRAW = "\r\x1b[K"


@dataclass(frozen=True)
class TargetOptions:
    """The `--api-url` and `--token` flags; unset ones fall back to the environment."""

    api_url: str | None = None
    token: str | None = None


class Console:
    """Where a command's words go: stdout and stderr, every secret masked on the way out.

    The one output path of the CLI: plans, reports, messages, progress and tracebacks all pass
    through `SecretSet.mask`. A command that learns a secret later (a secret payload) adds it.
    It is also the last line of defence for the terminal: whatever an escaper missed, no control,
    bidi or invisible character but newline and tab (and in `write`, our own colours) gets out.
    """

    def __init__(self, secrets: SecretSet) -> None:
        self.secrets = secrets

    def add_secrets(self, values: Iterable[str]) -> None:
        """Mask these values too from now on."""
        self.secrets = self.secrets.with_values(values)

    def write(self, text: str) -> None:
        """Write `text` to stdout as it is (a rendered plan, report or JSON), masked."""
        sys.stdout.write(escape_output(self.secrets.mask(text), keep_colour=True))

    def print(self, text: str) -> None:
        """Print one line to stdout, masked."""
        print(escape_output(self.secrets.mask(text)), file=sys.stdout)

    def warn(self, text: str) -> None:
        """Print one line to stderr, masked."""
        print(escape_output(self.secrets.mask(text)), file=sys.stderr)

    def status(self, text: str) -> None:
        """Write `text` to stderr with no newline and flush it (a line redrawn in place).

        A leading carriage return and erase-line (`\\r ESC[K`) are ours; the rest is checked.
        """
        redraw = _REDRAW if text.startswith(_REDRAW) else ""
        rest = escape_output(self.secrets.mask(text[len(redraw) :]))
        sys.stderr.write(redraw + rest)
        sys.stderr.flush()


def redraws_in_place() -> bool:
    """A status line may be redrawn (`\\r ESC[K`) only on a terminal, and not a dumb one."""
    return sys.stderr.isatty() and os.environ.get("TERM") != "dumb"


def use_colour(no_color: bool) -> bool:
    """Colour only on a terminal that shows it, and never with --no-color or NO_COLOR."""
    if no_color or os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    return sys.stdout.isatty()


def resolve_cli_target(options: TargetOptions) -> Target:
    """The Titan target from the flags and the environment.

    Raises:
        ConfigError: the flags and the environment do not name a usable target.
    """
    from titan_gitops.settings import resolve_target

    return resolve_target(os.environ, api_url=options.api_url, token=options.token)
