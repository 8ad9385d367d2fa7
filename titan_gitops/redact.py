"""Masking of secret values (the bearer token, substituted variables) in all we print or write.

Secrets are registered once, where they enter the process (settings, variable substitution); every
output path (CLI messages, debug logs, tracebacks, renders) runs its text through `redact`. The
encoded forms a secret can take in transit (URL-encoded, base64) are masked too.
"""

from __future__ import annotations

import base64
import logging
import threading
import urllib.parse

MASK = "***"
MIN_SECRET_LENGTH = 4  # masking "a" or "12" would shred ordinary text and hide nothing

_lock = threading.Lock()
_secrets: set[str] = set()
_variants: tuple[str, ...] = ()


def _encoded_forms(secret: str) -> set[str]:
    raw = secret.encode()
    forms = {
        secret,
        urllib.parse.quote(secret, safe=""),
        urllib.parse.quote_plus(secret),
        base64.b64encode(raw).decode(),
        base64.urlsafe_b64encode(raw).decode(),
        base64.b64encode(raw).decode().rstrip("="),
    }
    return {f for f in forms if len(f) >= MIN_SECRET_LENGTH}


def register_secret(value: str | None) -> None:
    """Remember a secret so every later `redact` call masks it and its encoded forms."""
    global _variants
    if not value or len(value) < MIN_SECRET_LENGTH:
        return
    with _lock:
        if value in _secrets:
            return
        _secrets.add(value)
        forms: set[str] = set()
        for s in _secrets:
            forms |= _encoded_forms(s)
        # Longest first, so a secret containing another is masked whole.
        _variants = tuple(sorted(forms, key=len, reverse=True))


def registered_secrets() -> frozenset[str]:
    """The raw secrets registered so far (for last-line-of-defence scans)."""
    with _lock:
        return frozenset(_secrets)


def redact(text: str) -> str:
    """Return `text` with every registered secret (and its encodings) replaced by `***`."""
    for form in _variants:
        if form in text:
            text = text.replace(form, MASK)
    return text


class RedactingFilter(logging.Filter):
    """A logging filter that masks secrets in the fully formatted message."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        record.msg = redact(message)
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True
