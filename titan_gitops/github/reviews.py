"""The `approval` input: who must have approved what, beyond the reviewed change set.

- `comment` (the default): the change set recorded in the bot's plan comment is enough.
- `review`: the merged pull request must also carry an APPROVED review of the commit that plan
  comment was made for. Each reviewer's latest review that is not a comment decides (APPROVED,
  CHANGES_REQUESTED, DISMISSED); an approval counts only for that exact commit; the author's own
  reviews never count; a reviewer whose latest review requests changes blocks.
- `codeowners`: the approval must also come from a code owner of every owned file the pull
  request changed under the directory (its `titan-gitops.yaml` when it changed none there, as
  when only a `$file` target elsewhere changed). CODEOWNERS is read at the pull request's base
  commit, a commit of the default branch: a pull request cannot make its author an owner.

When several queued merges are approved together, each of their pull requests must meet the
requirement itself. `allow-unreviewed` still overrides, and says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from titan_gitops.github.approval import ApprovalVerdict
from titan_gitops.github.codeowners import LOCATIONS, CodeOwners, parse_codeowners, split_owners
from titan_gitops.github.rest import GitHubRest
from titan_gitops.github.sticky import ApprovalRecord, normalise_directory

APPROVED, CHANGES_REQUESTED, DISMISSED = "APPROVED", "CHANGES_REQUESTED", "DISMISSED"
_DECIDING = (APPROVED, CHANGES_REQUESTED, DISMISSED)
PROJECT_FILE = "titan-gitops.yaml"


def short(sha: str) -> str:
    """A commit as people read it."""
    return sha[:12]


def _login(item: Any) -> str:
    user = item.get("user") if isinstance(item, dict) else None
    login = user.get("login") if isinstance(user, dict) else None
    return login if isinstance(login, str) else ""


def latest_reviews(reviews: Sequence[dict[str, Any]], author: str) -> dict[str, tuple[str, str]]:
    """Each reviewer's (lower-cased login) latest deciding review as (state, commit), oldest
    first in `reviews`; comments, pending reviews and the author's own reviews left out."""
    latest: dict[str, tuple[str, str]] = {}
    for review in reviews:
        login, state = _login(review).lower(), review.get("state")
        if not login or login == author.lower() or state not in _DECIDING:
            continue
        commit = review.get("commit_id")
        latest[login] = (str(state), commit if isinstance(commit, str) else "")
    return latest


