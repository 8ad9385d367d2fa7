"""What the Action runs with: its inputs (TG_* variables set by action.yml) and GitHub's context.

Composite actions receive no INPUT_* variables, so action.yml maps each input to a TG_* variable
through `env:`. The event payload is read from `GITHUB_EVENT_PATH`; every field is optional and
checked, since a malformed payload must become a message, not a traceback.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from titan_gitops.errors import ConfigError

COMMANDS = ("plan", "apply", "drift", "validate", "changed", "approve")
# A pull request carrying this label is planned with previews, as with the `preview` input.
PREVIEW_LABEL = "titan-gitops:preview"
_TRUE = ("true", "yes", "1", "on")
_FALSE = ("false", "no", "0", "off", "")


def _text(environ: Mapping[str, str], name: str) -> str:
    return environ.get(name, "").strip()


def parse_flag(value: str, *, name: str, default: bool) -> bool:
    """A true/false input; empty means `default`.

    Raises:
        ConfigError: anything other than true/false (and their usual spellings).
    """
    lowered = value.strip().lower()
    if not lowered:
        return default
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ConfigError(f"input {name} must be true or false, got {value!r}")


def parse_count(value: str, *, name: str) -> int | None:
    """A non-negative whole number input; empty means unset.

    Raises:
        ConfigError: not a non-negative whole number.
    """
    text = value.strip()
    if not text:
        return None
    if not re.fullmatch(r"\d{1,9}", text):
        raise ConfigError(f"input {name} must be a whole number, got {value!r}")
    return int(text)


def parse_globs(value: str, *, name: str) -> tuple[str, ...]:
    """Task-name globs, one a line or separated by commas; empty means none.

    Raises:
        ConfigError: a glob holding whitespace (task names never do).
    """
    globs = tuple(g.strip() for g in re.split(r"[,\n]", value) if g.strip())
    for glob in globs:
        if re.search(r"\s", glob):
            raise ConfigError(
                f"input {name}: {glob!r} holds whitespace; give one glob a line or separate "
                "them with commas"
            )
    return globs


def parse_auth_header_input(value: str) -> str:
    """The `auth-header` input: "bearer" or "x-api-key"; empty leaves TITAN_AUTH_HEADER (or
    bearer) in force.

    Raises:
        ConfigError: any other value.
    """
    from titan_gitops.settings import AUTH_HEADERS

    lowered = value.strip().lower()
    if not lowered or lowered in AUTH_HEADERS:
        return lowered
    accepted = " or ".join(AUTH_HEADERS)
    shown = value.strip()[:40]
    raise ConfigError(f"input auth-header must be {accepted}, got {shown!r}")


def parse_environment(value: str) -> str:
    """The `environment` input: a GitHub deployment environment name; empty means the default.

    Raises:
        ConfigError: longer than GitHub allows, or holding control characters.
    """
    text = value.strip()
    if len(text) > 255 or any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise ConfigError(
            "input environment must be a deployment environment name of at most 255 "
            "characters on one line"
        )
    return text


def parse_plan_file(value: str) -> str:
    """The `plan-file` input: the path of a saved plan (approve writes it, apply reads it);
    empty means none (approve then picks one under RUNNER_TEMP).

    Raises:
        ConfigError: not one path on one line.
    """
    text = value.strip()
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise ConfigError("input plan-file must be one file path on one line")
    return text


APPROVAL_MODES = ("comment", "review", "codeowners")
ON_DRIFT = ("issue", "pull-request", "both")


def parse_on_drift(value: str) -> str:
    """The `on-drift` input; empty means `issue`.

    Raises:
        ConfigError: any value but issue, pull-request or both.
    """
    lowered = value.strip().lower()
    if not lowered:
        return ON_DRIFT[0]
    if lowered in ON_DRIFT:
        return lowered
    raise ConfigError(
        f"input on-drift must be issue, pull-request or both, got {value.strip()[:40]!r}"
    )


def parse_approval_mode(value: str) -> str:
    """The `approval` input; empty means `comment`.

    Raises:
        ConfigError: any value but comment, review or codeowners.
    """
    lowered = value.strip().lower()
    if not lowered:
        return APPROVAL_MODES[0]
    if lowered in APPROVAL_MODES:
        return lowered
    raise ConfigError(
        f"input approval must be comment, review or codeowners, got {value.strip()[:40]!r}"
    )


@dataclass(frozen=True)
class ActionInputs:
    """The action's inputs, parsed."""

    command: str
    directory: str
    api_url: str
    token: str = field(repr=False)
    github_token: str = field(repr=False)
    parallelism: int = 4
    comment: bool = True
    allow_deletes: int | None = None
    allow_unreviewed: bool = False
    fail_on_drift: bool = True
    # Warnings (such as YAML 1.1 traps) fail validate, plan and apply, as `validate --strict`.
    strict: bool = False
    # Plan previews created and output-changing tasks, as `plan --preview`.
    preview: bool = False
    # False: an empty plan creates no pull request comment (an existing one is still updated).
    comment_on_empty: bool = True
    # Let a plan delete every live task of the namespace when the definitions hold none.
    allow_empty: bool = False
    # Task-name globs the plan is narrowed to, as `--only` / `--exclude`.
    only: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    # How the Titan token is sent ("bearer" or "x-api-key"); empty: TITAN_AUTH_HEADER or bearer.
    auth_header: str = ""
    # Directory globs `command: changed` lists the changed definition directories of.
    directories: tuple[str, ...] = ()
    # The deployment environment apply records to; empty: titan-gitops/<directory>.
    environment: str = ""
    # On plan: keep the titan-gitops:changes/deletes/breaking labels of the pull request.
    labels: bool = False
    # approve: where the approved plan is saved; apply: the saved plan to apply exactly.
    plan_file: str = ""
    # What approves apply beyond the reviewed change set: "comment", "review" or "codeowners".
    approval: str = "comment"
    # Let apply throw away edits made in Titan since the base (the last successful deployment).
    overwrite_live_edits: bool = False
    # Drift with a base: merges not yet applied fail the step too (else they are only reported).
    fail_on_pending: bool = False
    # What drift does: keep an issue, propose the live edits in a pull request, or both.
    on_drift: str = "issue"


