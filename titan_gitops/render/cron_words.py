"""A plain-words reading of a 5-field cron expression, for reviewers (`0 * * * *` → hourly)."""

from __future__ import annotations

_NICKNAMES = {
    "@hourly": "every hour, at minute 0",
    "@daily": "every day at 00:00",
    "@midnight": "every day at 00:00",
    "@weekly": "every Sunday at 00:00",
    "@monthly": "on day 1 of every month at 00:00",
    "@yearly": "on 1 January at 00:00",
    "@annually": "on 1 January at 00:00",
}
_DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
_DAY_NAMES = {d[:3].lower(): i for i, d in enumerate(_DAYS[:7])}
_MONTHS = [
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
]  # fmt: skip
_MONTH_NAMES = {m[:3].lower(): i + 1 for i, m in enumerate(_MONTHS)}


def _list(values: list[str]) -> str:
    return values[0] if len(values) == 1 else ", ".join(values[:-1]) + " and " + values[-1]


def describe_cron(expression: str) -> str:
    """Plain words for a cron expression (UTC); the expression itself when it is unusual."""
    text = expression.strip()
    if text.lower() in _NICKNAMES:
        return _NICKNAMES[text.lower()] + " (UTC)"
    fields = text.split()
    if len(fields) != 5:
        return text
    minute, hour, dom, month, dow = fields
    try:
        if minute.isdigit() and hour.isdigit():
            when = f"at {int(hour):02d}:{int(minute):02d}"
        elif minute.isdigit() and hour == "*":
            when = f"every hour at minute {int(minute)}"
        elif minute.startswith("*/") and hour == "*":
            when = f"every {minute[2:]} minutes"
        elif minute == "*" and hour == "*":
            when = "every minute"
        elif minute.isdigit() and hour.startswith("*/"):
            when = f"every {hour[2:]} hours at minute {int(minute)}"
        elif minute.isdigit():
            when = f"at minute {int(minute)} of hours {hour}"
        else:
            return text
    except ValueError:
        return text
    days: list[str] = []
    if dom != "*":
        days.append(
            f"on day {dom} of the month" if not dom.startswith("*/") else f"every {dom[2:]} days"
        )
    if month != "*":
        words = [
            _MONTHS[_MONTH_NAMES[m.lower()] - 1]
            if m.lower() in _MONTH_NAMES
            else (_MONTHS[int(m) - 1] if m.isdigit() and 1 <= int(m) <= 12 else m)
            for m in month.split(",")
        ]
        days.append(f"in {_list(words)}")
    if dow != "*":
        if dow in ("1-5", "mon-fri", "MON-FRI"):
            days.append("on weekdays")
        else:
            words = [
                _DAYS[_DAY_NAMES[d.lower()]]
                if d.lower() in _DAY_NAMES
                else (_DAYS[int(d)] if d.isdigit() and 0 <= int(d) <= 7 else d)
                for d in dow.split(",")
            ]
            days.append(f"on {_list(words)}")
    if not days and when.startswith("at "):
        days.append("every day")
    return " ".join([when, *days]) + " (UTC)"


def about(count: float) -> str:
    """A count for people: three significant figures, with thousands separators."""
    if count >= 100:
        digits = len(str(int(count)))
        return f"{round(count, 3 - digits):,.0f}"
    if count >= 10:
        return f"{round(count):,}"
    return f"{count:.2g}"


def schedule_comment(before: str | None, after: str | None) -> str | None:
    """`every hour at minute 0 → every 30 minutes, UTC (≈730 → ≈1,460 runs/month)`; None when
    neither side is a schedule."""
    sides = [s for s in (before, after) if s is not None]
    if not sides:
        return None
    from titan_gitops.cron import runs_per_month

    words = " → ".join(describe_cron(s).removesuffix(" (UTC)") for s in sides)
    runs = [runs_per_month(s) for s in sides]
    if any(r is None for r in runs):
        return f"{words}, UTC"
    counts = " → ".join(f"≈{about(r)}" for r in runs if r is not None)
    return f"{words}, UTC ({counts} runs/month)"
