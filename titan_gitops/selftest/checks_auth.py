"""Expectations about credentials, rate-limit headers, error envelopes and unknown fields."""

from __future__ import annotations

import secrets
import uuid

from titan_gitops.selftest.expectations import (
    Mismatch,
    NotChecked,
    SelftestContext,
    describe,
    expect_error,
    expect_list,
    expect_status,
    expectation,
    quote,
)
from titan_gitops.selftest.probe import AUTH_NONE

TASKS = "/api/v1/tasks"
ONE = {"limit": "1"}


@expectation(
    "auth-no-token",
    "A request without a credential is refused: 401 UNAUTHORIZED in the error envelope.",
    "docs: api-reference/errors",
)
def check_no_token(ctx: SelftestContext) -> str:
    answer = ctx.probe.send("GET", TASKS, params=ONE, auth=AUTH_NONE)
    expect_error(answer, 401, "UNAUTHORIZED", "GET /api/v1/tasks without a token")
    return "401 UNAUTHORIZED"


@expectation(
    "auth-bad-token",
    "A request with an unknown token is refused: 401 UNAUTHORIZED in the error envelope.",
    "docs: api-reference/errors",
)
def check_bad_token(ctx: SelftestContext) -> str:
    wrong = f"titan-gitops-selftest-wrong-{secrets.token_hex(12)}"
    answer = ctx.probe.send("GET", TASKS, params=ONE, auth={"Authorization": f"Bearer {wrong}"})
    expect_error(answer, 401, "UNAUTHORIZED", "GET /api/v1/tasks with a wrong token")
    return "401 UNAUTHORIZED"


@expectation(
    "auth-x-api-key",
    "The token works in X-API-Key as well as in Authorization: Bearer.",
    "docs: api-reference/errors (X-API-Key); emulator choice x-api-key",
    choice="x-api-key",
)
def check_x_api_key(ctx: SelftestContext) -> str:
    bearer = ctx.probe.send("GET", TASKS, params=ONE, auth={"Authorization": f"Bearer {ctx.token}"})
    expect_status(bearer, 200, "Authorization: Bearer")
    keyed = ctx.probe.send("GET", TASKS, params=ONE, auth={"X-API-Key": ctx.token})
    expect_status(keyed, 200, "X-API-Key")
    expect_list(keyed, "X-API-Key")
    return "200 with either header"


@expectation(
    "rate-limit-headers",
    "With rate limiting on, answers carry X-RateLimit-Limit and X-RateLimit-Remaining "
    "(integers, remaining <= limit), errors too; with neither on any answer it is off.",
    "docs: about-platform/rate-limits; emulator choice rate-limit-headers",
    choice="rate-limit-headers",
)
def check_rate_limit_headers(ctx: SelftestContext) -> str:
    listed = ctx.probe.send("GET", TASKS, params=ONE)
    missing = ctx.probe.send("GET", f"{TASKS}/{uuid.uuid4()}")
    names = ("x-ratelimit-limit", "x-ratelimit-remaining")
    if all(answer.header(name) is None for answer in (listed, missing) for name in names):
        # Titan's limiting "can be disabled entirely"; the client then backs off on a 429 alone.
        raise NotChecked(
            "not checked: no X-RateLimit-Limit or X-RateLimit-Remaining on a list or a 404: "
            "rate limiting is off on this target"
        )
    seen = []
    for what, answer in (("a list", listed), ("a 404", missing)):
        limit, remaining = (
            answer.header("x-ratelimit-limit"),
            answer.header("x-ratelimit-remaining"),
        )
        if limit is None or remaining is None:
            absent = [
                name
                for name, value in (("Limit", limit), ("Remaining", remaining))
                if value is None
            ]
            headers = " and ".join(f"X-RateLimit-{name}" for name in absent)
            raise Mismatch(f"{what} ({describe(answer)}) has no {headers}")
        if not (limit.isdigit() and remaining.isdigit() and int(remaining) <= int(limit)):
            raise Mismatch(f"{what}: Limit {quote(limit)}, Remaining {quote(remaining)}")
        seen.append(f"{remaining}/{limit}")
    return f"present on a list and a 404 (remaining/limit {', '.join(seen)})"


@expectation(
    "error-envelope",
    "A missing task is 404 NOT_FOUND; a body without `objective` is 400 BAD_REQUEST naming it; "
    'both as {"success": false, "error": {"code", "message"}}.',
    "docs: api-reference/errors; emulator choice missing-field-400",
    choice="missing-field-400",
)
def check_error_envelope(ctx: SelftestContext) -> str:
    missing = ctx.probe.send("GET", f"{TASKS}/{uuid.uuid4()}")
    expect_error(missing, 404, "NOT_FOUND", "GET of an unknown task id")
    body = ctx.task_body("invalid")
    del body["objective"]
    invalid = ctx.probe.send("POST", TASKS, body=body)
    ctx.keep_created(invalid)
    message = expect_error(invalid, 400, "BAD_REQUEST", "POST without objective")
    if "objective" not in message:
        raise Mismatch(
            f"400 BAD_REQUEST, but the message does not name objective: {quote(message)}"
        )
    return "404 NOT_FOUND; 400 BAD_REQUEST naming objective"


@expectation(
    "unknown-field",
    "A task with an unknown top-level field is refused: 400 BAD_REQUEST naming the field, "
    "nothing created.",
    "emulator choice unknown-field-400",
    choice="unknown-field-400",
)
def check_unknown_field(ctx: SelftestContext) -> str:
    body = ctx.task_body("unknown-field", colour="blue")
    answer = ctx.probe.send("POST", TASKS, body=body)
    if ctx.keep_created(answer) is not None:
        data = answer.envelope_data()
        kept = "kept" if isinstance(data, dict) and "colour" in data else "dropped"
        raise Mismatch(f"{answer.status}: created, the unknown field {kept}")
    message = expect_error(answer, 400, "BAD_REQUEST", "POST with the field colour")
    if "colour" not in message:
        raise Mismatch(f"400 BAD_REQUEST, but the message does not name colour: {quote(message)}")
    return "400 BAD_REQUEST naming colour"


@expectation(
    "scopes",
    "A token with tasks:read but without tasks:write may list tasks (200) and may not create "
    "one: 403 FORBIDDEN in the error envelope, nothing created.",
    "docs: get-started/authentication (scopes)",
)
def check_scopes(ctx: SelftestContext) -> str:
    if ctx.read_token is None:
        raise NotChecked(
            "not checked: set TITAN_SELFTEST_READ_TOKEN to a token with tasks:read and without "
            "tasks:write"
        )
    header = ctx.probe.header_name
    value = f"Bearer {ctx.read_token}" if header == "Authorization" else ctx.read_token
    listed = ctx.probe.send("GET", TASKS, params=ONE, auth={header: value})
    expect_status(listed, 200, "GET /api/v1/tasks with the read-only token")
    made = ctx.probe.send("POST", TASKS, body=ctx.task_body("scopes"), auth={header: value})
    if ctx.keep_created(made) is not None:
        raise Mismatch(f"{made.status}: a task was created with the read-only token")
    expect_error(made, 403, "FORBIDDEN", "POST /api/v1/tasks with the read-only token")
    return "200 on a list, 403 FORBIDDEN on a create"
