"""SecretSet: every form of every secret is masked, found by the guard, and never shown by repr."""

from __future__ import annotations

import base64
import html
import io
import json
import logging
import re
import time
import urllib.parse
from pathlib import Path
from typing import Any

import pytest

from titan_gitops.escape import (
    escape_cell,
    escape_code,
    escape_json_text,
    escape_terminal,
    escape_text,
    fence,
)
from titan_gitops.secrets import MASK, MaskingFilter, SecretSet

# Quotes, a backslash and angle brackets: each output medium escapes it differently.
HOSTILE = 'Pa"ss\\wo<rd>99'


@pytest.mark.parametrize(
    "form",
    [
        HOSTILE,
        json.dumps(HOSTILE)[1:-1],
        html.escape(HOSTILE),
        html.escape(HOSTILE, quote=False),
        escape_text(HOSTILE),
        urllib.parse.quote(HOSTILE, safe=""),
        urllib.parse.quote_plus(HOSTILE),
        base64.b64encode(HOSTILE.encode()).decode(),
        base64.urlsafe_b64encode(HOSTILE.encode()).decode().rstrip("="),
    ],
)
def test_every_form_is_masked_and_found(form: str) -> None:
    secrets = SecretSet.of([HOSTILE])
    text = f"before {form} after"
    assert secrets.mask(text) == "before *** after"
    assert secrets.find_leak(text) is not None


def test_a_json_document_holding_the_secret_is_masked_and_stays_json() -> None:
    secrets = SecretSet.of([HOSTILE])
    document = json.dumps({"objective": f"log in with {HOSTILE}"}, indent=2)
    masked = secrets.mask(document)
    assert json.loads(masked) == {"objective": "log in with ***"}


def test_non_ascii_secrets_are_masked_in_both_json_spellings() -> None:
    secret = "mot-de-passe-é"
    secrets = SecretSet.of([secret])
    for text in (json.dumps(secret), json.dumps(secret, ensure_ascii=False)):
        assert secret not in secrets.mask(text)
        assert "\\u00e9" not in secrets.mask(text)


def test_a_secret_containing_another_is_masked_whole() -> None:
    secrets = SecretSet.of(["abcd", "abcd-efgh"])
    assert secrets.mask("x abcd-efgh y abcd") == "x *** y ***"


def test_values_under_the_floor_are_not_masked() -> None:
    secrets = SecretSet.of(["x", "ab", ""])
    assert not secrets
    assert secrets.mask('{"execution_type": "single"}') == '{"execution_type": "single"}'
    assert SecretSet.of(["abcd1234"]).mask("token=abcd1234") == "token=***"


def test_from_environ_takes_the_token_and_every_titan_var() -> None:
    environ = {
        "TITAN_TOKEN": "tok-from-env",
        "TITAN_VAR_A": "first-value",
        "TITAN_VAR_B": "second-value\n",
        "HOME": "/root/home",
    }
    secrets = SecretSet.from_environ(environ, token="tok-from-flag")
    assert {"tok-from-env", "tok-from-flag", "first-value", "second-value"} <= secrets.values
    assert "/root/home" not in secrets.values


def test_with_values_adds_and_keeps_the_original() -> None:
    base = SecretSet.of(["first-value"])
    more = base.with_values(["second-value", None])
    assert set(more) == {"first-value", "second-value"}
    assert set(base) == {"first-value"}
    assert base.with_values(["first-value"]) is base


def test_repr_never_shows_a_secret() -> None:
    secrets = SecretSet.of(["tok-canary-1234"])
    assert "tok-canary-1234" not in repr(secrets)
    assert "tok-canary-1234" not in str(secrets)


def test_log_masks_are_single_lines() -> None:
    forms = SecretSet.of(["line-one\nline-two"]).log_masks()
    assert {"line-one", "line-two"} <= set(forms)
    assert all("\n" not in f for f in forms)


