"""SecretSet: every form of every secret is masked, found by the guard, and never shown by repr."""

from __future__ import annotations

import base64
import html
import json
import logging
import urllib.parse
from pathlib import Path

import pytest

from titan_gitops.escape import escape_text
from titan_gitops.secrets import MaskingFilter, SecretSet

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
