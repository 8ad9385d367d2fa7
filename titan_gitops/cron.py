"""Strict cron checking: 5 fields or a nickname, no reversed ranges, must fire soon.

croniter (imported only when a schedule is present) proves the expression fires; the strict
grammar here refuses what croniter quietly accepts (a 6th seconds field, `5-1`, `L`, `#`, `?`, `H`).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any

NICKNAMES = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}
_FIELDS: tuple[tuple[str, int, int, dict[str, int]], ...] = (
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day of month", 1, 31, {}),
    (
        "month",
        1,
        12,
        {
            m: i
            for i, m in enumerate(
                [
                    "JAN",
                    "FEB",
                    "MAR",
                    "APR",
                    "MAY",
                    "JUN",
                    "JUL",
                    "AUG",
                    "SEP",
                    "OCT",
                    "NOV",
                    "DEC",
                ],
                1,
            )
        },
    ),
    (
        "day of week",
        0,
        7,
        {d: i for i, d in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"])},
    ),
)
_ITEM = re.compile(r"^(\*|[A-Za-z0-9]+(?:-[A-Za-z0-9]+)?)(?:/([0-9]+))?$")
HORIZON = timedelta(days=5 * 366)
# A 5-field schedule that fires at all fires within 5 years of the start of a leap year: its days
# recur every year but for 29 February, which 2024 has. (From the clock, the answer for one on 29
# February would change between 2096 and 2104, when the next one is 8 years away.)
_FIRES_FROM = datetime(2024, 1, 1, tzinfo=UTC)


def _value(text: str, low: int, high: int, names: dict[str, int], field: str) -> int:
    if text.isdigit():
        value = int(text)
    elif text.upper() in names:
        value = names[text.upper()]
    else:
        raise ValueError(f"{field}: {text!r} is not a number")
    if not low <= value <= high:
        raise ValueError(f"{field}: {value} is outside {low}-{high}")
    return value


def _check_field(text: str, low: int, high: int, names: dict[str, int], field: str) -> None:
    for item in text.split(","):
        match = _ITEM.match(item)
        if match is None:
            raise ValueError(f"{field}: {item!r} is not a plain value, range, list or step")
        base, step = match.groups()
        if step is not None and int(step) < 1:
            raise ValueError(f"{field}: step must be at least 1")
        if base == "*":
            continue
        start, _, end = base.partition("-")
        first = _value(start, low, high, names, field)
        if end:
            last = _value(end, low, high, names, field)
            if last < first:
                raise ValueError(f"{field}: range {base} runs backwards; write {end}-{start}?")


def spell_out(expression: str) -> str:
    """The 5-field form of a nickname (`@hourly` → `0 * * * *`); other expressions unchanged.

    Titan documents 5-field cron only, so a nickname is spelled out before it is sent.
    """
    return NICKNAMES.get(expression.strip(), expression)


@lru_cache(maxsize=1024)
def check_cron(expression: str) -> str | None:
    """None when `expression` is a valid schedule that fires, else why not. Whether it fires is
    asked from a fixed day (`_FIRES_FROM`), never the clock, so the answer, like every answer
    validate gives, depends on the files alone (the validated-definitions cache keeps it)."""
    text = expression.strip()
    if text.startswith("@"):
        if text not in NICKNAMES:
            allowed = ", ".join(NICKNAMES)
            return f"{text} is not supported; use 5 fields or one of {allowed}"
        text = NICKNAMES[text]
    fields = text.split()
    if len(fields) != 5:
        return f"cron needs exactly 5 fields (minute hour day month weekday), found {len(fields)}"
    try:
        for value, (field, low, high, names) in zip(fields, _FIELDS, strict=True):
            _check_field(value, low, high, names, field)
    except ValueError as exc:
        return str(exc)
    return _check_fires(text)


def _check_fires(text: str) -> str | None:
    from croniter import CroniterError, croniter

    now = _FIRES_FROM
    try:
        following = croniter(text, now).get_next(datetime)
    except (CroniterError, ValueError, KeyError, OverflowError):
        return "the schedule never fires"
    if not isinstance(following, datetime) or following - now > HORIZON:
        return "the schedule does not fire in the next 5 years"
    return None


# A whole leap cycle, so a schedule on 29 February and one on weekdays both average out.
_CYCLE_START = date(2024, 1, 1)
_CYCLE_DAYS = 4 * 365 + 1
_CYCLE_MONTHS = 48


@lru_cache(maxsize=256)
def runs_per_month(expression: str) -> float | None:
    """How often `expression` fires in an average month (UTC); None when it is not valid cron.

    Counted, not sampled: the minutes times the hours of a day, times the days of 2024 to 2027 the
    day fields allow (a day-of-month and a day-of-week both set mean either, as in cron).
    """
    if check_cron(expression) is not None:
        return None
    from croniter import croniter

    text = spell_out(expression.strip())
    fields, _ = croniter.expand(text)
    minutes, hours, days, months, weekdays = fields
    per_day = _size(minutes, 60) * _size(hours, 24)
    day_set = None if days == ["*"] else set(days)
    month_set = None if months == ["*"] else set(months)
    weekday_set = None if weekdays == ["*"] else {int(d) % 7 for d in weekdays}
    count = 0
    for offset in range(_CYCLE_DAYS):
        day = _CYCLE_START + timedelta(days=offset)
        if month_set is not None and day.month not in month_set:
            continue
        by_date = day_set is None or day.day in day_set
        by_weekday = weekday_set is None or (day.isoweekday() % 7) in weekday_set
        either = day_set is not None and weekday_set is not None
        if (by_date or by_weekday) if either else (by_date and by_weekday):
            count += 1
    return per_day * count / _CYCLE_MONTHS


def _size(values: list[Any], every: int) -> int:
    return every if values == ["*"] else len(values)
