"""The git of the adopt pull request: its branch on `origin`, built and pushed without touching
the checkout's working tree, index or HEAD.

A commit is made with plumbing: the files adopt would write are hashed into a private index read
from the commit they go on, written as a tree and committed with the bot's identity (never the
user's git config: name, e-mail and signing are set for each call). Nothing is checked out.

The job's token reaches git as an `http.<server>/.extraheader`, the way actions/checkout sends it,
but through `GIT_CONFIG_*` variables of each call: it is never written to `.git/config`, never part
of a URL git could print, never on a command line. An empty value first resets any header the
checkout persisted, so exactly one is sent. This works with `persist-credentials: false`, which
keeps the token out of every later step of the job.

The branch is pushed only over commits this bot made: a fast-forward on top, or, when the default
branch moved, the branch recreated with `--force-with-lease` on the head that was checked.
"""

from __future__ import annotations

import base64
import os
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from titan_gitops.errors import ConfigError
from titan_gitops.github.gitdiff import Git
from titan_gitops.github.sticky import normalise_directory

BOT_NAME = "github-actions[bot]"
BOT_EMAIL = "41898282+github-actions[bot]@users.noreply.github.com"
BRANCH_PREFIX = "titan-gitops/adopt"
_GIT_TIMEOUT = 120.0
REMOTE = "origin"


def adopt_branch(directory: str) -> str:
    """The adopt branch of a definitions directory: titan-gitops/adopt/<directory> (the root
    directory: titan-gitops/adopt-root, since `.` cannot end a branch name).

    Raises:
        ConfigError: the directory would make an invalid branch name.
    """
    where = normalise_directory(directory)
    branch = f"{BRANCH_PREFIX}-root" if where == "." else f"{BRANCH_PREFIX}/{where}"
    result = subprocess.run(
        ["git", "check-ref-format", "--branch", branch],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "LC_ALL": "C"},
        timeout=_GIT_TIMEOUT,
    )
    if result.returncode != 0:
        raise ConfigError(
            f"input directory: {where!r} cannot name the adopt branch ({branch!r} is not a valid "
            "git branch name), so on-drift: pull-request cannot be used for it"
        )
    return branch


def auth_environment(server_url: str, token: str) -> dict[str, str]:
    """The `GIT_CONFIG_*` variables that send `token` to `server_url` only, as actions/checkout
    does (basic auth as x-access-token), after clearing any header already configured."""
    if not token or not server_url.startswith("https://"):
        return {}
    key = f"http.{server_url.rstrip('/')}/.extraheader"
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    return {
        "GIT_CONFIG_COUNT": "2",
        "GIT_CONFIG_KEY_0": key,
        "GIT_CONFIG_VALUE_0": "",
        "GIT_CONFIG_KEY_1": key,
        "GIT_CONFIG_VALUE_1": f"AUTHORIZATION: basic {basic}",
    }


@dataclass(frozen=True)
class BranchState:
    """The adopt branch on origin: its head (None: no such branch) and whether every commit it
    holds beyond the default branch was made by this bot."""

    head: str | None
    bot_only: bool = True
    based_on: str = ""


