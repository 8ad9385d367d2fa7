"""SecretSet at its edges: the length floors, secrets sharing long prefixes, the set itself."""

from __future__ import annotations

import base64
import dataclasses
import logging

import pytest

from tests.unit.test_secrets import independent_forms
from titan_gitops.secrets import MASK, MaskingFilter, SecretSet

# Each value takes every branch of some escaper: C0 and C1 controls, DEL, line and paragraph
# separators, a no-break space, a byte-order mark, private-use and astral characters, quotes,
# slashes, HTML specials and a mention. Each is used by one test only: the forms of a set are
# computed once and cached, so a value shared with another test would be checked there, not here.
ESCAPER_VALUES = {
    "non-ASCII": "Pé\"/<\x7f\x85\u2028\xa0\ufeffＡ😀'&\\x @team",
    "ASCII controls": "a\"/<\x7f'&\\b\x01\x1b\a\x0b\x0c\r\0z",
    "edges of the printable ranges": "x\u2029\ud7ff\ue000\ufffd\U0010fffd y",
}


@pytest.mark.parametrize("value", ESCAPER_VALUES.values(), ids=list(ESCAPER_VALUES))
def test_every_encoded_form_of_an_odd_value_is_masked_whole(value: str) -> None:
    secrets = SecretSet.of([value])
    shown = {
        label: masked
        for label, form in independent_forms(value).items()
        if (masked := secrets.mask(f"before {form} after")) != f"before {MASK} after"
    }
    assert shown == {}


def test_a_four_character_value_is_the_shortest_that_is_masked() -> None:
    secrets = SecretSet.of(["abc", "wxyz"])
    assert set(secrets) == {"wxyz"}
    assert secrets.mask("abc wxyz") == f"abc {MASK}"


@pytest.mark.parametrize("before", [b"", b"u", b"us"])
def test_a_five_byte_secret_inside_a_longer_base64_run_is_masked_at_every_offset(
    before: bytes,
) -> None:
    # Five bytes leave exactly six base64 characters that only the secret decides: the
    # shortest core the guard looks for inside a longer run.
    secret = "k3y!9"
    blob = base64.b64encode(before + secret.encode() + b"~and-the-rest").decode()
    assert base64.b64encode(secret.encode()).decode().rstrip("=") not in blob
    secrets = SecretSet.of([secret])
    assert MASK in secrets.mask(f"Authorization: Basic {blob}")
    assert secrets.find_leak(blob) is not None


def test_many_secrets_sharing_a_long_prefix_are_each_masked_whole() -> None:
    # Forty values, each one character longer than the last: their shared prefixes nest
    # deeper than the masking pattern nests groups, so the deepest part is matched flat.
    values = ["deep-" + "1" * count for count in range(1, 41)]
    values += ["deep-" + "1" * count + "0" for count in range(1, 41)]
    secrets = SecretSet.of(values)
    for value in (values[39], values[34], values[-1], values[-5]):
        assert secrets.mask(f"<{value}>") == f"<{MASK}>", value
        assert secrets.find_leak(f"<{value}>") is not None
    # Longest first: the whole run is masked, not a shorter secret at its start.
    assert secrets.mask("x deep-" + "1" * 40 + "0 y") == f"x {MASK} y"
    assert secrets.mask("x deep-" + "1" * 40 + "2 y") == f"x {MASK}2 y"
    assert secrets.mask("x deep-2 y") == "x deep-2 y"


def test_the_set_counts_its_distinct_values_and_cannot_be_changed() -> None:
    secrets = SecretSet.of(["first-value", "second-value", "first-value", "  first-value  "])
    # A pasted value is kept as written and stripped; duplicates count once.
    assert len(secrets) == 3
    assert list(secrets) == sorted(secrets.values)
    with pytest.raises(dataclasses.FrozenInstanceError):
        secrets.values = frozenset()  # type: ignore[misc]
    assert hash(secrets) == hash(SecretSet.of(["  first-value  ", "second-value"]))


def test_secrets_overlapping_one_character_apart_are_masked_as_one_run() -> None:
    # Each secret starts one character after the one before and runs past its end: the
    # masked run is their union, with nothing of the last one left showing.
    assert SecretSet.of(["abcd", "bcdefg"]).mask("<abcdefg>") == f"<{MASK}>"
    assert SecretSet.of(["abcd", "bcde", "cdefgh"]).mask("<abcdefgh>") == f"<{MASK}>"
    assert SecretSet.of(["abcd", "bcde", "cdefgh"]).mask("abcd bcde") == f"{MASK} {MASK}"


def test_a_logged_exception_that_was_never_raised_is_masked_too() -> None:
    # `logger.error(..., exc_info=error)` with an exception built but never raised: it has no
    # traceback, and its message still holds the secret.
    secrets = SecretSet.of(["tok-canary-1234"])
    error = ValueError("refused tok-canary-1234")
    record = logging.LogRecord("t", logging.ERROR, "f", 1, "call failed", None, None)
    record.exc_info = (ValueError, error, None)
    assert MaskingFilter(lambda: secrets).filter(record)
    # What a handler gets: the masked text only, never the exception to render again.
    assert record.exc_info is None
    shown = logging.Formatter().format(record)
    assert "tok-canary-1234" not in shown
    assert shown == f"call failed\nValueError: refused {MASK}"


def test_a_record_without_an_exception_keeps_none() -> None:
    secrets = SecretSet.of(["tok-canary-1234"])
    record = logging.LogRecord("t", logging.INFO, "f", 1, "sent %s", ("tok-canary-1234",), None)
    assert MaskingFilter(lambda: secrets).filter(record)
    assert (record.getMessage(), record.exc_info, record.exc_text) == (f"sent {MASK}", None, None)
