"""The GitHub REST client against the fake: headers, pagination, errors, origin pinning."""

from __future__ import annotations

import dataclasses

import pytest

from titan_gitops.github.ratelimit import rate_limit_wait
from titan_gitops.github.rest import GitHubError, GitHubRest, find_next_link

from .conftest import GITHUB_TOKEN
from .fake_github import HUMAN, FakeGitHub, Refusal, secondary_rate_limit


def test_comments_are_read_across_pages(github: FakeGitHub) -> None:
    for i in range(5):
        github.add_comment(7, f"comment {i}", HUMAN)
    with GitHubRest(github.base_url, GITHUB_TOKEN, "acme/tasks") as rest:
        bodies = [c["body"] for c in rest.list_issue_comments(7)]
    assert bodies == [f"comment {i}" for i in range(5)]
    assert len([r for r in github.requests if r.method == "GET"]) == 3  # page size 2


def test_create_update_and_issue_calls(github: FakeGitHub) -> None:
    with GitHubRest(github.base_url, GITHUB_TOKEN, "acme/tasks") as rest:
        created = rest.create_issue_comment(7, "first")
        rest.update_issue_comment(created["id"], "second")
        issue = rest.create_issue("title", "body")
        rest.update_issue(issue["number"], state="closed", state_reason="completed")
        assert rest.list_issues("open") == []
        assert [i["number"] for i in rest.list_issues("closed")] == [issue["number"]]
    assert github.comments[7][0]["body"] == "second"


def test_a_forbidden_write_carries_its_status(github: FakeGitHub) -> None:
    github.forbid_writes = True
    with (
        GitHubRest(github.base_url, GITHUB_TOKEN, "acme/tasks") as rest,
        pytest.raises(GitHubError) as caught,
    ):
        rest.create_issue_comment(7, "x")
    assert caught.value.status == 403
    assert "Resource not accessible" in str(caught.value)


def test_a_wrong_token_is_an_error_without_the_token(github: FakeGitHub) -> None:
    with (
        GitHubRest(github.base_url, "ghs_wrongTokenValue99", "acme/tasks") as rest,
        pytest.raises(GitHubError) as caught,
    ):
        rest.list_issue_comments(7)
    assert caught.value.status == 401
    assert "ghs_wrongTokenValue99" not in str(caught.value)
    assert "ghs_wrongTokenValue99" not in repr(rest)


def test_an_unreachable_api_is_an_error_not_a_traceback() -> None:
    with (
        GitHubRest("http://127.0.0.1:9", GITHUB_TOKEN, "acme/tasks") as rest,
        pytest.raises(GitHubError, match="could not connect"),
    ):
        rest.create_issue("t", "b")


def test_repository_must_be_owner_slash_name() -> None:
    with pytest.raises(GitHubError, match="owner/name"):
        GitHubRest("http://127.0.0.1:9", GITHUB_TOKEN, "../../etc")


def test_next_link_parsing() -> None:
    header = (
        '<https://api.github.com/x?page=2>; rel="next", '
        '<https://api.github.com/x?page=5>; rel="last"'
    )
    assert find_next_link(header) == "https://api.github.com/x?page=2"
    assert find_next_link('<https://api.github.com/x?page=1>; rel="prev"') is None
    assert find_next_link(None) is None


def test_pagination_never_follows_a_link_to_another_origin(github: FakeGitHub) -> None:
    for i in range(3):
        github.add_comment(7, f"comment {i}", HUMAN)
    real = github.base_url
    github.base_url = "http://localhost:1"  # the fake now advertises next pages elsewhere
    with (
        GitHubRest(real, GITHUB_TOKEN, "acme/tasks") as rest,
        pytest.raises(GitHubError, match="outside"),
    ):
        rest.list_issue_comments(7)
    assert len(github.requests) == 1