@dataclass
class PullCheck:
    """One merged pull request checked against the approval mode."""

    rest: GitHubRest
    pull: dict[str, Any]
    record: ApprovalRecord
    directory: str
    number: int = 0
    approvers: dict[str, str] = field(default_factory=dict)
    # Team memberships already asked: (org, slug, login) -> member.
    members: dict[tuple[str, str, str], bool] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.number = int(self.pull["number"])

    @property
    def current(self) -> list[str]:
        """The reviewers who approved the commit the plan comment shows."""
        return sorted(login for login, sha in self.approvers.items() if sha == self.record.sha)

    def problem(self, mode: str) -> tuple[str, str]:
        """(what is missing, "") or ("", who approved): the pull request against `mode`."""
        if not self.record.sha:
            return (
                f"the plan comment of pull request #{self.number} records no commit, so no "
                "review can be matched to it",
                "",
            )
        latest = latest_reviews(self.rest.list_pull_reviews(self.number), _login(self.pull))
        blockers = sorted(
            login for login, (state, _) in latest.items() if state == CHANGES_REQUESTED
        )
        if blockers:
            who = ", ".join(f"@{b}" for b in blockers)
            return f"{who} requested changes on pull request #{self.number}", ""
        self.approvers = {login: sha for login, (state, sha) in latest.items() if state == APPROVED}
        if mode == "codeowners":
            return self.codeowners_problem()
        if self.current:
            return "", f"{_people(self.current)} approved commit {short(self.record.sha)}"
        return self.no_approval(), ""

    def no_approval(self, among: Sequence[str] = (), what: str = "") -> str:
        """No approval of the planned commit (by one of `among`, when given)."""
        text = (
            f"pull request #{self.number} has no approving review of commit "
            f"{short(self.record.sha)} (the commit its plan comment shows){what}"
        )
        earlier = sorted(
            (login, sha)
            for login, sha in self.approvers.items()
            if sha != self.record.sha and (not among or login in among)
        )
        for login, sha in earlier:
            text += (
                f"; @{login} approved {short(sha)}, a different commit: approve again after "
                "the plan comment was updated"
            )
        return text

    def owned_paths(self) -> list[str]:
        """The changed files under the directory, or its project file when none are."""
        where = normalise_directory(self.directory)
        prefix = "" if where == "." else where + "/"
        files = sorted({p for p in self.rest.list_pull_files(self.number) if p.startswith(prefix)})
        return files or [prefix + PROJECT_FILE]

    def codeowners_problem(self) -> tuple[str, str]:
        """Every owned file needs an approval of the planned commit from one of its owners."""
        where = normalise_directory(self.directory)
        base = self.pull.get("base")
        base_sha = base.get("sha") if isinstance(base, dict) else None
        if not isinstance(base_sha, str) or not base_sha:
            return f"pull request #{self.number} names no base commit to read CODEOWNERS at", ""
        owners = read_codeowners(self.rest, base_sha)
        if owners is None:
            return (
                f"there is no CODEOWNERS file at commit {short(base_sha)}, the base of pull "
                f"request #{self.number} (looked for {', '.join(LOCATIONS)}): codeowners "
                "approval cannot be met; add one or use approval: review",
                "",
            )
        owned = [(path, owners.owners_of(path)) for path in self.owned_paths()]
        owned = [(path, names) for path, names in owned if names]
        if not owned:
            return (
                f"CODEOWNERS names no owner for {where}: codeowners approval cannot be met; "
                "add an owner or use approval: review",
                "",
            )
        approved_by: set[str] = set()
        for path, names in owned:
            missing, who = self.owner_approval(path, names)
            if missing:
                return missing, ""
            approved_by.add(who)
        return "", (
            f"{_people(sorted(approved_by))}, code owner{'s' if len(approved_by) > 1 else ''} "
            f"of {where}, approved commit {short(self.record.sha)}"
        )

    def owner_approval(self, path: str, names: tuple[str, ...]) -> tuple[str, str]:
        """("", the owner who approved `path`) or (what is missing, "")."""
        users, teams, emails = split_owners(names)
        if not users and not teams:
            return (
                f"the CODEOWNERS owners of {path} are email addresses only "
                f"({', '.join(emails)}), which cannot be matched to a GitHub login: name a user "
                "or team, or use approval: review",
                "",
            )
        current = self.current
        for login in current:
            if login in users:
                return "", login
        for org, slug in teams:
            if current and not self.rest.can_see_team(org, slug):
                return (
                    f"the github-token cannot see team @{org}/{slug} (or there is no such "
                    f"team), a CODEOWNERS owner of {path}: give it read:org (organization "
                    "members: read) so its members can be checked",
                    "",
                )
            for login in current:
                key = (org, slug, login)
                if key not in self.members:
                    self.members[key] = self.rest.is_team_member(org, slug, login)
                if self.members[key]:
                    return "", login
        listed = ", ".join(n for n in names if n.startswith("@"))
        skipped = " (email owners cannot be matched to a login and were skipped)" if emails else ""
        missing = self.no_approval(
            users, f" from a code owner of {path} (owners: {listed}){skipped}"
        )
        if current:
            missing += f"; {_people(current)} approved it but {_is_are(current)} not among them"
        return missing, ""


def _people(logins: Sequence[str]) -> str:
    return ", ".join(f"@{login}" for login in logins)


def _is_are(logins: Sequence[str]) -> str:
    return "is" if len(logins) == 1 else "are"


def read_codeowners(rest: GitHubRest, sha: str) -> CodeOwners | None:
    """CODEOWNERS at commit `sha`, from the first of GitHub's locations that holds one.

    The pull request's base commit is a commit of the default branch, so what a pull request
    changes in CODEOWNERS never decides who may approve it.
    """
    for location in LOCATIONS:
        text = rest.get_file_text(location, sha)
        if text is not None:
            return parse_codeowners(text)
    return None


def require_reviews(
    verdict: ApprovalVerdict,
    reviewed: Sequence[tuple[dict[str, Any], ApprovalRecord]],
    *,
    mode: str,
    directory: str,
    allow_unreviewed: bool,
    rest: GitHubRest,
) -> ApprovalVerdict:
    """`verdict` (the change set was reviewed) checked against the approval `mode`: each pull
    request in `reviewed` must meet it itself."""
    if mode == "comment" or not verdict.approved or verdict.unreviewed:
        return verdict
    problems: list[str] = []
    notes: list[str] = []
    for pull, record in reviewed:
        missing, note = PullCheck(rest, pull, record, directory).problem(mode)
        if missing:
            problems.append(missing)
        else:
            notes.append(note)
    if not reviewed:
        problems.append("no merged pull request was found to check its reviews")
    if not problems:
        return ApprovalVerdict(True, f"{verdict.message} {'; '.join(notes)} (approval: {mode}).")
    reason = "; ".join(problems)
    if allow_unreviewed:
        return ApprovalVerdict(True, f"Applying although {reason}: allow-unreviewed is set.")
    return ApprovalVerdict(
        False,
        f"Refusing to apply: {reason}. With approval: {mode}, the commit the plan comment "
        "shows must be approved before the merge; open a pull request for the change, or set "
        "allow-unreviewed: true to apply anyway.",
    )
