"""The types of `emulator serve`'s flags: each refuses a bad value naming what it wants."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

from titan_gitops.emulator.config import KNOWN_SCOPES, MAX_EXECUTION_SECONDS

# Rate limits and quotas above this are "no limit" in all but name: use the flag's off setting.
MAX_COUNT = 1_000_000_000
MAX_SEED = 2**63 - 1


def parse_token(text: str) -> tuple[str, frozenset[str] | None]:
    """`TOKEN` (every scope) or `TOKEN=scope,scope` for `--token`."""
    token, equals, scopes_text = text.partition("=")
    if not token:
        raise argparse.ArgumentTypeError("a token must not be empty")
    if not equals:
        return token, None
    scopes = frozenset(part.strip() for part in scopes_text.split(",") if part.strip())
    if not scopes:
        raise argparse.ArgumentTypeError("give at least one scope after '='")
    unknown = sorted(scopes - KNOWN_SCOPES)
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown scope {unknown[0]!r} (known: {', '.join(sorted(KNOWN_SCOPES))})"
        )
    return token, scopes


def parse_port(text: str) -> int:
    """`--port`: 0 (any free port) to 65535."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port: give 0 (any) to 65535")
    return port


def parse_seconds(text: str) -> float:
    """`--execution-seconds`: a finite number of seconds, 0 to MAX_EXECUTION_SECONDS."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value) or not 0 <= value <= MAX_EXECUTION_SECONDS:
        raise argparse.ArgumentTypeError(
            f"{value:g} is not a number of seconds from 0 to {MAX_EXECUTION_SECONDS:g} (a week)"
        )
    return value


def parse_count(minimum: int, maximum: int = MAX_COUNT) -> Callable[[str], int]:
    """A flag type: a whole number from `minimum` to `maximum` (`--rate-limit` 1,
    `--preview-quota` 0, `--fault-seed` 0 to 2**63 - 1)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{value} is too small: give {minimum} or more")
        if value > maximum:
            raise argparse.ArgumentTypeError(f"{value} is too large: give {maximum} or less")
        return value

    return parse
