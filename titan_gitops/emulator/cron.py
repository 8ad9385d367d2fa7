"""A small parser for the 5-field cron dialect the emulator accepts in `schedule`.

Fields: minute (0-59), hour (0-23), day of month (1-31), month (1-12 or JAN-DEC), day of week
(0-7, 0 and 7 both Sunday, or SUN-SAT). Each field is a comma list of `*`, `N`, `A-B`, each
optionally followed by `/STEP`. Names are case-insensitive. Not accepted (the docs are silent, so
the emulator stays with the portable core): 6-field seconds, `@daily`-style macros, `?`, `L`,
`W` and `#`.
"""

from __future__ import annotations

from dataclasses import dataclass

_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")


@dataclass(frozen=True)
class _Field:
    label: str
    low: int
    high: int
    names: dict[str, int]


_FIELDS = (
    _Field("minute", 0, 59, {}),
    _Field("hour", 0, 23, {}),
    _Field("day of month", 1, 31, {}),
    _Field("month", 1, 12, {name: number for number, name in enumerate(_MONTHS, start=1)}),
    _Field("day of week", 0, 7, {name: number for number, name in enumerate(_DAYS)}),
)


class CronError(ValueError):
    """A schedule that is not a valid 5-field cron expression; the message says which part."""


def parse_cron(expression: str) -> tuple[frozenset[int], ...]:
    """Parse `expression` into the allowed values of each of its five fields."""
    parts = expression.split()
    if len(parts) != len(_FIELDS):
        raise CronError(f"expected 5 fields, got {len(parts)}")
    return tuple(_parse_field(part, spec) for part, spec in zip(parts, _FIELDS, strict=True))


def _parse_field(text: str, spec: _Field) -> frozenset[int]:
    values: set[int] = set()
    for item in text.split(","):
        if not item:
            raise CronError(f"{spec.label}: empty list item in {text!r}")
        values.update(_parse_item(item, spec))
    return frozenset(values)


def _parse_item(item: str, spec: _Field) -> range:
    base, slash, step_text = item.partition("/")
    step = 1
    if slash:
        step = _parse_number(step_text, spec, what="step")
        if step < 1:
            raise CronError(f"{spec.label}: step must be at least 1 in {item!r}")
    if base == "*":
        return range(spec.low, spec.high + 1, step)
    start_text, dash, end_text = base.partition("-")
    start = _parse_value(start_text, spec)
    if dash:
        end = _parse_value(end_text, spec)
        if end < start:
            raise CronError(f"{spec.label}: range {base!r} runs backwards")
    else:
        # `N/STEP` means from N to the end of the field, as in Vixie cron.
        end = spec.high if slash else start
    return range(start, end + 1, step)


def _parse_value(text: str, spec: _Field) -> int:
    named = spec.names.get(text.upper())
    if named is not None:
        return named
    value = _parse_number(text, spec, what="value")
    if not spec.low <= value <= spec.high:
        raise CronError(f"{spec.label}: {value} is outside {spec.low}-{spec.high}")
    return value


def _parse_number(text: str, spec: _Field, *, what: str) -> int:
    if not text.isdigit() or not text.isascii():
        raise CronError(f"{spec.label}: {what} {text!r} is not a number")
    return int(text)
