"""YAML 1.1 traps: plain scalars that other YAML tools (1.1 readers, 1.2's JSON schema) read
differently from the YAML 1.2 reading titan-gitops uses, and the warning that says so."""

from __future__ import annotations

import re

# The spellings YAML 1.1 reads as booleans; any other casing of these words warns more softly.
_YAML11_TRUE = frozenset(("y", "Y", "yes", "Yes", "YES", "on", "On", "ON"))
_YAML11_FALSE = frozenset(("n", "N", "no", "No", "NO", "off", "Off", "OFF"))
_BOOL_WORDS = {"y": True, "yes": True, "on": True, "n": False, "no": False, "off": False}
_NUMBER_WORDS = frozenset(("inf", "infinity", "nan"))
_LONGEST_WORD = len("+infinity")
# A plain scalar read as text can be a trap only when it starts with one of these: a boolean word
# (y, yes, on, off, n, no), a number word (inf, infinity, nan, signed) or a base-60 number.
TEXT_TRAP_FIRST = frozenset("yYoOnNiI+-0123456789")

# YAML 1.1's base-60 integers and floats (`1:30` is 90 there, text in YAML 1.2).
_SEXAGESIMAL = re.compile(
    r"[-+]?(?:[1-9][0-9_]*(?::[0-5]?[0-9])+|[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*)"
)
_LEADING_ZERO = re.compile(r"[-+]?0[0-9_]*[0-9][0-9_]*")
_OCTAL_DIGITS = re.compile(r"[-+]?0[0-7_]+")
_PREFIXED = re.compile(r"[-+]?0([oOxXbB])")
_EXPONENT_NO_DOT = re.compile(r"[-+]?[0-9_]+[eE][-+]?[0-9]+")


def _hint(text: str, reading: str, other: str) -> str:
    return f'{text} is read as {reading} here; {other}. Quote it ("{text}") if you mean the text'


def _text_trap(text: str) -> str | None:
    if len(text) <= _LONGEST_WORD:
        word = text.lower()
        if word in _BOOL_WORDS:
            meaning = "true" if _BOOL_WORDS[word] else "false"
            who = "YAML 1.1 tools" if text in _YAML11_TRUE | _YAML11_FALSE else "some YAML tools"
            message = _hint(text, f'the text "{text}"', f"{who} read it as {meaning}")
            return f"{message}, or write {meaning} for a boolean"
        if word.lstrip("+-") in _NUMBER_WORDS:
            return _hint(text, f'the text "{text}"', "some tools read it as a number")
    if ":" in text and text[0] in "+-0123456789" and _SEXAGESIMAL.fullmatch(text):
        number = _base60(text)
        return _hint(text, f'the text "{text}"', f"YAML 1.1 tools read it as the number {number}")
    return None


def _base60(text: str) -> int | float:
    sign = -1 if text.startswith("-") else 1
    total: float = 0
    for part in text.lstrip("+-").replace("_", "").split(":"):
        total = total * 60 + float(part)
    value = sign * total
    return int(value) if "." not in text else value


def _number_trap(text: str, value: float) -> str | None:
    reading = f"the number {value}"
    prefixed = _PREFIXED.match(text)
    if prefixed is not None:
        if prefixed.group(1) in "oO":
            return _hint(text, reading, f'YAML 1.1 tools read it as the text "{text}"')
        return _hint(text, reading, f'some YAML tools read it as the text "{text}"')
    if isinstance(value, int) and _LEADING_ZERO.fullmatch(text):
        if _OCTAL_DIGITS.fullmatch(text):
            octal = int(text.replace("_", ""), 8)
            return _hint(text, reading, f"YAML 1.1 tools read it as {octal}")
        return _hint(text, reading, f'YAML 1.1 tools read it as the text "{text}"')
    if "_" in text:
        return _hint(text, reading, f'some YAML tools read it as the text "{text}"')
    if isinstance(value, float) and _EXPONENT_NO_DOT.fullmatch(text):
        return _hint(text, reading, f'YAML 1.1 tools read it as the text "{text}"')
    return None


def describe_trap(text: str, value: object) -> str | None:
    """Why the plain scalar `text`, read here as `value`, means something else to other tools.

    None when every YAML reader agrees. Only plain scalars can be traps: the caller never asks
    about quoted or block ones.
    """
    if not text:
        return None
    if isinstance(value, str):
        return _text_trap(text)
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return _number_trap(text, value)
    if value is None and text == "~":
        message = _hint(text, "null", 'some YAML tools read it as the text "~"')
        return f"{message}, or write null"
    return None
