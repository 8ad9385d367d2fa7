"""Serving the emulator over HTTP: a keep-alive stdlib server adapting requests to the WSGI app.

`serve` choices where the docs are silent:
- It listens on loopback (127.0.0.1) unless `--public` is given (then 0.0.0.0 by default); a
  non-loopback `--host` without `--public` is refused.
- With no `--token`, it runs in open-access mode (no token needed, every scope) and says so in
  one line on stderr. `--public` without a `--token` is refused: an open service on the network
  is never the default.
- `--token TOKEN` grants every scope; `--token TOKEN=tasks:read,data:read` only those.
- Without `--db`, state lives in memory and is gone when the server stops.
- One line "Titan emulator listening on http://HOST:PORT" goes to stderr; per-request lines only
  with `--verbose`. Ctrl-C (or SIGTERM) stops it cleanly with exit code 0.
- `--faults FILE` (JSON, or YAML for .yaml/.yml) arms fault rules at start; a bad file is one
  line naming the file and the rule, exit code 1 (bad flags stay exit code 2, as argparse's).
  `--fault-seed N` seeds the draws of rules with a `fraction`.
- `--preview-quota N` sets the daily preview quota per caller (default 50; see previews.py).
- `--admin-token TOKEN` turns on the `/_emulator/` admin routes (see admin.py); without it they
  do not exist. The token is never printed.

The server speaks HTTP/1.1 with keep-alive, disables Nagle's algorithm and writes status line,
headers and body in one send (otherwise every keep-alive request waits ~40 ms for a delayed
ACK). An app raising DropConnection gets the socket closed with no response written.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import ipaddress
import logging
import signal
import socket
import sys
import threading
from collections.abc import Callable, Iterable, Sequence
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType
from typing import Any
from urllib.parse import unquote, urlsplit

from titan_gitops.emulator.app import MAX_BODY_BYTES, EmulatorApp, create_app
from titan_gitops.emulator.config import DEFAULT_PREVIEW_QUOTA, EmulatorConfig
from titan_gitops.emulator.errors import DropConnection
from titan_gitops.emulator.faults import FaultRule, load_fault_file
from titan_gitops.emulator.flags import (
    MAX_SEED,
    parse_count,
    parse_port,
    parse_seconds,
    parse_token,
)

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
LISTENING = "Titan emulator listening on {url}"
_TOO_LARGE = (
    b'{"success": false, "error": {"code": "BAD_REQUEST", "message": "body: too large or its '
    b'length is unreadable"}}'
)


class WSGIRequestHandler(BaseHTTPRequestHandler):
    """Adapts one HTTP/1.1 request at a time on a keep-alive connection to the WSGI app."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "TitanEmulator/1"
    # Idle keep-alive connections are closed after this many seconds, freeing their thread.
    timeout = 300
    server: EmulatorServer

    def do_GET(self) -> None:
        """Serve GET."""
        self.run_app()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    def run_app(self) -> None:
        """Read the body, call the app, and write its answer in one buffer."""
        body = self.read_body()
        if body is None:
            self.close_connection = True
            self.write_response(
                "400 Bad Request", [("Content-Type", "application/json")], _TOO_LARGE
            )
            return
        captured: dict[str, Any] = {}

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Callable[[bytes], None]:
            captured["status"], captured["headers"] = status, headers
            return lambda _data: None

        try:
            result = self.server.app(self.build_environ(body), start_response)
            try:
                payload = b"".join(result)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
        except DropConnection:
            self.drop_connection()
            return
        self.write_response(captured["status"], captured["headers"], payload)

    def read_body(self) -> bytes | None:
        """The request body (Content-Length or chunked); None when too large or unreadable."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self.read_chunked()
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            return None
        if length < 0 or length > MAX_BODY_BYTES:
            return None
        return self.rfile.read(length) if length else b""

    def read_chunked(self) -> bytes | None:
        """Decode a chunked body, refusing one over MAX_BODY_BYTES."""
        parts: list[bytes] = []
        size = 0
        while True:
            line = self.rfile.readline(1024)
            try:
                chunk = int(line.split(b";")[0].strip() or b"x", 16)
            except ValueError:
                return None
            if chunk == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass  # trailers are read and ignored
                return b"".join(parts)
            size += chunk
            if size > MAX_BODY_BYTES:
                return None
            parts.append(self.rfile.read(chunk))
            self.rfile.readline(3)

    def build_environ(self, body: bytes) -> dict[str, Any]:
        """The PEP 3333 environ for the current request."""
        target = self.path
        if "://" in target.split("?", 1)[0]:
            split = urlsplit(target)
            target = split.path + (f"?{split.query}" if split.query else "")
        path, _, query = target.partition("?")
        host, port = self.server.server_address[:2]
        environ: dict[str, Any] = {
            "REQUEST_METHOD": self.command,
            "SCRIPT_NAME": "",
            "PATH_INFO": unquote(path, "latin-1"),
            "QUERY_STRING": query,
            "SERVER_NAME": str(host),
            "SERVER_PORT": str(port),
            "SERVER_PROTOCOL": self.request_version,
            "REMOTE_ADDR": self.client_address[0],
            "REMOTE_PORT": str(self.client_address[1]),
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        if self.headers.get("Content-Type"):
            environ["CONTENT_TYPE"] = self.headers["Content-Type"]
        for name, value in self.headers.items():
            key = "HTTP_" + name.upper().replace("-", "_")
            if key in ("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"):
                continue
            environ[key] = f"{environ[key]},{value}" if key in environ else value
        return environ

    def write_response(self, status: str, headers: list[tuple[str, str]], body: bytes) -> None:
        """Status line, headers and body in a single write."""
        lines = [f"{self.protocol_version} {status}"]
        names = {name.lower() for name, _ in headers}
        lines.extend(f"{name}: {value}" for name, value in headers if name.lower() != "connection")
        if "content-length" not in names:
            lines.append(f"Content-Length: {len(body)}")
        lines.append(f"Date: {formatdate(usegmt=True)}")
        lines.append(f"Server: {self.server_version}")
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")
        self.wfile.write(head if self.command == "HEAD" else head + body)

    def drop_connection(self) -> None:
        """Close the socket without a response (the connection-reset fault)."""
        self.close_connection = True
        # The peer may already be gone; closing is all that matters.
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def log_message(self, format: str, *args: Any) -> None:
        """Route the stdlib's own lines (errors only: access lines come from the app)."""
        logging.getLogger("titan_gitops.emulator").debug(format, *args)