class AdoptGit:
    """git in the checkout for the adopt branch; every call checked, stderr kept for the message
    (git never sees the token in a URL or an argument, so its messages cannot hold it)."""

    def __init__(self, cwd: Path, auth: Mapping[str, str]) -> None:
        self.cwd = cwd
        self._auth = dict(auth)
        self._git = Git(cwd.resolve(), needs="on-drift: pull-request")

    def run(
        self,
        args: Sequence[str],
        *,
        check: bool = True,
        env: Mapping[str, str] | None = None,
        stdin: bytes | None = None,
    ) -> str:
        """git `args`; its stdout, stripped.

        Raises:
            ConfigError: git failed (with `check`), is missing, or took too long.
        """
        text = stdin.decode("utf-8", "surrogateescape") if stdin is not None else None
        done = self._git.run(args, check=check, env={**self._auth, **(env or {})}, stdin=text)
        return done.stdout.strip()

    def head(self) -> str:
        """The commit checked out."""
        return self.run(["rev-parse", "--verify", "HEAD^{commit}"])

    def top(self) -> Path:
        """The checkout's top directory."""
        return Path(self.run(["rev-parse", "--show-toplevel"]))

    def branch_state(self, branch: str, base: str) -> BranchState:
        """Fetch the adopt branch from origin (when it exists) and say whose commits it holds
        beyond `base` (the default branch's head)."""
        listed = self.run(["ls-remote", "--heads", REMOTE, f"refs/heads/{branch}"])
        if not listed:
            return BranchState(None)
        head = listed.split()[0]
        tracking = f"refs/remotes/{REMOTE}/{branch}"
        self.run(["fetch", "--no-tags", "--quiet", REMOTE, f"+refs/heads/{branch}:{tracking}"])
        authors = self.run(["log", "--format=%ae%x09%ce", f"{base}..{head}"]).splitlines()
        bot = f"{BOT_EMAIL}\t{BOT_EMAIL}"
        merge_base = self.run(["merge-base", base, head], check=False)
        return BranchState(head, all(line == bot for line in authors), merge_base)

    def tree_of(self, commit: str) -> str:
        return self.run(["rev-parse", "--verify", f"{commit}^{{tree}}"])

    def tree_with(self, commit: str, files: Mapping[str, str | None]) -> str:
        """The tree of `commit` with `files` (path from the top: text, or None to remove) in it;
        written to the object store through a private index, the checkout's left alone."""
        with tempfile.TemporaryDirectory(prefix="titan-gitops-adopt-") as tmp:
            index = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
            self.run(["read-tree", commit], env=index)
            for path, text in sorted(files.items()):
                if text is None:
                    self.run(["update-index", "--force-remove", "--", path], env=index)
                    continue
                blob = self.run(
                    ["hash-object", "-w", "--stdin", f"--path={path}"],
                    stdin=text.encode("utf-8"),
                )
                mode = self._mode(commit, path)
                self.run(
                    ["update-index", "--add", "--cacheinfo", f"{mode},{blob},{path}"], env=index
                )
            return self.run(["write-tree"], env=index)

    def changed_paths(self, commit: str, tree: str) -> set[str]:
        """The paths (from the top) whose content differs between `commit` and `tree`."""
        listed = self.run(["diff-tree", "-r", "-z", "--name-only", "--no-renames", commit, tree])
        return {path for path in listed.split("\0") if path}

    def _mode(self, commit: str, path: str) -> str:
        listed = self.run(["ls-tree", commit, "--", path])
        return listed.split()[0] if listed else "100644"

    def commit(self, tree: str, parent: str, message: str) -> str:
        """A commit of `tree` on `parent` by the bot, unsigned, whatever the user's config says."""
        identity = {
            "GIT_AUTHOR_NAME": BOT_NAME,
            "GIT_AUTHOR_EMAIL": BOT_EMAIL,
            "GIT_COMMITTER_NAME": BOT_NAME,
            "GIT_COMMITTER_EMAIL": BOT_EMAIL,
        }
        return self.run(
            ["commit-tree", "--no-gpg-sign", tree, "-p", parent, "-F", "-"],
            env=identity,
            stdin=message.encode("utf-8"),
        )

    def push(self, commit: str, branch: str, *, over: str | None) -> None:
        """Point origin's `branch` at `commit`: created, fast-forwarded, or (when `over` is not
        an ancestor) replaced, only if origin still holds `over`."""
        ref = f"refs/heads/{branch}"
        lease = f"--force-with-lease={ref}:{over or ''}"
        self.run(["push", "--quiet", "--no-verify", lease, REMOTE, f"{commit}:{ref}"])

    def delete(self, branch: str, head: str) -> None:
        """Delete origin's `branch`, only if it still points at `head`."""
        ref = f"refs/heads/{branch}"
        self.run(
            [
                "push",
                "--quiet",
                "--no-verify",
                f"--force-with-lease={ref}:{head}",
                REMOTE,
                f":{ref}",
            ]
        )
