"""The emulator command: `emulator serve` hands its whole command line to the emulator's server."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EmulatorCommandOptions:
    """`titan-gitops emulator serve ARGS...`: the arguments `serve` parses itself."""

    serve_args: tuple[str, ...] = ()


def serve_emulator(options: EmulatorCommandOptions) -> int:
    """Serve the local Titan Task Service emulator over HTTP until stopped."""
    from titan_gitops.emulator.serve import main as serve_main

    return serve_main(list(options.serve_args))