class EmulatorServer(ThreadingHTTPServer):
    """A threaded HTTP server bound to one WSGI app; `shutdown()` also closes its socket."""

    daemon_threads = True
    # Idle keep-alive threads must not hold up stopping the server.
    block_on_close = False

    def __init__(self, address: tuple[str, int], app: WSGIApp) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, WSGIRequestHandler)
        self.app = app

    def shutdown(self) -> None:
        """Stop serve_forever and release the listening socket."""
        super().shutdown()
        self.server_close()

    @property
    def base_url(self) -> str:
        """http://HOST:PORT of the bound socket."""
        host, port = self.server_address[:2]
        text = host.decode() if isinstance(host, bytes) else str(host)
        shown = f"[{text}]" if ":" in text else text
        return f"http://{shown}:{port}"


def build_parser() -> argparse.ArgumentParser:
    """The `serve` command line."""
    parser = argparse.ArgumentParser(
        prog="titan-gitops emulator serve",
        description="Serve the local Titan Task Service emulator over HTTP.",
    )
    parser.add_argument("--host", help="address to bind (default 127.0.0.1; 0.0.0.0 if --public)")
    parser.add_argument(
        "--port", type=parse_port, default=8080, help="port (default 8080; 0 = any)"
    )
    parser.add_argument("--db", metavar="PATH", help="SQLite state file (default: in memory)")
    parser.add_argument(
        "--token",
        action="append",
        type=parse_token,
        default=[],
        metavar="TOKEN[=SCOPE,...]",
        help="accept this token (repeatable); without scopes it has all of them; "
        "with no --token at all, no token is needed (open access)",
    )
    parser.add_argument("--templates", metavar="FILE", help="JSON or YAML file of extra templates")
    parser.add_argument(
        "--rate-limit",
        type=parse_count(1),
        metavar="N",
        help="requests per minute per caller (default off)",
    )
    parser.add_argument(
        "--preview-quota",
        type=parse_count(0),
        default=DEFAULT_PREVIEW_QUOTA,
        metavar="N",
        help=f"previews per caller per UTC day (default {DEFAULT_PREVIEW_QUOTA}; 0 refuses all)",
    )
    parser.add_argument(
        "--execution-seconds",
        type=parse_seconds,
        default=1.0,
        metavar="S",
        help="how long an execution takes (default 1.0)",
    )
    parser.add_argument(
        "--faults", metavar="FILE", help="JSON or YAML file of fault rules armed at start"
    )
    parser.add_argument(
        "--fault-seed",
        type=parse_count(0, MAX_SEED),
        default=0,
        metavar="N",
        help="seed for fault rules with a fraction (default 0)",
    )
    parser.add_argument(
        "--admin-token",
        metavar="TOKEN",
        help="turn on the /_emulator/ admin routes (faults, clock, reset), guarded by TOKEN",
    )
    parser.add_argument(
        "--public", action="store_true", help="allow listening on a non-loopback address"
    )
    parser.add_argument("--verbose", "-v", action="store_true", help="log every request")
    return parser


