"""EmulatorConfig: what one emulator instance serves (state file, tokens and scopes, limits)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

# The scopes the Task Service documents for a full integration; a route needs exactly one.
KNOWN_SCOPES = frozenset(
    {"tasks:read", "tasks:write", "executions:read", "executions:write", "data:read"}
)


def normalise_tokens(
    tokens: Mapping[str, Iterable[str] | None],
) -> dict[str, frozenset[str] | None]:
    """Check every token's scopes; None (all scopes) stays None. Errors never quote a token."""
    normalised: dict[str, frozenset[str] | None] = {}
    for position, (token, scopes) in enumerate(tokens.items(), start=1):
        if not isinstance(token, str) or not token:
            raise ValueError(f"token #{position} must be a non-empty string")
        if scopes is None:
            normalised[token] = None
            continue
        if isinstance(scopes, str):
            raise ValueError(f"token #{position}: scopes must be a collection, not one string")
        chosen = frozenset(scopes)
        unknown = sorted(chosen - KNOWN_SCOPES)
        if unknown:
            raise ValueError(
                f"token #{position}: unknown scope {unknown[0]!r} "
                f"(known: {', '.join(sorted(KNOWN_SCOPES))})"
            )
        normalised[token] = chosen
    return normalised


@dataclass(frozen=True)
class EmulatorConfig:
    """Settings of one emulator instance.

    tokens: token -> scopes; None means every scope. Kept out of repr: they are credentials.
    open_access: no credential needed at all (the CLI's embedded mode); every scope is granted.
    templates_file: JSON or YAML file of extra templates, on top of (and overriding) built-ins.
    rate_limit: requests per minute per caller; None turns limiting (and its headers) off.
    execution_seconds / admin_token: reserved for executions and `/_emulator/` admin routes.
    """

    db_path: str | Path = ":memory:"
    tokens: Mapping[str, Iterable[str] | None] = field(default_factory=dict, repr=False)
    open_access: bool = False
    templates_file: str | Path | None = None
    rate_limit: int | None = None
    execution_seconds: float = 1.0
    admin_token: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "tokens", normalise_tokens(self.tokens))
        if self.rate_limit is not None and (
            isinstance(self.rate_limit, bool)
            or not isinstance(self.rate_limit, int)
            or self.rate_limit < 1
        ):
            raise ValueError("rate_limit must be a positive integer or None")
        if self.execution_seconds < 0:
            raise ValueError("execution_seconds must not be negative")

    def scopes_of(self, token: str) -> frozenset[str] | None:
        """The scopes a known token grants (KNOWN_SCOPES for None); None when unknown."""
        tokens: Mapping[str, frozenset[str] | None] = self.tokens  # type: ignore[assignment]
        if token not in tokens:
            return None
        scopes = tokens[token]
        return KNOWN_SCOPES if scopes is None else scopes
