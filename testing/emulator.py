"""Serving the emulator for tests and benches: in a daemon thread, or as a `serve` child process."""

from __future__ import annotations

import re
import subprocess
import sys
import threading

from titan_gitops.emulator.serve import LISTENING, EmulatorServer, WSGIApp

# The line `serve` prints once its socket is bound; its URL is what callers connect to.
_LISTENING_LINE = re.compile(re.escape(LISTENING.split("{url}")[0]) + r"(http://\S+)")


def start_background_server(
    app: WSGIApp, host: str = "127.0.0.1", port: int = 0
) -> tuple[EmulatorServer, str]:
    """Serve `app` from a daemon thread; returns the server and its base URL."""
    server = EmulatorServer((host, port), app)
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.05},
        name="titan-emulator",
        daemon=True,
    )
    thread.start()
    return server, server.base_url


def spawn_server(
    *args: str,
    module: str = "titan_gitops",
    cwd: str | None = None,
    env: dict[str, str] | None = None,
) -> tuple[subprocess.Popen[str], str, list[str]]:
    """`emulator serve --port 0 ARGS` in a child process, once it is listening.

    `module` is the entry point run with `python -m` (`titan_gitops`, or `titan_gitops.emulator`).
    Returns the process (stdout and stderr piped), its base URL and the stderr lines read so far.

    Raises:
        RuntimeError: the server exited before listening; the message holds what it printed.
    """
    entry = ["emulator", "serve"] if module == "titan_gitops" else ["serve"]
    process = subprocess.Popen(
        [sys.executable, "-m", module, *entry, "--port", "0", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    lines: list[str] = []
    for line in process.stderr:
        lines.append(line)
        found = _LISTENING_LINE.search(line)
        if found:
            return process, found.group(1), lines
    process.kill()
    _, rest = process.communicate(timeout=10)
    raise RuntimeError("emulator serve did not start: " + ("".join(lines) + rest).strip())