def test_the_logging_filter_masks_messages_arguments_and_tracebacks() -> None:
    current = [SecretSet.of(["first-secret"])]
    record_filter = MaskingFilter(lambda: current[0])
    current[0] = current[0].with_values(["later-secret"])  # read at each record
    try:
        raise ValueError("boom later-secret")
    except ValueError:
        import sys

        info = sys.exc_info()
    record = logging.LogRecord("t", logging.DEBUG, "f", 1, "%s and %s", ("first-secret", 1), info)
    assert record_filter.filter(record)
    assert record.getMessage() == "*** and 1"
    assert record.exc_text is not None
    assert "later-secret" not in record.exc_text


def test_a_saved_plan_file_is_masked_where_it_is_written(tmp_path: Path) -> None:
    from titan_gitops.model import Action, Change, Plan
    from titan_gitops.planfile import write_plan_file

    live_value = "Log in with live-secret-4242."
    change = Change(
        Action.UPDATE, "shop-a", "1 field differs", "t-1", before={"objective": live_value}
    )
    path = tmp_path / "plan.json"
    write_plan_file(path, Plan(changes=(change,)), secrets=SecretSet.of(["live-secret-4242"]))
    saved = json.loads(path.read_text(encoding="utf-8"))
    assert saved["changes"][0]["before"] == {"objective": "Log in with ***."}
    assert not (tmp_path / "plan.json.tmp").exists()


# Every character class an output medium escapes: quotes, backslash, HTML, Markdown, a mention,
# a slash, non-ASCII (Latin-1, BMP, astral), spaces and a tab.
EVERY_FORM = "Ca\"na\\ry <&> 'é' |*_@x/9 €😀\t!"


def yaml_scalar(value: str, style: str, *, allow_unicode: bool) -> str | None:
    """How ruamel.yaml writes `value` quoted in `style`, between the quotes."""
    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=True)
    yaml.default_style = style  # type: ignore[assignment]
    yaml.allow_unicode = allow_unicode
    yaml.width = 100_000
    buffer = io.StringIO()
    yaml.dump(value, buffer)
    text = buffer.getvalue().strip()
    # ruamel.yaml falls back to double quotes where single quotes cannot hold the value.
    return text[1 : text.rindex(style)] if text.startswith(style) else None


def json_forms(value: str) -> set[str]:
    """JSON string bodies as common encoders write them (Python, Go, PHP, browsers)."""
    forms = set()
    for ascii_only in (True, False):
        body = json.dumps(value, ensure_ascii=ascii_only)[1:-1]
        forms |= {body, body.replace("/", "\\/")}
        html_safe = body.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
        forms.add(html_safe.replace("'", "\\u0027"))
        forms.add(re.sub(r"\\u([0-9a-f]{4})", lambda m: "\\u" + m.group(1).upper(), html_safe))
    units = value.encode("utf-16-be")
    forms.add("".join(f"\\u{units[i]:02x}{units[i + 1]:02x}" for i in range(0, len(units), 2)))
    return forms


def independent_forms(value: str) -> dict[str, str]:
    """The forms of `value`, computed without titan_gitops.secrets."""
    quoted = [urllib.parse.quote(value, safe=""), urllib.parse.quote(value)]
    quoted += [urllib.parse.quote_plus(value)]
    lower = [re.sub(r"%[0-9A-F]{2}", lambda m: m.group().lower(), q) for q in quoted]
    forms = {f"json {i}": f for i, f in enumerate(sorted(json_forms(value)))}
    forms |= {f"url {i}": f for i, f in enumerate(quoted + lower)}
    yaml_forms = {
        "yaml double": yaml_scalar(value, '"', allow_unicode=True),
        "yaml double ascii": yaml_scalar(value, '"', allow_unicode=False),
        "yaml single": yaml_scalar(value, "'", allow_unicode=True),
    }
    forms |= {label: form for label, form in yaml_forms.items() if form is not None}
    forms |= {
        "html": html.escape(value),
        "html kept quotes": html.escape(value, quote=False),
        "html decimal": html.escape(value).replace("&#x27;", "&#39;"),
        "markdown": escape_text(value),
        "markdown code": escape_code(value),
        "markdown cell": escape_cell(value),
        "markdown fence": fence(value).split("\n", 1)[1].rsplit("\n", 1)[0],
        "terminal": escape_terminal(value),
        "json text": escape_json_text(json.dumps(value, ensure_ascii=False)[1:-1]),
    }
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        padded = encode(value.encode()).decode()
        forms |= {f"{encode.__name__}": padded, f"{encode.__name__} bare": padded.rstrip("=")}
    return forms


