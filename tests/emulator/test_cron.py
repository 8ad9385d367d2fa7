"""The 5-field cron parser behind `schedule` validation."""

from __future__ import annotations

import pytest

from titan_gitops.emulator.cron import CronError, parse_cron


def test_fields_expand_to_their_values() -> None:
    minute, hour, day, month, weekday = parse_cron("*/20 9-17/4 1,15,31 JAN,jun-aug SUN,5-7")
    assert minute == {0, 20, 40}
    assert hour == {9, 13, 17}
    assert day == {1, 15, 31}
    assert month == {1, 6, 7, 8}
    assert weekday == {0, 5, 6, 7}


def test_a_start_with_a_step_runs_to_the_end_of_the_field() -> None:
    assert parse_cron("50/5 * * * *")[0] == {50, 55}


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("* * * *", "expected 5 fields, got 4"),
        ("@daily", "expected 5 fields, got 1"),
        ("60 * * * *", "minute: 60 is outside 0-59"),
        ("* * 0 * *", "day of month: 0 is outside 1-31"),
        ("* * * 13 *", "month: 13 is outside 1-12"),
        ("* * * * 8", "day of week: 8 is outside 0-7"),
        ("*/0 * * * *", "minute: step must be at least 1"),
        ("5-1 * * * *", "minute: range '5-1' runs backwards"),
        ("1,,2 * * * *", "minute: empty list item"),
        ("? * * * *", "minute: value '?' is not a number"),
        ("* * L * *", "day of month: value 'L' is not a number"),
        ("* * * * MON#2", "day of week: value 'MON#2' is not a number"),
        ("* * * FOO *", "month: value 'FOO' is not a number"),
        ("-1 * * * *", "minute: value '' is not a number"),
        ("*/x * * * *", "minute: step 'x' is not a number"),
    ],
)
def test_invalid_expressions_say_what_is_wrong(expression: str, message: str) -> None:
    with pytest.raises(CronError) as raised:
        parse_cron(expression)
    assert message in str(raised.value)