def read_inputs(environ: Mapping[str, str]) -> ActionInputs:
    """Parse the TG_* variables.

    Raises:
        ConfigError: an unknown command or a malformed value.
    """
    command = _text(environ, "TG_COMMAND").lower() or "plan"
    if command not in COMMANDS:
        raise ConfigError(f"input command must be one of {', '.join(COMMANDS)}, got {command!r}")
    parallelism = parse_count(_text(environ, "TG_PARALLELISM"), name="parallelism")
    if parallelism is not None and not 1 <= parallelism <= 32:
        raise ConfigError(f"input parallelism must be between 1 and 32, got {parallelism}")
    return ActionInputs(
        command=command,
        directory=_text(environ, "TG_DIRECTORY") or ".",
        api_url=_text(environ, "TG_API_URL"),
        token=environ.get("TG_TOKEN", "").strip(),
        github_token=environ.get("TG_GITHUB_TOKEN", "").strip(),
        parallelism=parallelism or 4,
        comment=parse_flag(_text(environ, "TG_COMMENT"), name="comment", default=True),
        allow_deletes=parse_count(_text(environ, "TG_ALLOW_DELETES"), name="allow-deletes"),
        allow_unreviewed=parse_flag(
            _text(environ, "TG_ALLOW_UNREVIEWED"), name="allow-unreviewed", default=False
        ),
        fail_on_drift=parse_flag(
            _text(environ, "TG_FAIL_ON_DRIFT"), name="fail-on-drift", default=True
        ),
        strict=parse_flag(_text(environ, "TG_STRICT"), name="strict", default=False),
        preview=parse_flag(_text(environ, "TG_PREVIEW"), name="preview", default=False),
        comment_on_empty=parse_flag(
            _text(environ, "TG_COMMENT_ON_EMPTY"), name="comment-on-empty", default=True
        ),
        allow_empty=parse_flag(_text(environ, "TG_ALLOW_EMPTY"), name="allow-empty", default=False),
        only=parse_globs(environ.get("TG_ONLY", ""), name="only"),
        exclude=parse_globs(environ.get("TG_EXCLUDE", ""), name="exclude"),
        auth_header=parse_auth_header_input(environ.get("TG_AUTH_HEADER", "")),
        directories=_directory_globs(environ.get("TG_DIRECTORIES", "")),
        environment=parse_environment(environ.get("TG_ENVIRONMENT", "")),
        labels=parse_flag(_text(environ, "TG_LABELS"), name="labels", default=False),
        plan_file=parse_plan_file(environ.get("TG_PLAN_FILE", "")),
        approval=parse_approval_mode(environ.get("TG_APPROVAL", "")),
        overwrite_live_edits=parse_flag(
            _text(environ, "TG_OVERWRITE_LIVE_EDITS"), name="overwrite-live-edits", default=False
        ),
        fail_on_pending=parse_flag(
            _text(environ, "TG_FAIL_ON_PENDING"), name="fail-on-pending", default=False
        ),
        on_drift=parse_on_drift(environ.get("TG_ON_DRIFT", "")),
    )


