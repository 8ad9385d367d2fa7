"""The GitHub REST client against the fake: headers, pagination, errors, origin pinning."""

from __future__ import annotations

import pytest

from titan_gitops.github.rest import GitHubError, GitHubRest, find_next_link

from .conftest import GITHUB_TOKEN
from .fake_github import HUMAN, FakeGitHub


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
