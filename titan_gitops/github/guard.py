"""The last line of defence: nothing leaves for GitHub if it holds a secret in any usual form.

Everything is masked before it gets here; this guard does not trust that. It scans the exact
text about to be posted (comment, summary, issue) for every secret of the run's SecretSet,
verbatim and encoded, and refuses to post it. The refusal never quotes the secret.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from titan_gitops.errors import TitanGitopsError

if TYPE_CHECKING:
    from titan_gitops.secrets import SecretSet


class SecretLeak(TitanGitopsError):
    """Text bound for GitHub contains a secret; it was not posted."""


def ensure_no_secrets(text: str, secrets: SecretSet, *, what: str) -> None:
    """Refuse to post `text` if it holds a secret.

    Raises:
        SecretLeak: naming what was refused and the form found, never the value.
    """
    label = secrets.find_leak(text)
    if label is not None:
        raise SecretLeak(
            f"refusing to post the {what}: it contains a secret value ({label} form); "
            "nothing was posted"
        )