def is_loopback(host: str) -> bool:
    """True for localhost and loopback addresses."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def main(argv: Sequence[str] | None = None) -> int:
    """Run `serve` until Ctrl-C or SIGTERM; returns the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    except SystemExit as stop:
        # Like the rest of the CLI: --help is 0, a usage error is 1 (never 2).
        return 0 if stop.code in (0, None) else 1
    host = args.host or ("0.0.0.0" if args.public else "127.0.0.1")
    refusal = _refuse_options(args, host)
    if refusal:
        return _fail(refusal)
    faults: list[FaultRule] = []
    if args.faults:
        try:
            faults = load_fault_file(args.faults)
        except ValueError as exc:
            return _fail(str(exc))
    if args.verbose:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
        logging.getLogger("titan_gitops.emulator").setLevel(logging.DEBUG)
    try:
        app = create_app(_build_config(args, faults))
    except (ValueError, OSError) as exc:
        return _fail(str(exc))
    except Exception as exc:  # sqlite3 errors and the like: say what, never a traceback
        where = f" with the database {args.db}" if args.db else ""
        return _fail(f"cannot start the emulator{where} ({type(exc).__name__}: {exc})")
    try:
        server = EmulatorServer((host, args.port), app)
    except OSError as exc:
        reason = (exc.strerror or type(exc).__name__).lower()
        return _fail(f"cannot listen on {host}:{args.port}: {reason}")
    _announce(server, args, len(faults))
    _serve_until_stopped(server, app)
    print("Titan emulator stopped", file=sys.stderr, flush=True)
    return 0


def _refuse_options(args: argparse.Namespace, host: str) -> str:
    """Why these options must not start a server, or "" when they may."""
    unknown = _unresolvable(host)
    if unknown:
        return f"cannot resolve --host {host}: {unknown}; give an address or a known host name"
    if not args.public and not is_loopback(host):
        return f"refusing to listen on {host} without --public"
    if args.public and not args.token:
        return "--public needs at least one --token (open access stays on loopback)"
    return ""


def _unresolvable(host: str) -> str:
    """Why `host` names no address to listen on, or "" when it does (an address always does)."""
    try:
        ipaddress.ip_address(host)
        return ""
    except ValueError:
        pass
    try:
        socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except UnicodeError:  # an empty label (`a..b`) or one too long
        return "not a valid host name"
    except OSError as exc:
        return (exc.strerror or type(exc).__name__).lower()
    return ""


def _build_config(args: argparse.Namespace, faults: list[FaultRule]) -> EmulatorConfig:
    return EmulatorConfig(
        db_path=args.db or ":memory:",
        tokens=dict(args.token),
        open_access=not args.token,
        templates_file=args.templates,
        rate_limit=args.rate_limit,
        execution_seconds=args.execution_seconds,
        admin_token=args.admin_token,
        faults=faults,
        fault_seed=args.fault_seed,
        preview_quota=args.preview_quota,
    )


def _announce(server: EmulatorServer, args: argparse.Namespace, fault_count: int) -> None:
    """The start-up lines on stderr, the listening line last (spawners wait for it)."""
    if not args.token:
        print(
            "Titan emulator: no --token given, so it runs in open-access mode "
            "(no token needed, every scope granted)",
            file=sys.stderr,
        )
    if args.admin_token is not None:
        print(
            f"Titan emulator: admin routes on at {server.base_url}/_emulator/ "
            "(send the admin token as a bearer token)",
            file=sys.stderr,
        )
    if fault_count:
        noun = "rule" if fault_count == 1 else "rules"
        print(f"Titan emulator: {fault_count} fault {noun} armed", file=sys.stderr)
    print(LISTENING.format(url=server.base_url), file=sys.stderr, flush=True)


def _serve_until_stopped(server: EmulatorServer, app: EmulatorApp) -> None:
    """Serve until Ctrl-C or SIGTERM, then release the socket and the state file."""
    previous = _stop_on_sigterm()
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        app.backend.close()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _fail(message: str) -> int:
    print(f"titan-gitops emulator serve: error: {message}", file=sys.stderr)
    return 1


def _stop_on_sigterm() -> Any:
    """Make SIGTERM stop the server like Ctrl-C (only possible from the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def stop(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    return signal.signal(signal.SIGTERM, stop)
