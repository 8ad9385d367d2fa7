"""SecretSet: every secret of a run and every encoded form of it; the one masker all output uses.

Built once, where a run starts, from the bearer token and the `TITAN_VAR_*` values (plus what a
command adds, such as a secret payload), then passed explicitly: there is no process-global
registry. Every output path — terminal, logs, tracebacks, plan files, Markdown, the step summary,
outputs, comments, issues, exports — masks through `SecretSet.mask`, and the GitHub guard refuses
text in which `SecretSet.find_leak` still sees a secret. Both use the same list of forms, so a form
masked in one place is never missed in another.
"""

from __future__ import annotations

import base64
import html
import json
import logging
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from titan_gitops.escape import escape_code, escape_json_text, escape_terminal, escape_text

MASK = "***"
# Masking "a" or "12" would shred ordinary text and hide nothing; such values are shown as
# "(sensitive value)" by the renders anyway.
MIN_SECRET_LENGTH = 4
VAR_PREFIX = "TITAN_VAR_"
TOKEN_VARIABLES = ("TITAN_TOKEN",)


def describe_forms(secret: str) -> dict[str, str]:
    """Each form `secret` can take in what we write, keyed by a label that holds no secret."""
    raw = secret.encode()
    standard = base64.b64encode(raw).decode()
    urlsafe = base64.urlsafe_b64encode(raw).decode()
    forms = {
        "verbatim": secret,
        "JSON-escaped": json.dumps(secret)[1:-1],
        "JSON-escaped (UTF-8 kept)": json.dumps(secret, ensure_ascii=False)[1:-1],
        "HTML-escaped": html.escape(secret, quote=True),
        "HTML-escaped (quotes kept)": html.escape(secret, quote=False),
        "Markdown-escaped": escape_text(secret),
        "Markdown-escaped (code)": escape_code(secret),
        "terminal-escaped": escape_terminal(secret),
        "JSON-escaped (controls escaped)": escape_json_text(
            json.dumps(secret, ensure_ascii=False)[1:-1]
        ),
        "URL-encoded": urllib.parse.quote(secret, safe=""),
        "form-encoded": urllib.parse.quote_plus(secret),
        "base64": standard,
        "base64 (unpadded)": standard.rstrip("="),
        "base64url": urlsafe,
        "base64url (unpadded)": urlsafe.rstrip("="),
    }
    return {label: form for label, form in forms.items() if len(form) >= MIN_SECRET_LENGTH}


@dataclass(frozen=True)
class SecretSet:
    """The secrets of one run. Its repr never shows them."""

    values: frozenset[str] = field(default=frozenset(), repr=False)
    # Every form of every value, longest first, so a secret containing another is masked whole.
    _forms: tuple[str, ...] = field(default=(), repr=False, compare=False)

    def __post_init__(self) -> None:
        forms = {f for value in self.values for f in describe_forms(value).values()}
        object.__setattr__(self, "_forms", tuple(sorted(forms, key=lambda f: (-len(f), f))))

    @classmethod
    def of(cls, values: Iterable[str | None]) -> SecretSet:
        """A set of the given values; empty ones and those under the floor are left out."""
        kept: set[str] = set()
        for value in values:
            # A value pasted with a stray newline is still a secret without it.
            for form in (value, value.strip()) if value else ():
                if len(form) >= MIN_SECRET_LENGTH:
                    kept.add(form)
        return cls(frozenset(kept))

    @classmethod
    def from_environ(cls, environ: Mapping[str, str], *, token: str | None = None) -> SecretSet:
        """The token (flag or `TITAN_TOKEN`) and every `TITAN_VAR_*` value of `environ`."""
        values = [token, *(environ.get(name) for name in TOKEN_VARIABLES)]
        values += [v for k, v in environ.items() if k.startswith(VAR_PREFIX)]
        return cls.of(values)

    def with_values(self, values: Iterable[str | None]) -> SecretSet:
        """This set plus `values`."""
        more = SecretSet.of(values).values
        return self if more <= self.values else SecretSet(self.values | more)

    def __bool__(self) -> bool:
        return bool(self.values)

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self.values))

    def __len__(self) -> int:
        return len(self.values)

    def mask(self, text: str) -> str:
        """`text` with every form of every secret replaced by `***`."""
        for form in self._forms:
            if form in text:
                text = text.replace(form, MASK)
        return text

    def find_leak(self, text: str) -> str | None:
        """The label of the first secret form found in `text`, or None when it is clean."""
        for value in sorted(self.values):
            for label, form in describe_forms(value).items():
                if form in text:
                    return label
        return None

    def log_masks(self) -> list[str]:
        """The one-line forms worth a `::add-mask::` in a CI log: each line of each form."""
        forms: set[str] = set()
        for value in self.values:
            for form in (*describe_forms(value).values(), *value.splitlines()):
                for line in form.splitlines() or [form]:
                    if len(line.strip()) >= MIN_SECRET_LENGTH:
                        forms.add(line)
        return sorted(forms)


class MaskingFilter(logging.Filter):
    """A logging filter that masks secrets in the fully formatted message and traceback."""

    def __init__(self, secrets: Callable[[], SecretSet]) -> None:
        super().__init__()
        # Read at each record: a command may learn more secrets after logging was set up.
        self.secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        secrets = self.secrets()
        record.msg = secrets.mask(record.getMessage())
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            text = logging.Formatter().formatException(record.exc_info)
            record.exc_text = secrets.mask(text)
            record.exc_info = None
        return True
