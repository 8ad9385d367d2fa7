"""EmulatorConfig: what one emulator instance serves (state file, tokens, limits, faults)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from titan_gitops.emulator.faults import FaultRule

# The scopes the Task Service documents for a full integration; a route needs exactly one.
KNOWN_SCOPES = frozenset(
    {"tasks:read", "tasks:write", "executions:read", "executions:write", "data:read"}
)
# Previews per caller per UTC day: Titan's own number is not documented; 50 lets a plan preview
# a few tasks many times a day, and a test can still reach it.
DEFAULT_PREVIEW_QUOTA = 50
# The longest execution the emulator plays out: a week. Longer ones overflow its clock arithmetic.
MAX_EXECUTION_SECONDS = 7 * 24 * 3600.0


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


def normalise_faults(faults: Iterable[object]) -> tuple[FaultRule, ...]:
    """Fault rules as a tuple; a mapping is parsed as a rule, anything else is a ValueError."""
    rules: list[FaultRule] = []
    for position, item in enumerate(faults, start=1):
        if isinstance(item, FaultRule):
            rules.append(item)
            continue
        try:
            rules.append(FaultRule.from_dict(item))
        except ValueError as exc:
            raise ValueError(f"fault {position}: {exc}") from None
    return tuple(rules)


def check_admin_token(token: object) -> None:
    """Refuse an admin token that is empty or cannot travel in a header; never quotes it."""
    if token is None:
        return
    if not isinstance(token, str) or not token:
        raise ValueError("the admin token must be a non-empty string")
    if any(not 0x21 <= ord(ch) <= 0x7E for ch in token):
        raise ValueError("the admin token holds characters that cannot be sent in an HTTP header")


@dataclass(frozen=True)
class EmulatorConfig:
    """Settings of one emulator instance.

    tokens: token -> scopes; None means every scope. Kept out of repr: they are credentials.
    open_access: no credential needed at all (the CLI's embedded mode); every scope is granted.
    templates_file: JSON or YAML file of extra templates, on top of (and overriding) built-ins.
    rate_limit: requests per minute per caller; None turns limiting (and its headers) off.
    execution_seconds: how long an execution takes on the emulator clock.
    faults: fault rules armed at start (and again on `/_emulator/reset`); mappings are parsed.
    fault_seed: seed of the draws behind rules with a `fraction`, so runs repeat.
    preview_quota: previews (task and template) per caller per UTC day; 0 refuses every one,
    None turns the quota off (previews.py).
    admin_token: turns on the `/_emulator/` admin routes, which require it as a bearer token;
    None keeps them off (404). Kept out of repr: it is a credential.
    """

    db_path: str | Path = ":memory:"
    tokens: Mapping[str, Iterable[str] | None] = field(default_factory=dict, repr=False)
    open_access: bool = False
    templates_file: str | Path | None = None
    rate_limit: int | None = None
    execution_seconds: float = 1.0
    admin_token: str | None = field(default=None, repr=False)
    faults: Sequence[FaultRule] = ()
    fault_seed: int = 0
    preview_quota: int | None = DEFAULT_PREVIEW_QUOTA

    def __post_init__(self) -> None:
        object.__setattr__(self, "tokens", normalise_tokens(self.tokens))
        object.__setattr__(self, "faults", normalise_faults(self.faults))
        check_admin_token(self.admin_token)
        if isinstance(self.fault_seed, bool) or not isinstance(self.fault_seed, int):
            raise ValueError("fault_seed must be an integer")
        if self.rate_limit is not None and (
            isinstance(self.rate_limit, bool)
            or not isinstance(self.rate_limit, int)
            or self.rate_limit < 1
        ):
            raise ValueError("rate_limit must be a positive integer or None")
        if self.preview_quota is not None and (
            isinstance(self.preview_quota, bool)
            or not isinstance(self.preview_quota, int)
            or self.preview_quota < 0
        ):
            raise ValueError("preview_quota must be a whole number, 0 or more, or None")
        if not 0 <= self.execution_seconds <= MAX_EXECUTION_SECONDS:  # NaN fails it too
            raise ValueError(f"execution_seconds must be 0 to {MAX_EXECUTION_SECONDS:g}")

    def scopes_of(self, token: str) -> frozenset[str] | None:
        """The scopes a known token grants (KNOWN_SCOPES for None); None when unknown."""
        tokens: Mapping[str, frozenset[str] | None] = self.tokens  # type: ignore[assignment]
        if token not in tokens:
            return None
        scopes = tokens[token]
        return KNOWN_SCOPES if scopes is None else scopes