class _Clock:
    """An injected clock and sleep: the waits are recorded, never slept."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now
        self.slept: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def _client(github: FakeGitHub, clock: _Clock, max_wait: float = 180.0) -> GitHubRest:
    return GitHubRest(
        github.base_url,
        GITHUB_TOKEN,
        "acme/tasks",
        sleep=clock.sleep,
        clock=clock.time,
        max_wait=max_wait,
    )


def test_a_secondary_rate_limit_on_a_write_is_waited_out_and_retried(github: FakeGitHub) -> None:
    clock = _Clock()
    github.refusals.append(
        Refusal(403, {"Retry-After": "7"}, "You have exceeded a secondary rate limit.", times=2)
    )
    with _client(github, clock) as rest:
        created = rest.create_issue_comment(7, "plan")
    assert clock.slept == [7.0, 7.0]
    assert github.comments[7] == [created]
    assert [r.method for r in github.requests] == ["POST"] * 3


def test_a_primary_rate_limit_waits_until_its_reset(github: FakeGitHub) -> None:
    clock = _Clock()
    reset = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(clock.now) + 30)}
    github.refusals.append(Refusal(403, reset, "API rate limit exceeded for installation."))
    with _client(github, clock) as rest:
        assert rest.list_issue_comments(7) == []
    assert clock.slept == [31.0]  # until the reset, plus a second for clock skew


def test_a_429_without_headers_waits_a_minute(github: FakeGitHub) -> None:
    clock = _Clock()
    github.refusals.append(Refusal(429, {}, "Too many requests"))
    with _client(github, clock) as rest:
        rest.create_issue("t", "b")
    assert clock.slept == [60.0]


def test_rate_limit_waits_are_bounded_in_attempts(github: FakeGitHub) -> None:
    clock = _Clock()
    github.refusals.append(secondary_rate_limit(times=100))
    with _client(github, clock) as rest, pytest.raises(GitHubError) as caught:
        rest.create_issue_comment(7, "plan")
    assert caught.value.rate_limited
    assert not caught.value.read_only
    assert "still rate-limited after 4 attempts" in str(caught.value)
    assert len(github.requests) == 4
    assert github.comments == {}


def test_a_wait_longer_than_the_cap_fails_at_once_saying_how_long(github: FakeGitHub) -> None:
    clock = _Clock()
    reset = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(clock.now) + 3599)}
    github.refusals.append(Refusal(403, reset, "API rate limit exceeded"))
    with _client(github, clock, max_wait=120) as rest, pytest.raises(GitHubError) as caught:
        rest.list_issue_comments(7)
    assert clock.slept == []
    assert caught.value.status == 403
    assert caught.value.rate_limited
    assert "GitHub asks to wait 3600 s, more than the 120 s" in str(caught.value)


def test_the_total_wait_is_shared_by_every_call_of_a_client(github: FakeGitHub) -> None:
    clock = _Clock()
    limit = Refusal(403, {"Retry-After": "50"}, "secondary rate limit")
    with _client(github, clock, max_wait=120) as rest:
        for title in ("a", "b"):
            github.refusals.append(dataclasses.replace(limit))
            rest.create_issue(title, "body")
        github.refusals.append(limit)
        with pytest.raises(GitHubError, match="more than the 20 s"):
            rest.create_issue("c", "body")
    assert clock.slept == [50.0, 50.0]


def test_a_read_only_403_is_not_retried_and_says_so(github: FakeGitHub) -> None:
    clock = _Clock()
    github.forbid_writes = True
    with _client(github, clock) as rest, pytest.raises(GitHubError) as caught:
        rest.create_issue_comment(7, "x")
    assert caught.value.read_only
    assert not caught.value.rate_limited
    assert clock.slept == []
    assert len(github.requests) == 1


def test_a_comment_can_be_deleted_once(github: FakeGitHub) -> None:
    comment = github.add_comment(7, "old")
    with GitHubRest(github.base_url, GITHUB_TOKEN, "acme/tasks") as rest:
        assert rest.delete_issue_comment(comment["id"]) is True
        assert rest.delete_issue_comment(comment["id"]) is False
    assert github.comments[7] == []


@pytest.mark.parametrize(
    ("status", "headers", "message", "wait"),
    [
        (403, {}, "Resource not accessible by integration", None),
        (403, {"retry-after": "5"}, "", 5.0),
        (403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "110"}, "", 11.0),
        (403, {"x-ratelimit-remaining": "12", "x-ratelimit-reset": "110"}, "Forbidden", None),
        (403, {}, "You have exceeded a secondary rate limit", 60.0),
        (429, {"retry-after": "soon"}, "", 60.0),
        (404, {"retry-after": "5"}, "", None),
    ],
)
def test_rate_limit_wait_reads_github_s_signals(
    status: int, headers: dict[str, str], message: str, wait: float | None
) -> None:
    assert rate_limit_wait(status, headers, message, now=100.0) == wait


@pytest.mark.parametrize(
    ("headers", "wait"),
    [
        ({"retry-after": "Wed, 21 Oct 2015 07:28:37 GMT"}, 37.0),
        (
            {
                "retry-after": "Wed, 21 Oct 2015 07:28:12 GMT",
                "date": "Wed, 21 Oct 2015 07:28:00 GMT",
            },
            12.0,
        ),
        ({"retry-after": "Wed, 21 Oct 2015 07:27:00 GMT"}, 0.0),  # already past
        ({"retry-after": "Wed, 21 Oct 2015 07:28:09 -0000"}, 9.0),
    ],
)
def test_retry_after_as_an_http_date_is_read_against_date_or_the_clock(
    headers: dict[str, str], wait: float
) -> None:
    now = 1_445_412_480.0  # Wed, 21 Oct 2015 07:28:00 GMT
    assert rate_limit_wait(403, headers, "secondary rate limit", now=now) == wait


def test_each_rate_limit_wait_is_one_line_naming_the_call_without_its_query(
    github: FakeGitHub,
) -> None:
    clock = _Clock()
    lines: list[str] = []
    for i in range(3):
        github.add_comment(7, f"c{i}", HUMAN)
    # The second page's link carries a query; the line names the path only.
    github.refusals.append(Refusal(429, {"Retry-After": "37"}, "slow down", path="comments"))
    github.refusals.append(Refusal(429, {"Retry-After": "5"}, "slow down", path="comments"))
    rest = GitHubRest(
        github.base_url,
        GITHUB_TOKEN,
        "acme/tasks",
        sleep=clock.sleep,
        clock=clock.time,
        notify=lines.append,
    )
    with rest:
        assert len(rest.list_issue_comments(7)) == 3
    assert clock.slept == [37.0, 5.0]
    assert lines == [
        f"GitHub rate limit: waiting {s} s before retrying GET /repos/acme/tasks/issues/7/comments"
        for s in (37, 5)
    ]
