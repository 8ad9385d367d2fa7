"""SecretSet at its edges: the length floors, secrets sharing long prefixes, the set itself."""

from __future__ import annotations

import base64
import dataclasses

import pytest

from titan_gitops.secrets import MASK, SecretSet


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
