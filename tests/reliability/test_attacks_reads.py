"""Bounded reads: a hostile service on loopback cannot make the CLI read, wait or follow for ever.

Each test starts a small raw-socket server that misbehaves one way (endless pages, an absurd
`meta.total`, a gzip bomb, a one-byte-a-second drip, redirects away), runs the real CLI as a child
process against it, and asserts the safe outcome: exit 1, one line naming the host, the route and
the figure exceeded, no traceback, and no write sent. Children run under an address-space limit so
an unbounded read fails fast instead of eating the machine; the bomb's peak RSS is measured.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import resource
import socket
import socketserver
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.reliability.counts import raise_peak

REPO = Path(__file__).resolve().parents[2]
TOKEN = "reads-attack-token-5f2e"
GNU_TIME = Path("/usr/bin/time")
# An unbounded read dies on this limit in a second instead of swapping the machine.
ADDRESS_SPACE = 1536 * 2**20
CHILD_SECONDS = 90.0
BOMB_ZEROS = 512 * 2**20
PEAK_RSS_LIMIT = 320 * 2**20
TASK = (
    "kind: task\nname: ns-shop\nurls: ['https://shop.example.com/']\nobjective: Extract prices.\n"
    "execution_type: single\noutput_schema: {type: object}\n"
)


@dataclass(frozen=True)
class Request:
    """What the hostile server was sent: method, path, query and the Authorization header."""

    method: str
    path: str
    query: dict[str, list[str]]
    authorization: str


Behaviour = Callable[[Request, socket.socket], None]


@dataclass
class Hostile:
    """A loopback server answering every request through `behaviour`; records what it got."""

    behaviour: Behaviour
    seen: list[Request] = field(default_factory=list)
    url: str = ""
    _server: socketserver.ThreadingTCPServer | None = None

    def start(self) -> Hostile:
        owner = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                request = read_request(self.request)
                if request is None:
                    return
                owner.seen.append(request)
                with contextlib.suppress(OSError):
                    owner.behaviour(request, self.request)

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        self._server = server
        self.url = f"http://127.0.0.1:{server.server_address[1]}"
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def methods(self) -> set[str]:
        return {r.method for r in self.seen}


def read_request(sock: socket.socket) -> Request | None:
    """The request line and headers; a body is read whole and dropped.

    Reading the body matters even though it is never looked at: closing a socket with unread
    bytes makes the kernel reset the connection, and the client could then lose the answer.
    """
    sock.settimeout(10)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            return None
        data += chunk
    raw_head, rest = data.split(b"\r\n\r\n", 1)
    head = raw_head.decode("latin-1").split("\r\n")
    method, target, _ = head[0].split(" ", 2)
    headers = dict(line.split(": ", 1) for line in head[1:] if ": " in line)
    length = int(next((v for k, v in headers.items() if k.lower() == "content-length"), "0"))
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    parts = urlsplit(target)
    auth = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
    return Request(method, parts.path, parse_qs(parts.query), auth)


def send_answer(
    sock: socket.socket, status: str, body: bytes, headers: dict[str, str] | None = None
) -> None:
    head = [f"HTTP/1.1 {status}", f"Content-Length: {len(body)}", "Connection: close"]
    head += [f"{k}: {v}" for k, v in (headers or {}).items()]
    sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)


def send_json(sock: socket.socket, payload: object) -> None:
    send_answer(sock, "200 OK", json.dumps(payload).encode(), {"Content-Type": "application/json"})


def task(number: int) -> dict[str, object]:
    return {"id": f"t-{number}", "name": f"other-{number}", "status": "active"}


def page_of(request: Request) -> tuple[int, int]:
    limit = int(request.query.get("limit", ["100"])[0])
    offset = int(request.query.get("offset", ["0"])[0])
    return limit, offset


@contextlib.contextmanager
def hostile(behaviour: Behaviour) -> Iterator[Hostile]:
    server = Hostile(behaviour).start()
    try:
        yield server
    finally:
        server.stop()


@dataclass
class Run:
    code: int
    output: str
    seconds: float
    peak_bytes: int


def limit_address_space() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def run_cli(url: str, tmp_path: Path, *args: str, extra_env: dict[str, str] | None = None) -> Run:
    """`titan-gitops ARGS DIR` as a child against `url`: exit code, output, time and peak RSS."""
    root = tmp_path / "defs"
    root.mkdir(exist_ok=True)
    (root / "titan-gitops.yaml").write_text("namespace: ns-\n", encoding="utf-8")
    (root / "shop.yaml").write_text(TASK, encoding="utf-8")
    environ = {k: v for k, v in os.environ.items() if not k.startswith("TITAN_")}
    for name in ("CI", "GITHUB_ACTIONS"):
        environ.pop(name, None)
    environ.update({"TITAN_API_URL": url, "TITAN_TOKEN": TOKEN, "PYTHONPATH": str(REPO)})
    environ.update(extra_env or {})
    command = [sys.executable, "-m", "titan_gitops", *args, str(root)]
    rss_path = tmp_path / "rss.txt"
    if GNU_TIME.is_file():
        command = [str(GNU_TIME), "-f", "%M", "-o", str(rss_path), *command]
    start = time.perf_counter()
    try:
        done = subprocess.run(
            command,
            cwd=tmp_path,
            env=environ,
            capture_output=True,
            text=True,
            timeout=CHILD_SECONDS,
            preexec_fn=limit_address_space,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"the CLI was still reading after {CHILD_SECONDS:.0f}s")
    seconds = time.perf_counter() - start
    peak = int(rss_path.read_text().split()[-1]) * 1024 if rss_path.is_file() else 0
    return Run(done.returncode, done.stdout + done.stderr, seconds, peak)


def assert_refused(run: Run, server: Hostile, *needles: str) -> None:
    """Exit 1, one clean error line holding every needle, nothing but reads sent."""
    assert run.code == 1, run.output
    assert "Traceback" not in run.output, run.output
    assert "unexpected error" not in run.output, run.output
    for needle in needles:
        assert needle in run.output, f"{needle!r} not in {run.output!r}"
    assert TOKEN not in run.output
    assert server.methods <= {"GET"}, server.seen


# -- pagination ----------------------------------------------------------------------------------


def answer_endless_pages(request: Request, sock: socket.socket) -> None:
    # Every page full of fresh tasks and no meta: the walk never sees a short page.
    limit, offset = page_of(request)
    send_json(sock, {"success": True, "data": [task(offset + i) for i in range(limit)]})


@pytest.mark.attack
def test_endless_pagination_without_meta_stops_at_the_page_cap(tmp_path: Path) -> None:
    with hostile(answer_endless_pages) as server:
        run = run_cli(server.url, tmp_path, "plan")
    assert_refused(run, server, f"{server.url}/api/v1/tasks", "1,000 pages")
    assert len(server.seen) <= 1_001


def answer_a_trillion(request: Request, sock: socket.socket) -> None:
    limit, offset = page_of(request)
    send_json(
        sock,
        {
            "success": True,
            "data": [task(offset + i) for i in range(limit)],
            "meta": {"total": 10**12, "limit": limit, "offset": offset},
        },
    )


@pytest.mark.attack
def test_a_listing_announcing_a_trillion_items_is_refused_without_allocating(
    tmp_path: Path,
) -> None:
    with hostile(answer_a_trillion) as server:
        run = run_cli(server.url, tmp_path, "plan")
    assert_refused(run, server, f"{server.url}/api/v1/tasks", "1,000,000,000,000", "100,000")
    assert len(server.seen) == 1


SAME_PAGE_PATIENCE = 50


def answer_the_same_page(request: Request, sock: socket.socket) -> None:
    # Ignores offset; items without ids (datasets have none), so only the page itself repeats.
    # After 50 pages it gives up with a 404, so a client that loops fails this test, not hangs.
    if int(request.query.get("offset", ["0"])[0]) >= 100 * SAME_PAGE_PATIENCE:
        send_answer(sock, "404 Not Found", b"{}")
        return
    send_json(sock, {"success": True, "data": [{"name": f"d-{i}"} for i in range(100)]})


@pytest.mark.attack
def test_a_page_repeated_forever_is_refused_not_looped(tmp_path: Path) -> None:
    # Dataset records carry no id, so only the page itself can show that the walk is stuck;
    # the client is driven directly over the socket, as the `run` command would drive it.
    from titan_gitops.client import TitanClient
    from titan_gitops.errors import ApiError

    with (
        hostile(answer_the_same_page) as server,
        TitanClient(server.url, TOKEN) as client,
        pytest.raises(ApiError) as caught,
    ):
        client.list_task_datasets("t-1")
    message = str(caught.value)
    assert "same page" in message
    assert f"{server.url}/api/v1/tasks/t-1/datasets" in message
    assert len(server.seen) == 2


# -- sizes ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gzip_bomb() -> bytes:
    """512 MiB of zeros after a valid envelope prefix, gzipped to about half a megabyte."""
    packer = zlib.compressobj(6, zlib.DEFLATED, 31)
    parts = [packer.compress(b'{"success": true, "data": [], "pad": "')]
    zeros = bytes(2**20)
    parts += [packer.compress(zeros) for _ in range(BOMB_ZEROS // len(zeros))]
    parts.append(packer.flush())
    return b"".join(parts)


@pytest.mark.attack
def test_a_gzip_bomb_is_cut_off_at_the_decompressed_cap(tmp_path: Path, gzip_bomb: bytes) -> None:
    def answer(request: Request, sock: socket.socket) -> None:
        send_answer(sock, "200 OK", gzip_bomb, {"Content-Encoding": "gzip"})

    with hostile(answer) as server:
        run = run_cli(server.url, tmp_path, "plan")
    assert_refused(run, server, f"{server.url}/api/v1/tasks", "32 MiB", "decompress")
    assert len(server.seen) == 1
    raise_peak("gzip_bomb_peak_mib", round(run.peak_bytes / 2**20, 1))
    if run.peak_bytes:
        assert run.peak_bytes < PEAK_RSS_LIMIT


@pytest.mark.attack
def test_a_body_larger_than_the_cap_is_refused_while_it_arrives(tmp_path: Path) -> None:
    size = 64 * 2**20
    sent: list[int] = []

    def answer(request: Request, sock: socket.socket) -> None:
        head = f"HTTP/1.1 200 OK\r\nContent-Length: {size}\r\nConnection: close\r\n\r\n"
        sock.sendall(head.encode())
        chunk = b" " * 2**16
        for _ in range(size // len(chunk)):
            sock.sendall(chunk)
            sent.append(len(chunk))

    with hostile(answer) as server:
        run = run_cli(server.url, tmp_path, "plan")
    assert_refused(run, server, f"{server.url}/api/v1/tasks", "32 MiB")
    assert len(server.seen) == 1
    assert sum(sent) < size


def test_a_gzip_answer_below_the_caps_is_read() -> None:
    from titan_gitops.client import TitanClient

    body = gzip.compress(json.dumps({"success": True, "data": task(1)}).encode())

    def answer(request: Request, sock: socket.socket) -> None:
        send_answer(sock, "200 OK", body, {"Content-Encoding": "gzip"})

    with hostile(answer) as server, TitanClient(server.url, TOKEN) as client:
        assert client.get_task("t-1").name == "other-1"


# -- time ----------------------------------------------------------------------------------------


def drip(sock: socket.socket, data: bytes, pause: float) -> None:
    for byte in data:
        sock.sendall(bytes([byte]))
        time.sleep(pause)


def answer_dripping_headers(request: Request, sock: socket.socket) -> None:
    # One byte a second, for ever: each read succeeds long before the per-read timeout.
    drip(sock, b"HTTP/1.1 200 OK\r\nX-Pad: " + b"a" * 100_000, 1.0)


def answer_dripping_body(request: Request, sock: socket.socket) -> None:
    body = b'{"success": true, "data": []' + b" " * 100_000 + b"}"
    sock.sendall(f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n\r\n".encode())
    drip(sock, body, 1.0)


@pytest.mark.attack
@pytest.mark.parametrize(
    "behaviour", [answer_dripping_headers, answer_dripping_body], ids=["headers", "body"]
)
def test_a_one_byte_a_second_answer_ends_at_the_request_deadline(
    tmp_path: Path, behaviour: Behaviour
) -> None:
    with hostile(behaviour) as server:
        run = run_cli(server.url, tmp_path, "plan", extra_env={"TITAN_REQUEST_DEADLINE": "3"})
    assert_refused(run, server, f"{server.url}/api/v1/tasks", "3 seconds", "TITAN_REQUEST_DEADLINE")
    assert run.seconds < 15
    assert len(server.seen) == 1


def answer_slow_endless_pages(request: Request, sock: socket.socket) -> None:
    time.sleep(0.2)
    answer_endless_pages(request, sock)


@pytest.mark.attack
def test_a_command_stops_at_its_overall_deadline(tmp_path: Path) -> None:
    with hostile(answer_slow_endless_pages) as server:
        run = run_cli(server.url, tmp_path, "plan", extra_env={"TITAN_DEADLINE": "3"})
    assert_refused(run, server, "3 seconds", "TITAN_DEADLINE")
    assert run.seconds < 15


def test_a_bad_deadline_setting_is_a_clear_error(tmp_path: Path) -> None:
    with hostile(answer_endless_pages) as server:
        run = run_cli(server.url, tmp_path, "plan", extra_env={"TITAN_DEADLINE": "soon"})
    assert_refused(run, server, "TITAN_DEADLINE", "soon")
    assert server.seen == []


# -- redirects -----------------------------------------------------------------------------------


@pytest.mark.attack
def test_a_redirect_to_port_99999_is_a_clear_error(tmp_path: Path) -> None:
    def answer(request: Request, sock: socket.socket) -> None:
        location = "http://127.0.0.1:99999/api/v1/tasks"
        send_answer(sock, "302 Found", b"", {"Location": location})

    with hostile(answer) as server:
        run = run_cli(server.url, tmp_path, "plan")
    assert_refused(run, server, "127.0.0.1:99999", "redirect", f"{server.url}/api/v1/tasks")
    assert len(server.seen) == 1


@pytest.mark.attack
@pytest.mark.parametrize("elsewhere", ["another-host", "same-host-other-port"])
def test_a_redirect_to_another_origin_never_carries_the_token(
    tmp_path: Path, elsewhere: str
) -> None:
    with hostile(answer_endless_pages) as catcher:
        host = "localhost" if elsewhere == "another-host" else "127.0.0.1"
        target = f"http://{host}:{catcher.url.rsplit(':', 1)[1]}"

        def answer(request: Request, sock: socket.socket) -> None:
            send_answer(sock, "307 Temporary Redirect", b"", {"Location": target + request.path})

        with hostile(answer) as server:
            run = run_cli(server.url, tmp_path, "plan")
    assert_refused(run, server, target, "redirect")
    assert catcher.seen == []
    assert len(server.seen) == 1
