"""Hostile definition directories are refused by `titan-gitops validate` in a subprocess, offline.

Every committed case of tests/corpus plus generated ones too big or odd to commit (10 MB files,
huge alias and depth bombs, symlinks and paths leaving the root, bidi text, name collisions
across many files) must give exit 1, a located problem (`file:line`), no traceback, no request
to the service (TITAN_API_URL points at a counting server) and no `.titan-local` state. Each
child's wall time and peak memory are measured (os.wait4) and kept for the report card.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from testing.emulator import start_background_server
from tests.reliability.counts import add_count, raise_peak
from titan_gitops.client import TitanClient
from titan_gitops.emulator import EmulatorConfig, create_app

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO / "tests" / "corpus"
TOKEN = "hostile-token-77c1"
TASK = (
    "kind: task\nname: shop-a\nurls: ['https://shop.example.com/']\nobjective: Extract prices.\n"
    "execution_type: single\noutput_schema: {type: object}\n"
)
MAX_SECONDS = 10.0
GNU_TIME = Path("/usr/bin/time")
MAX_BYTES = 500 * 2**20

StartResponse = Callable[..., Any]


# --- generated cases: each writes files under root and returns (relative path, line) -----------


def make_ten_megabytes(root: Path) -> tuple[str, int]:
    (root / "big.yaml").write_bytes(TASK.encode() + b"# " + b"x" * (10 * 2**20) + b"\n")
    return "big.yaml", 1


def make_ten_megabyte_scalar(root: Path) -> tuple[str, int]:
    (root / "big.yaml").write_text(
        TASK.replace("Extract prices.", "y" * (10 * 2**20)), encoding="utf-8"
    )
    return "big.yaml", 1


def make_huge_alias_bomb(root: Path) -> tuple[str, int]:
    lines = ['l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"l{i}: &l{i} [{','.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 30)]
    (root / "bomb.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return "bomb.yaml", 1


def make_flow_depth_bomb(root: Path) -> tuple[str, int]:
    (root / "deep.yaml").write_text("a: " + "[" * 50_000 + "]" * 50_000 + "\n", encoding="utf-8")
    return "deep.yaml", 1


def make_mapping_depth_bomb(root: Path) -> tuple[str, int]:
    text = "a: " + "{a: " * 5_000 + "1" + "}" * 5_000 + "\n"
    (root / "deep.yaml").write_text(text, encoding="utf-8")
    return "deep.yaml", 1


def make_schema_depth_bomb(root: Path) -> tuple[str, int]:
    schema = '{"type": "object", "properties": {"a": ' * 3_000 + "{}" + "}}" * 3_000
    (root / "deep.json").write_text(schema, encoding="utf-8")
    text = TASK.replace("output_schema: {type: object}", "output_schema: {$file: deep.json}")
    (root / "t.yaml").write_text(text, encoding="utf-8")
    return "t.yaml", 6


def make_symlink_leaving_root(root: Path) -> tuple[str, int]:
    outside = root.parent / "outside.yaml"
    outside.write_text(TASK, encoding="utf-8")
    (root / "t.yaml").symlink_to(outside)
    return "t.yaml", 1


def make_symlinked_schema_leaving_root(root: Path) -> tuple[str, int]:
    secret = root.parent / "secret.json"
    secret.write_text('{"type": "object"}', encoding="utf-8")
    (root / "schema.json").symlink_to(secret)
    text = TASK.replace("output_schema: {type: object}", "output_schema: {$file: schema.json}")
    (root / "t.yaml").write_text(text, encoding="utf-8")
    return "t.yaml", 6


def make_file_ref_traversal(root: Path) -> tuple[str, int]:
    text = TASK.replace(
        "output_schema: {type: object}", "output_schema: {$file: ../../../../etc/passwd}"
    )
    (root / "t.yaml").write_text(text, encoding="utf-8")
    return "t.yaml", 6


def make_remote_ref_deep_inside(root: Path) -> tuple[str, int]:
    text = TASK.replace(
        "output_schema: {type: object}",
        "output_schema:\n  type: object\n  properties:\n    a:\n"
        "      $ref: 'https://evil.example/schema.json'",
    )
    (root / "t.yaml").write_text(text, encoding="utf-8")
    return "t.yaml", 10


def make_bidi_objective(root: Path) -> tuple[str, int]:
    text = TASK.replace("Extract prices.", "Extract \u202eseirots\u202c prices.")
    (root / "t.yaml").write_text(text, encoding="utf-8")
    return "t.yaml", 4


def make_many_files_one_duplicate(root: Path) -> tuple[str, int]:
    for n in range(300):
        (root / f"t{n:03d}.yaml").write_text(TASK.replace("shop-a", f"shop-{n}"), encoding="utf-8")
    (root / "t250.yaml").write_text(TASK.replace("shop-a", "shop-249"), encoding="utf-8")
    return "t250.yaml", 2


def make_many_documents_one_duplicate_key(root: Path) -> tuple[str, int]:
    documents = [TASK.replace("shop-a", f"shop-{n}") for n in range(2_000)]
    documents[1_500] = documents[1_500].replace("objective:", "name: again\nobjective:")
    (root / "all.yaml").write_text("---\n".join(documents), encoding="utf-8")
    return "all.yaml", 1_500 * 7 + 4


def make_python_apply_tag(root: Path) -> tuple[str, int]:
    text = TASK.replace(
        "Extract prices.", "!!python/object/apply:os.system ['touch /tmp/titan-pwned']"
    )
    (root / "t.yaml").write_text(text, encoding="utf-8")
    return "t.yaml", 4


def make_extends_long_cycle(root: Path) -> tuple[str, int]:
    for n in range(50):
        (root / f"p{n:02d}.yaml").write_text(
            f"kind: template\nname: p{n}\nextends: p{(n + 1) % 50}\n", encoding="utf-8"
        )
    return "p00.yaml", 3


GENERATED: dict[str, Callable[[Path], tuple[str, int]]] = {
    "gen-ten-megabyte-file": make_ten_megabytes,
    "gen-ten-megabyte-scalar": make_ten_megabyte_scalar,
    "gen-huge-alias-bomb": make_huge_alias_bomb,
    "gen-flow-depth-bomb": make_flow_depth_bomb,
    "gen-mapping-depth-bomb": make_mapping_depth_bomb,
    "gen-schema-depth-bomb": make_schema_depth_bomb,
    "gen-symlink-leaving-root": make_symlink_leaving_root,
    "gen-symlinked-schema-leaving-root": make_symlinked_schema_leaving_root,
    "gen-file-ref-traversal": make_file_ref_traversal,
    "gen-remote-ref-deep-inside": make_remote_ref_deep_inside,
    "gen-bidi-objective": make_bidi_objective,
    "gen-300-files-one-duplicate": make_many_files_one_duplicate,
    "gen-2000-documents-one-duplicate-key": make_many_documents_one_duplicate_key,
    "gen-python-apply-tag": make_python_apply_tag,
    "gen-fifty-template-extends-cycle": make_extends_long_cycle,
}


# --- running the CLI --------------------------------------------------------------------------


@dataclass
class Case:
    name: str
    root: Path
    expected: list[tuple[str, int]]


@dataclass
class Outcome:
    case: Case
    code: int
    stdout: str
    stderr: str
    seconds: float
    peak_bytes: int


@dataclass
class CountingService:
    url: str
    hits: list[str]


def read_expectations(case: Path) -> list[tuple[str, int]]:
    found = []
    for line in (case / "expect.txt").read_text(encoding="utf-8").splitlines():
        location = line.split(": ", 1)[0]
        relative, number = location.rsplit(":", 1)
        found.append((relative, int(number)))
    return found


def list_corpus() -> list[Case]:
    return [
        Case(p.name, p, read_expectations(p))
        for p in sorted(CORPUS.iterdir())
        if p.is_dir() and (p / "expect.txt").is_file()
    ]


def build_cases(scratch: Path) -> list[Case]:
    """Every generated case and every other corpus case; the rest run in the slow test."""
    cases = list_corpus()[::2]
    for name, make in GENERATED.items():
        root = scratch / name / "defs"
        root.mkdir(parents=True)
        cases.append(Case(name, root, [make(root)]))
    return cases


def run_validate(case: Case, cwd: Path, environ: dict[str, str]) -> Outcome:
    """Run `titan-gitops validate` and measure this one child.

    GNU time reports the child's own peak RSS; os.wait4's figure (the fallback) also counts
    the pages the forked child inherited from this test process, so it reads high.
    """
    out_path, err_path = cwd / f"{case.name}.out", cwd / f"{case.name}.err"
    memory_path = cwd / f"{case.name}.rss"
    command = [sys.executable, "-m", "titan_gitops", "validate", str(case.root)]
    if GNU_TIME.is_file():
        command = [str(GNU_TIME), "-f", "%M", "-o", str(memory_path), *command]
    with out_path.open("wb") as out, err_path.open("wb") as err:
        start = time.perf_counter()
        child = subprocess.Popen(
            command, cwd=cwd, env=environ, stdout=out, stderr=err, stdin=subprocess.DEVNULL
        )
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
    peak_kib = usage.ru_maxrss  # kilobytes on Linux
    if memory_path.is_file():
        peak_kib = int(memory_path.read_text(encoding="utf-8").split()[-1])
    return Outcome(
        case,
        child.returncode,
        out_path.read_text(encoding="utf-8", errors="replace"),
        err_path.read_text(encoding="utf-8", errors="replace"),
        seconds,
        peak_kib * 1024,
    )


@pytest.fixture(scope="module")
def counting_service() -> Iterator[CountingService]:
    """A server that only counts: validate must never reach it."""
    hits: list[str] = []

    def count(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        hits.append(f"{environ['REQUEST_METHOD']} {environ.get('PATH_INFO')}")
        start_response("500 Internal Server Error", [("Content-Type", "application/json")])
        return [b"{}"]

    server, url = start_background_server(count)
    try:
        yield CountingService(url, hits)
    finally:
        server.shutdown()


def child_environ(url: str) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("TITAN_")}
    environ.update({"TITAN_API_URL": url, "TITAN_TOKEN": TOKEN, "PYTHONPATH": str(REPO)})
    environ.pop("CI", None)
    environ.pop("GITHUB_ACTIONS", None)
    return environ


def run_all(cases: list[Case], cwd: Path, url: str) -> list[Outcome]:
    """Run every case, two children at a time, and record their figures."""
    environ = child_environ(url)
    lock = threading.Lock()
    results: list[Outcome] = []

    def one(case: Case) -> None:
        outcome = run_validate(case, cwd, environ)
        with lock:
            results.append(outcome)

    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(one, cases))
    assert not (cwd / ".titan-local").exists()
    assert not any((c.root / ".titan-local").exists() for c in cases)
    for outcome in results:
        add_count("hostile_total")
        raise_peak("hostile_max_seconds", round(outcome.seconds, 3))
        raise_peak("hostile_max_mib", round(outcome.peak_bytes / 2**20, 1))
    return sorted(results, key=lambda o: o.case.name)


@pytest.fixture(scope="module")
def outcomes(
    tmp_path_factory: pytest.TempPathFactory, counting_service: CountingService
) -> list[Outcome]:
    scratch = tmp_path_factory.mktemp("hostile")
    cwd = tmp_path_factory.mktemp("hostile-cwd")
    return run_all(build_cases(scratch), cwd, counting_service.url)


def is_refused_with_location(outcome: Outcome) -> bool:
    text = outcome.stdout + outcome.stderr
    located = all(
        f"{outcome.case.root / relative}:{line}:" in text or f"{relative}:{line}:" in text
        for relative, line in outcome.case.expected
    )
    return outcome.code == 1 and located and "Traceback" not in text


def test_there_are_at_least_sixty_hostile_cases(outcomes: list[Outcome]) -> None:
    assert len(outcomes) >= 60
    assert len([o for o in outcomes if o.case.name.startswith("gen-")]) == len(GENERATED)


def test_every_hostile_case_is_refused_with_a_located_problem(outcomes: list[Outcome]) -> None:
    wrong = [o for o in outcomes if not is_refused_with_location(o)]
    add_count("hostile_rejected", len(outcomes) - len(wrong))
    assert not wrong, "\n".join(
        f"{o.case.name}: exit {o.code}, expected {o.case.expected}\n{o.stdout}{o.stderr[-2000:]}"
        for o in wrong
    )


@pytest.mark.slow
def test_the_rest_of_the_corpus_is_refused_the_same_way(
    tmp_path: Path, counting_service: CountingService
) -> None:
    rest = run_all(list_corpus()[1::2], tmp_path, counting_service.url)
    wrong = [o.case.name for o in rest if not is_refused_with_location(o)]
    add_count("hostile_rejected", len(rest) - len(wrong))
    assert not wrong
    assert counting_service.hits == []
    assert all(o.seconds < MAX_SECONDS and o.peak_bytes < MAX_BYTES for o in rest)


def test_validation_makes_no_network_call(
    outcomes: list[Outcome], counting_service: CountingService
) -> None:
    add_count("validate_network_calls", len(counting_service.hits))
    assert outcomes
    assert counting_service.hits == []


def test_each_case_stays_within_generous_time_and_memory_bounds(outcomes: list[Outcome]) -> None:
    slow = [(o.case.name, o.seconds) for o in outcomes if o.seconds >= MAX_SECONDS]
    heavy = [(o.case.name, o.peak_bytes) for o in outcomes if o.peak_bytes >= MAX_BYTES]
    assert not slow
    assert not heavy


def test_an_empty_directory_with_live_tasks_in_the_namespace_is_refused_at_plan(
    tmp_path: Path,
) -> None:
    app = create_app(EmulatorConfig(db_path=":memory:", tokens={TOKEN: None}))
    with TitanClient(
        "http://titan.test", TOKEN, transport=httpx.WSGITransport(app=app.serve_request)
    ) as seeder:
        for name in ("ns-a", "ns-b"):
            seeder.create_task(
                {
                    "name": name,
                    "urls": ["https://shop.example/"],
                    "objective": "Extract prices.",
                    "output_schema": {"type": "object"},
                    "execution_type": "single",
                }
            )
    root = tmp_path / "defs"
    root.mkdir()
    (root / "titan-gitops.yaml").write_text("namespace: ns-\n", encoding="utf-8")
    server, url = start_background_server(app)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "titan_gitops", "plan", str(root)],
            cwd=tmp_path,
            env=child_environ(url),
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        server.shutdown()
    assert done.returncode == 1
    assert "Traceback" not in done.stdout + done.stderr
    assert "empty" in (done.stdout + done.stderr).lower()
    add_count("empty_config_blocked")
