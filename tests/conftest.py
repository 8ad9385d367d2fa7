"""Guards for every test: a clean TITAN_*/CI environment, and no network beyond loopback."""

from __future__ import annotations

import atexit
import ipaddress
import os
import shutil
import signal
import socket
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest

# A suite started in the background by a shell without job control (`cmd &`, CI runners) inherits
# SIGINT ignored, and so would every process it starts: an emulator or CLI a test stops with
# Ctrl-C would never see it. Children get the default disposition back from this one.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

_CLEARED = (
    "TITAN_API_URL",
    "TITAN_TOKEN",
    "TITAN_AUTH_HEADER",
    "TITAN_SELFTEST_READ_TOKEN",
    "CI",
    "GITHUB_ACTIONS",
    "TITAN_GITOPS_CACHE",
)

# CI runners set CI and GITHUB_ACTIONS for the whole job. Cleared once for the session, before any
# fixture of any scope runs (module fixtures come before the per-test guard below), and again per
# test for what a test sets itself.
for _name in _CLEARED:
    os.environ.pop(_name, None)

# The validated-definitions cache of every command a test runs (in process or not) goes to a
# folder of this session's own, never the user's, removed when the session ends.
_CACHE_FOLDER = tempfile.mkdtemp(prefix="titan-gitops-test-cache-")
os.environ["TITAN_GITOPS_CACHE_DIR"] = _CACHE_FOLDER
atexit.register(shutil.rmtree, _CACHE_FOLDER, ignore_errors=True)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-goldens",
        action="store_true",
        default=False,
        help="rewrite the expected files of the golden scenarios",
    )


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _CLEARED:
        monkeypatch.delenv(name, raising=False)
    for name in list(os.environ):
        if name.startswith("TITAN_VAR_"):
            monkeypatch.delenv(name, raising=False)


def _is_local(address: Any) -> bool:
    if isinstance(address, str | bytes):  # a unix socket path
        return True
    host = address[0]
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def _loopback_only() -> Iterator[None]:
    """Refuse any connection that would leave the machine: tests talk to loopback only."""
    original = socket.socket.connect

    def guarded(self: socket.socket, address: Any) -> None:
        if not _is_local(address):
            raise RuntimeError(f"test tried to reach {address!r}: only loopback is allowed")
        original(self, address)

    socket.socket.connect = guarded  # type: ignore[method-assign, assignment]
    try:
        yield
    finally:
        socket.socket.connect = original  # type: ignore[method-assign]