def _directory_globs(value: str) -> tuple[str, ...]:
    from titan_gitops.github.changed import parse_directory_globs

    return parse_directory_globs(value)


def _get(data: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


@dataclass(frozen=True)
class GitHubContext:
    """The parts of GitHub's run context the Action relies on."""

    event_name: str
    repository: str
    ref: str
    sha: str
    api_url: str
    server_url: str
    run_id: str
    default_branch: str = ""
    pull_number: int | None = None
    pull_head_sha: str = ""
    # The pull request's base commit, and a push's `before`: what `command: changed` compares.
    pull_base_sha: str = ""
    push_before: str = ""
    is_fork: bool = False
    # The names of the pull request's labels when the event was sent.
    labels: tuple[str, ...] = ()
    output_path: Path | None = None
    summary_path: Path | None = None
    workspace: Path | None = None
    temp_dir: Path | None = None

    @property
    def run_url(self) -> str:
        """The link to this workflow run (empty when unknown)."""
        if not (self.server_url and self.repository and self.run_id):
            return ""
        return f"{self.server_url}/{self.repository}/actions/runs/{self.run_id}"

    @property
    def has_preview_label(self) -> bool:
        """True on a pull request event whose pull request carries PREVIEW_LABEL (GitHub's label
        names ignore case)."""
        names = {label.lower() for label in self.labels}
        return self.event_name == "pull_request" and PREVIEW_LABEL in names

    @property
    def on_default_branch_push(self) -> bool:
        """True for a push event to the repository's default branch."""
        return (
            self.event_name == "push"
            and bool(self.default_branch)
            and self.ref == f"refs/heads/{self.default_branch}"
        )


def read_event(path: str) -> dict[str, Any]:
    """The event payload, or an empty mapping when there is none.

    Raises:
        ConfigError: the file exists but is not a JSON object.
    """
    if not path:
        return {}
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read GITHUB_EVENT_PATH: {exc.strerror}") from None
    except ValueError:
        raise ConfigError("GITHUB_EVENT_PATH is not valid JSON") from None
    if not isinstance(data, dict):
        raise ConfigError("GITHUB_EVENT_PATH does not hold a JSON object")
    return data


def _label_names(labels: Any) -> tuple[str, ...]:
    if not isinstance(labels, list):
        return ()
    return tuple(_str(_get(label, "name")) for label in labels if _str(_get(label, "name")))


def _path(environ: Mapping[str, str], name: str) -> Path | None:
    value = _text(environ, name)
    return Path(value) if value else None


def read_context(environ: Mapping[str, str]) -> GitHubContext:
    """GitHub's context from the runner's variables and the event payload.

    Raises:
        ConfigError: an unreadable event payload.
    """
    event = read_event(_text(environ, "GITHUB_EVENT_PATH"))
    pull = event.get("pull_request")
    number = _get(pull, "number")
    head_repo = _str(_get(pull, "head", "repo", "full_name"))
    base_repo = _str(_get(pull, "base", "repo", "full_name"))
    return GitHubContext(
        event_name=_text(environ, "GITHUB_EVENT_NAME"),
        repository=_text(environ, "GITHUB_REPOSITORY"),
        ref=_text(environ, "GITHUB_REF"),
        sha=_text(environ, "GITHUB_SHA"),
        api_url=(_text(environ, "GITHUB_API_URL") or "https://api.github.com").rstrip("/"),
        server_url=(_text(environ, "GITHUB_SERVER_URL") or "https://github.com").rstrip("/"),
        run_id=_text(environ, "GITHUB_RUN_ID"),
        default_branch=_str(_get(event, "repository", "default_branch")),
        pull_number=number if isinstance(number, int) and not isinstance(number, bool) else None,
        pull_head_sha=_str(_get(pull, "head", "sha")),
        pull_base_sha=_str(_get(pull, "base", "sha")),
        push_before=_str(event.get("before")),
        # A deleted fork has no head repo: treat it as a fork too (its token is read-only).
        is_fork=isinstance(pull, dict) and (not head_repo or head_repo != base_repo),
        labels=_label_names(_get(pull, "labels")),
        output_path=_path(environ, "GITHUB_OUTPUT"),
        summary_path=_path(environ, "GITHUB_STEP_SUMMARY"),
        workspace=_path(environ, "GITHUB_WORKSPACE"),
        temp_dir=_path(environ, "RUNNER_TEMP"),
    )
