"""The git the `changed` command needs: which files differ between two commits, and the
definition directories the checkout holds.

Git runs in the step's working directory (the checkout) with arguments only, never a shell; paths
come back NUL-separated and relative to that directory (`--relative`), so a quoted or odd name is
never misread. A shallow checkout that lacks the base is deepened once from `origin`; when that
is not possible the error names what to change (`fetch-depth: 0`).
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from titan_gitops.errors import ConfigError

PROJECT_FILE = "titan-gitops.yaml"
_SHA = re.compile(r"[0-9a-fA-F]{40}|[0-9a-fA-F]{64}")
_NULL_SHA = re.compile(r"0+")
_GIT_TIMEOUT = 120.0
_FETCH_HINT = (
    "check out the full history: actions/checkout with fetch-depth: 0 (in the job that runs "
    "command: changed)"
)


def is_null_sha(sha: str) -> bool:
    """True for GitHub's all-zero `before` of a push that created the branch."""
    return bool(_NULL_SHA.fullmatch(sha))


def check_sha(sha: str, *, what: str) -> str:
    """A full commit SHA from the event payload, or a ConfigError naming where it came from."""
    if not _SHA.fullmatch(sha):
        shown = sha[:80]
        raise ConfigError(f"{what} is not a full commit SHA: {shown!r}")
    return sha.lower()


class Git:
    """git in one working directory: every call checked, stderr kept for the message. `needs`
    names what needs git, for the message when it is missing."""

    def __init__(self, cwd: Path, *, needs: str = "command changed") -> None:
        self.cwd = cwd
        self.needs = needs

    def run(
        self,
        args: Sequence[str],
        *,
        check: bool = True,
        env: Mapping[str, str] | None = None,
        stdin: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        full = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C", **(env or {})}
        # The checkout may belong to another user (a container job): trust it for this call only.
        head = ["git", "-c", f"safe.directory={self.cwd}", "-c", "core.quotePath=false"]
        try:
            result = subprocess.run(
                [*head, *args],
                cwd=self.cwd,
                env=full,
                input=stdin,
                capture_output=True,
                text=True,
                encoding="utf-8",
                errors="surrogateescape",
                timeout=_GIT_TIMEOUT,
                check=False,
            )
        except FileNotFoundError:
            raise ConfigError(f"{self.needs} needs git on the runner's PATH") from None
        except subprocess.TimeoutExpired:
            raise ConfigError(f"git {args[0]} took longer than {_GIT_TIMEOUT:.0f} s") from None
        if check and result.returncode != 0:
            last = (result.stderr.strip().splitlines() or ["(no message)"])[-1]
            raise ConfigError(f"git {args[0]} failed: {last[:300]}")
        return result

    def ensure_checkout(self) -> None:
        """Refuse a directory that is not inside a git checkout."""
        result = self.run(["rev-parse", "--is-inside-work-tree"], check=False)
        if result.returncode != 0 or result.stdout.strip() != "true":
            raise ConfigError(
                f"command changed needs a git checkout, and {self.cwd} is not one: run "
                "actions/checkout (with fetch-depth: 0) before this step"
            )

    def has_commit(self, sha: str) -> bool:
        return self.run(["cat-file", "-e", f"{sha}^{{commit}}"], check=False).returncode == 0

    def is_shallow(self) -> bool:
        result = self.run(["rev-parse", "--is-shallow-repository"], check=False)
        return result.stdout.strip() == "true"

    def merge_base(self, base: str, head: str) -> str | None:
        result = self.run(["merge-base", base, head], check=False)
        if result.returncode != 0:
            return None
        return result.stdout.strip() or None

    def ensure_history(self, base: str, head: str) -> None:
        """Make sure both commits and their merge base are here; deepen a shallow checkout once.

        Raises:
            ConfigError: a commit or the merge base is missing and cannot be fetched.
        """
        if self._complete(base, head):
            return
        if self.is_shallow():
            # Deepen to the full history of both commits (GitHub serves reachable SHAs).
            self.run(
                ["fetch", "--no-tags", "--quiet", "--unshallow", "origin", base, head],
                check=False,
            )
            if self._complete(base, head):
                return
            raise ConfigError(
                f"the checkout is shallow and lacks the history between {base[:12]} and "
                f"{head[:12]}, and fetching it from origin failed; {_FETCH_HINT}"
            )
        missing = [sha for sha in (base, head) if not self.has_commit(sha)]
        if missing:
            raise ConfigError(f"commit {missing[0][:12]} is not in the checkout; {_FETCH_HINT}")
        raise ConfigError(f"commits {base[:12]} and {head[:12]} share no history to compare")

    def _complete(self, base: str, head: str) -> bool:
        return (
            self.has_commit(base)
            and self.has_commit(head)
            and self.merge_base(base, head) is not None
        )

    def changed_paths(self, base: str, head: str) -> list[str]:
        """Paths (relative to the working directory) that differ between the merge base of
        `base` and `head`, and `head`: added, modified, deleted, both sides of a rename."""
        result = self.run(
            ["diff", "--name-only", "--no-renames", "--relative", "-z", f"{base}...{head}", "--"]
        )
        return [path for path in result.stdout.split("\0") if path]

    def project_files(self) -> list[str]:
        """Every tracked titan-gitops.yaml under the working directory, relative to it."""
        result = self.run(["ls-files", "-z", "--", f":(glob)**/{PROJECT_FILE}"])
        return sorted(path for path in result.stdout.split("\0") if path)
