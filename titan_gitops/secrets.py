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
import functools
import html
import json
import logging
import re
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from titan_gitops.escape import (
    escape_cell,
    escape_code,
    escape_json_text,
    escape_terminal,
    escape_text,
    fence,
)

MASK = "***"
# Masking "a" or "12" would shred ordinary text and hide nothing; such values are shown as
# "(sensitive value)" by the renders anyway, and `validate` warns about them.
MIN_SECRET_LENGTH = 4
# A secret inside a longer base64 run is found by the characters only it decides; fewer than
# six of them (36 bits) would match ordinary base64 by chance and make the guard refuse a post.
BASE64_CORE_LENGTH = 6
VAR_PREFIX = "TITAN_VAR_"
TOKEN_VARIABLES = ("TITAN_TOKEN",)

# What `json.dumps` leaves raw but HTML-safe encoders write as `\u` escapes (Go: `<>&`; Rails
# and browsers' serialisers: the apostrophe too).
_JSON_HTML_SAFE = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"}
_HEX_ESCAPE = re.compile(r"\\u([0-9a-f]{4})")
_PERCENT = re.compile(r"%[0-9A-F]{2}")
# RFC 3986 characters allowed unencoded in a path segment, as HTTP clients leave them.
_PATH_SAFE = "/:@!$&'()*+,;="
_YAML_NAMED = {
    "\0": "0", "\a": "a", "\b": "b", "\t": "t", "\n": "n", "\v": "v", "\f": "f", "\r": "r",
    "\x1b": "e", '"': '"', "\\": "\\", "\x85": "N", "\xa0": "_", "\u2028": "L", "\u2029": "P",
}  # fmt: skip


def _json_forms(secret: str) -> dict[str, str]:
    """JSON string bodies as Python, Go, PHP and browser encoders write them."""
    forms: dict[str, str] = {}
    for kept, ascii_only in (("", True), (" (UTF-8 kept)", False)):
        body = json.dumps(secret, ensure_ascii=ascii_only)[1:-1]
        html_safe = body
        for char, escaped in _JSON_HTML_SAFE.items():
            html_safe = html_safe.replace(char, escaped)
        forms[f"JSON-escaped{kept}"] = body
        forms[f"JSON-escaped{kept}, slashes escaped"] = body.replace("/", "\\/")
        for quotes, safe in (("", html_safe), (" and quotes", html_safe.replace("'", "\\u0027"))):
            forms[f"JSON-escaped{kept}, HTML-safe{quotes}"] = safe
            forms[f"JSON-escaped{kept}, HTML-safe{quotes}, upper-case hex"] = _HEX_ESCAPE.sub(
                lambda m: "\\u" + m.group(1).upper(), safe
            )
        forms[f"JSON-escaped{kept}, controls escaped"] = escape_json_text(body)
    units = secret.encode("utf-16-be", "surrogatepass")
    forms["JSON-escaped, every character"] = "".join(
        f"\\u{units[i]:02x}{units[i + 1]:02x}" for i in range(0, len(units), 2)
    )
    return forms


def _yaml_double_quoted(secret: str, *, ascii_only: bool) -> str:
    """The body of a double-quoted YAML scalar as ruamel.yaml and PyYAML write it."""
    out = []
    for char in secret:
        printable = " " <= char <= "~" or (
            not ascii_only
            and ("\xa0" <= char <= "\ud7ff" or "\ue000" <= char <= "\ufffd" or char >= "\U00010000")
        )
        if printable and char not in '"\\\x85\u2028\u2029\ufeff':
            out.append(char)
        elif char in _YAML_NAMED:
            out.append("\\" + _YAML_NAMED[char])
        elif char <= "\xff":
            out.append(f"\\x{ord(char):02X}")
        elif char <= "\uffff":
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(f"\\U{ord(char):08X}")
    return "".join(out)


def _markup_forms(secret: str) -> dict[str, str]:
    """YAML, HTML, Markdown and terminal escapes: every escaper our outputs use."""
    fenced = fence(secret)
    return {
        "YAML double-quoted": _yaml_double_quoted(secret, ascii_only=False),
        "YAML double-quoted (ASCII)": _yaml_double_quoted(secret, ascii_only=True),
        "YAML single-quoted": secret.replace("'", "''"),
        "HTML-escaped": html.escape(secret, quote=True),
        "HTML-escaped (decimal entities)": html.escape(secret, quote=True).replace(
            "&#x27;", "&#39;"
        ),
        "HTML-escaped (quotes kept)": html.escape(secret, quote=False),
        "Markdown-escaped": escape_text(secret),
        "Markdown-escaped (code)": escape_code(secret),
        "Markdown-escaped (table cell)": escape_cell(secret),
        "Markdown-escaped (code block)": fenced[fenced.index("\n") + 1 : fenced.rindex("\n")],
        "terminal-escaped": escape_terminal(secret),
    }


