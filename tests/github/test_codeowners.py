"""CODEOWNERS read as GitHub reads it: gitignore-style patterns, the last matching line wins."""

from __future__ import annotations

import pytest

from titan_gitops.github.codeowners import compile_pattern, parse_codeowners, split_owners


@pytest.mark.parametrize(
    ("pattern", "paths"),
    [
        # No slash but a trailing one: at any depth, the file or folder and all under it.
        ("foo", {"foo": True, "foo.txt": False, "foo/bar": True, "bar/foo/baz": True}),
        # A leading slash anchors to the repository root.
        ("/foo", {"foo": True, "foo/bar/baz": True, "bar/foo": False, "fool.txt": False}),
        # A trailing slash: only what is inside such a folder, at any depth.
        ("foo/", {"foo": False, "foo/bar": True, "bar/foo/baz": True, "bar/foo": False}),
        ("/foo/", {"foo/bar": True, "bar/foo/baz": False}),
        # A slash in the middle anchors too.
        ("foo/bar", {"foo/bar": True, "foo/bar/baz": True, "baz/foo/bar": False}),
        # `*` stays within a name; a lone `*` owns everything.
        ("*", {"foo": True, "foo/bar": True, "a/b/c.yaml": True}),
        ("*.yaml", {"a.yaml": True, "teams/shop/a.yaml": True, "a.yml": False}),
        ("f*", {"foo/bar": True, "bar/foo": True, "xfoo": False}),
        # A trailing `/*` owns the folder's files, not what is nested deeper (GitHub's docs).
        ("foo/*", {"foo": False, "foo/bar": True, "foo/bar/baz": False}),
        ("/*", {"foo": True, "foo/bar": False}),
        ("foo/*/baz", {"foo/bar/baz": True, "foo/baz": False, "foo/bar/baz/qux": True}),
        # `?` is one character, never a slash.
        ("f?o", {"foo": True, "fo": False, "fooo": False, "f/o": False}),
        # `**`: leading (any folder), trailing (everything inside), middle (zero or more).
        ("**/foo/bar", {"foo/bar": True, "qux/foo/bar/baz": True, "foo/baz/bar": False}),
        ("foo/bar/**", {"foo/bar": False, "foo/bar/baz": True, "foo/bar/baz/qux": True}),
        ("foo/**/bar", {"foo/bar": True, "foo/a/b/bar/c": True, "qux/foo/bar": False}),
        ("foo/**/", {"foo": False, "foo/bar": True, "foo/bar/baz": True}),
        # A backslash makes the next character literal.
        (r"f\*o", {"f*o": True, "foo": False}),
        (r"\#notes", {"#notes": True, "notes": False}),
    ],
)
def test_patterns_match_as_github_matches_them(pattern: str, paths: dict[str, bool]) -> None:
    regex = compile_pattern(pattern)
    for path, expected in paths.items():
        assert bool(regex.match(path)) is expected, (pattern, path)


def test_the_last_matching_line_wins_and_a_line_without_owners_unsets() -> None:
    owners = parse_codeowners(
        "\n".join(
            [
                "# the platform team owns everything by default",
                "*                 @acme/platform",
                "",
                "/teams/shop/      @alice @acme/shop   # the shop team",
                "/teams/shop/*.md",
                "/teams/shop/tasks/ shop-lead@acme.example",
            ]
        )
    )
    assert owners.owners_of("README.md") == ("@acme/platform",)
    assert owners.owners_of("teams/shop/titan-gitops.yaml") == ("@alice", "@acme/shop")
    assert owners.owners_of("teams/shop/NOTES.md") == ()
    assert owners.owners_of("teams/shop/tasks/a.yaml") == ("shop-lead@acme.example",)


def test_comments_escapes_and_invalid_lines() -> None:
    owners = parse_codeowners(
        "\n".join(
            [
                "#teams/ @nobody",  # a comment, not a pattern
                r"\#teams @carol",  # an escaped hash: a pattern
                r"my\ file @dave",  # an escaped space stays in the pattern
                "teams/ @alice not-an-owner",  # invalid: GitHub skips the whole line
            ]
        )
    )
    assert owners.owners_of("#teams") == ("@carol",)
    assert owners.owners_of("my file") == ("@dave",)
    assert owners.owners_of("teams/a.yaml") == ()
    assert [rule.line for rule in owners.rules] == [2, 3]


def test_owners_are_split_into_users_teams_and_emails() -> None:
    users, teams, emails = split_owners(("@Alice", "@acme/shop", "lead@acme.example"))
    assert users == ("alice",)
    assert teams == (("acme", "shop"),)
    assert emails == ("lead@acme.example",)
