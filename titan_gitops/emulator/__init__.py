"""The local Titan Task Service emulator: an independent reading of the API as a WSGI app.

It imports nothing from the rest of titan_gitops. Use it in-process through any WSGI transport,
or serve it over HTTP with `python -m titan_gitops.emulator` (see serve.py and README.md).
"""

from __future__ import annotations

from titan_gitops.emulator.app import EmulatorApp, create_app
from titan_gitops.emulator.backend import SERVER_DEFAULTS
from titan_gitops.emulator.clock import Clock
from titan_gitops.emulator.config import EmulatorConfig

__all__ = ["SERVER_DEFAULTS", "Clock", "EmulatorApp", "EmulatorConfig", "create_app"]