def _url_forms(secret: str) -> dict[str, str]:
    """Percent-encoded as a query value, a form field and a path, in both hex cases."""
    forms = {
        "URL-encoded": urllib.parse.quote(secret, safe=""),
        "URL-encoded (slashes kept)": urllib.parse.quote(secret),
        "URL-encoded (path)": urllib.parse.quote(secret, safe=_PATH_SAFE),
        "form-encoded": urllib.parse.quote_plus(secret),
    }
    lower = {f"{label} (lower-case hex)": _PERCENT.sub(lambda m: m.group().lower(), form)
             for label, form in forms.items()}  # fmt: skip
    return forms | lower


def _base64_forms(secret: str) -> dict[str, str]:
    """Standard and URL-safe base64, padded or not, and the part of it any offset keeps."""
    forms: dict[str, str] = {}
    raw = secret.encode("utf-8", "surrogatepass")
    for name, encode in (("base64", base64.b64encode), ("base64url", base64.urlsafe_b64encode)):
        whole = encode(raw).decode()
        forms[name] = whole
        forms[f"{name} (unpadded)"] = whole.rstrip("=")
        for offset in range(3):
            # Inside a longer run the value's bytes share their first and last characters with
            # the bytes around them; the characters between depend on the value alone.
            data = b"\0" * offset + raw
            full = len(data) // 3
            keep = full * 4 + (0, 1, 2)[len(data) - full * 3]
            core = encode(data).decode()[(0, 2, 3)[offset] : keep]
            if len(core) >= BASE64_CORE_LENGTH:
                forms[f"{name} (inside a longer run, offset {offset})"] = core
    return forms


def describe_forms(secret: str) -> dict[str, str]:
    """Each form `secret` can take in what we write, keyed by a label that holds no secret."""
    forms = {"verbatim": secret}
    for more in (_json_forms, _markup_forms, _url_forms, _base64_forms):
        forms |= more(secret)
    return {label: form for label, form in forms.items() if len(form) >= MIN_SECRET_LENGTH}


def _alternation(forms: Iterable[str]) -> str:
    """One regular expression matching every form, longest first, as a trie of shared prefixes.

    A flat alternation tries every form at every position; the trie tries one branch per
    character, so masking stays linear in the text whatever the number of secrets.
    """
    trie: dict[str, dict] = {}  # type: ignore[type-arg]
    for form in forms:
        node = trie
        for char in form:
            node = node.setdefault(char, {})
        node[""] = {}
    return _trie_pattern(trie)


# Deeper than this, the rest of a branch is one flat alternation: the regular expression
# compiler recurses once per nested group and would overflow on hundreds of nested prefixes.
_MAX_NESTING = 32


def _trie_pattern(node: dict[str, dict], depth: int = 0) -> str:  # type: ignore[type-arg]
    if depth >= _MAX_NESTING:
        return _flat_pattern(node)
    branches = []
    for char in sorted(k for k in node if k):
        text, child = char, node[char]
        # A chain of single children is one literal: the pattern nests only where forms part.
        while len(child) == 1 and "" not in child:
            ((step, child),) = child.items()
            text += step
        branches.append(re.escape(text) + _trie_pattern(child, depth + 1))
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    # Greedy: a longer form through this node is preferred to the one ending here.
    return f"(?:{body})?" if "" in node else body


def _flat_pattern(node: dict[str, dict]) -> str:  # type: ignore[type-arg]
    """Every suffix under `node` as one alternation, longest first, walked without recursion."""
    suffixes, stack = [], [("", node)]
    while stack:
        text, current = stack.pop()
        stack += [(text + char, child) for char, child in current.items() if char]
        if "" in current:
            suffixes.append(text)
    ordered = sorted(suffixes, key=lambda suffix: (-len(suffix), suffix))
    return "(?:" + "|".join(re.escape(suffix) for suffix in ordered) + ")"


@functools.lru_cache(maxsize=32)
def _compile_forms(values: frozenset[str]) -> tuple[re.Pattern[str] | None, dict[str, str]]:
    """The pattern of every form of `values` and each form's label (cached: sets are rebuilt)."""
    labels: dict[str, str] = {}
    for value in sorted(values):
        for label, form in describe_forms(value).items():
            labels.setdefault(form, label)
    if not labels:
        return None, labels
    return re.compile(_alternation(labels)), labels


@dataclass(frozen=True)
class SecretSet:
    """The secrets of one run. Its repr never shows them."""

    values: frozenset[str] = field(default=frozenset(), repr=False)

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
        """`text` with every run covered by any form of any secret replaced by one `***`.

        Overlapping forms (two secrets sharing characters, a secret inside another's encoding)
        are masked as their union, so no part of either is left showing.
        """
        pattern, _ = _compile_forms(self.values)
        found = pattern.search(text) if pattern else None
        if pattern is None or found is None:
            return text
        parts, shown = [], 0
        while found is not None:
            start, end = found.span()
            found = pattern.search(text, start + 1)
            while found is not None and found.start() < end:
                end = max(end, found.end())
                found = pattern.search(text, found.start() + 1)
            parts += [text[shown:start], MASK]
            shown = end
        parts.append(text[shown:])
        return "".join(parts)

    def find_leak(self, text: str) -> str | None:
        """The label of the first secret form found in `text`, or None when it is clean."""
        pattern, labels = _compile_forms(self.values)
        found = pattern.search(text) if pattern else None
        return labels[found.group()] if found else None

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