# Single quotes cannot hold a tab, so YAML writes EVERY_FORM double-quoted; this one it need not.
ONE_LINE = EVERY_FORM.replace("\t", " ")


@pytest.mark.parametrize(
    ("value", "label"),
    [(value, label) for value in (EVERY_FORM, ONE_LINE) for label in independent_forms(value)],
)
def test_every_form_of_a_hostile_value_is_masked_and_found(value: str, label: str) -> None:
    form = independent_forms(value)[label]
    secrets = SecretSet.of([value])
    text = f"before {form} after"
    assert secrets.mask(text) == "before *** after", label
    assert secrets.find_leak(text) is not None


def decodes_to_secret(text: str, secret: bytes) -> bool:
    """Whether any base64 run in `text`, read at any of the four offsets, decodes to `secret`."""
    for run in re.findall(r"[A-Za-z0-9+/_=-]+", text):
        for start in range(4):
            chunk = run[start:].rstrip("=")
            chunk = chunk[: len(chunk) - (len(chunk) % 4 == 1)]
            chunk += "=" * (-len(chunk) % 4)
            for altchars in (b"+/", b"-_"):
                try:
                    decoded = base64.b64decode(chunk, altchars=altchars)
                except ValueError:
                    continue
                if secret in decoded:
                    return True
    return False


@pytest.mark.parametrize("before", [b"", b"u", b"us", b"use", b"user:"])
@pytest.mark.parametrize("after", [b"", b"!", b"!!", b"!!!"])
@pytest.mark.parametrize("encode", [base64.b64encode, base64.urlsafe_b64encode])
def test_a_secret_inside_a_longer_base64_run_is_masked_at_every_offset(
    before: bytes, after: bytes, encode: Any
) -> None:
    secret = "s3cr3t-p4ss\u00e9>?~"
    blob = encode(before + secret.encode() + after).decode()
    assert decodes_to_secret(blob, secret.encode())
    secrets = SecretSet.of([secret])
    masked = secrets.mask(f"Authorization: Basic {blob}")
    assert MASK in masked
    assert not decodes_to_secret(masked, secret.encode())
    assert secrets.find_leak(blob) is not None


def test_overlapping_secrets_are_masked_as_one_run() -> None:
    secrets = SecretSet.of(["abcd-1234", "1234-wxyz"])
    assert secrets.mask("x abcd-1234-wxyz y") == "x *** y"
    assert secrets.mask("1234-wxyz abcd-1234") == "*** ***"


def test_masking_a_megabyte_with_twenty_secrets_is_fast_and_linear() -> None:
    values = [f"{EVERY_FORM}-{index:02d}-{'k' * index}" for index in range(20)]
    secrets = SecretSet.of(values)
    secrets.mask("warm up")
    filler = "".join(chr(32 + (i * 7919) % 90) for i in range(4096))
    chunk = filler + base64.b64encode(values[3].encode()).decode() + json.dumps(values[7])
    timings = []
    for size in (1, 2):
        text = chunk * (size * 1_000_000 // len(chunk))
        started = time.perf_counter()
        masked = secrets.mask(text)
        timings.append(time.perf_counter() - started)
        assert secrets.find_leak(masked) is None
    assert timings[0] < 2.0, timings
    assert timings[1] < timings[0] * 3 + 0.05, timings


def test_find_leak_names_the_form_never_the_value() -> None:
    secrets = SecretSet.of([EVERY_FORM])
    form = yaml_scalar(EVERY_FORM, '"', allow_unicode=False)
    label = secrets.find_leak(f"key: {form}")
    assert label is not None
    assert EVERY_FORM not in label
    assert secrets.find_leak("nothing here at all") is None
