"""The last line of defence: nothing leaves for GitHub if it holds a secret in any usual form.

Renderers already mask secrets; this guard does not trust that. It scans the exact text about to
be posted (comment, summary, issue) for the tokens and every registered secret, verbatim and
encoded, and refuses to post it. The refusal never quotes the secret.
"""

from __future__ import annotations

import base64
import html
import json
import urllib.parse
from collections.abc import Iterable

from titan_gitops.errors import TitanGitopsError
from titan_gitops.escape import escape_code, escape_text
from titan_gitops.redact import MIN_SECRET_LENGTH as _MIN_SECRET_LENGTH


class SecretLeak(TitanGitopsError):
    """Text bound for GitHub contains a secret; it was not posted."""


def describe_secret_forms(secret: str) -> dict[str, str]:
    """Each encoded form of `secret` a leak could take, keyed by a secret-free label."""
    raw = secret.encode()
    forms = {
        "verbatim": secret,
        "base64": base64.b64encode(raw).decode(),
        "base64 (unpadded)": base64.b64encode(raw).decode().rstrip("="),
        "base64url": base64.urlsafe_b64encode(raw).decode().rstrip("="),
        "URL-encoded": urllib.parse.quote(secret, safe=""),
        "form-encoded": urllib.parse.quote_plus(secret),
        "HTML-escaped": html.escape(secret, quote=True),
        "JSON-escaped": json.dumps(secret)[1:-1],
        "Markdown-escaped": escape_text(secret),
        "code-escaped": escape_code(secret),
    }
    return {label: form for label, form in forms.items() if len(form) >= _MIN_SECRET_LENGTH}


def find_secret_leak(text: str, secrets: Iterable[str]) -> str | None:
    """The label of the first secret form found in `text`, or None when it is clean."""
    for secret in secrets:
        if not secret or len(secret) < _MIN_SECRET_LENGTH:
            continue
        for label, form in describe_secret_forms(secret).items():
            if form in text:
                return label
    return None


def ensure_no_secrets(text: str, secrets: Iterable[str], *, what: str) -> None:
    """Refuse to post `text` if it holds a secret.

    Raises:
        SecretLeak: naming what was refused and the form found, never the value.
    """
    label = find_secret_leak(text, secrets)
    if label is not None:
        raise SecretLeak(
            f"refusing to post the {what}: it contains a secret value ({label} form); "
            "nothing was posted"
        )
