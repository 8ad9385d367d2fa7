"""Expectations about previews: the task preview route and what a counted preview carries.

The run spends one preview of the target's daily quota, never more: `preview-task` sends it and
`preview-quota-shape` reads the headers of that same answer. The answer over the quota (429
`preview_limit_exceeded`) is never provoked here, since that would spend a real tenant's day.
"""

from __future__ import annotations

from titan_gitops.selftest.expectations import (
    Mismatch,
    NotChecked,
    SelftestContext,
    describe,
    expect_object,
    expect_status,
    expectation,
    quote,
)
from titan_gitops.selftest.probe import PREVIEW_QUOTA_CODE as QUOTA_CODE
from titan_gitops.selftest.probe import Exchange

TASK_PREVIEW = "/api/v1/tasks/preview"
LIMIT_HEADER = "X-Preview-Limit"
REMAINING_HEADER = "X-Preview-Remaining"


@expectation(
    "preview-task",
    "POST /api/v1/tasks/preview with a task body answers sample records: the envelope around "
    "an object whose records are an array of objects.",
    "docs: about-platform/rate-limits (task preview endpoints, path not given); emulator choice "
    "task-preview",
    choice="task-preview",
)
def check_preview_task(ctx: SelftestContext) -> str:
    answer = ctx.probe.send("POST", TASK_PREVIEW, body=ctx.task_body("preview"))
    ctx.preview = answer
    if answer.error_code() == QUOTA_CODE:
        raise NotChecked(
            f"not checked: {answer.status} {QUOTA_CODE}: today's previews are spent, so the "
            "route exists but its records could not be seen; run again once the quota renews"
        )
    expect_status(answer, 200, f"POST {TASK_PREVIEW}")
    preview = expect_object(answer, f"POST {TASK_PREVIEW}")
    records = preview.get("records")
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise Mismatch(f"200, but records is {quote(records)}, not an array of objects")
    if not records:
        raise Mismatch("200 with no records")
    return f"200, {len(records)} sample records"


@expectation(
    "preview-quota-shape",
    "A counted preview carries X-Preview-Limit and X-Preview-Remaining (whole numbers, fewer "
    "remaining than the limit). Not checked here: the 429 preview_limit_exceeded answer over "
    "the quota and its renewal at 00:00 UTC; only the emulator's contract tests check those, "
    "so a real tenant's daily quota is never spent.",
    "docs: about-platform/rate-limits (a daily preview quota); emulator choice preview-quota",
    choice="preview-quota",
)
def check_preview_quota_shape(ctx: SelftestContext) -> str:
    answer = ctx.preview
    if answer is None:
        raise NotChecked("not checked: needs the preview 'preview-task' sends")
    spent = answer.error_code() == QUOTA_CODE
    if answer.status != 200 and not spent:
        raise NotChecked(f"not checked: the preview answered {describe(answer)}")
    limit = _count_header(answer, LIMIT_HEADER)
    remaining = _count_header(answer, REMAINING_HEADER)
    if spent and remaining != 0:
        raise Mismatch(f"{answer.status} {QUOTA_CODE} with {REMAINING_HEADER}: {remaining}")
    if not spent and remaining >= limit:
        raise Mismatch(f"{REMAINING_HEADER} {remaining} is not below {LIMIT_HEADER} {limit}")
    return f"{LIMIT_HEADER}: {limit}, {REMAINING_HEADER}: {remaining}"


def _count_header(answer: Exchange, name: str) -> int:
    value = answer.header(name)
    if value is None:
        raise Mismatch(f"{answer.status} without {name}")
    text = value.strip()
    if not (text.isascii() and text.isdigit()):
        raise Mismatch(f"{name}: {quote(value)} is not a whole number")
    return int(text)
