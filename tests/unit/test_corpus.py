"""The hostile-input corpus: every bad definition directory is refused with a located problem.

Committed cases live in `tests/corpus/NNN-short-name/` with an `expect.txt` of lines
`relative/path:line: message fragment`. Cases too big or too odd to commit (a 10 MB file,
large bombs, symlinks) are built here in a temporary directory.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from titan_gitops.errors import Problem, ValidationFailed
from titan_gitops.pipeline import validate_directory

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
CASES = sorted(p for p in CORPUS.iterdir() if p.is_dir())
TASK = (
    "kind: task\nname: shop-a\nurls: ['https://shop.example.com/']\nobjective: Extract prices.\n"
    "execution_type: single\noutput_schema: {type: object}\n"
)


def read_expectations(case: Path) -> list[tuple[str, int, str]]:
    expected = []
    for line in (case / "expect.txt").read_text(encoding="utf-8").splitlines():
        location, fragment = line.split(": ", 1)
        relative, number = location.rsplit(":", 1)
        expected.append((relative, int(number), fragment))
    return expected


def refused(root: Path) -> list[Problem]:
    with pytest.raises(ValidationFailed) as caught:
        validate_directory(root, environ={})
    return caught.value.problems


def assert_named(
    problems: list[Problem], root: Path, relative: str, line: int, fragment: str
) -> None:
    path = str(root / relative)
    assert any(
        p.path == path and p.line == line and fragment in f"{p.field}: {p.message}"
        for p in problems
    ), f"no problem at {path}:{line} containing {fragment!r}; got:\n" + "\n".join(
        map(str, problems)
    )


def test_the_corpus_has_at_least_sixty_cases() -> None:
    assert len(CASES) >= 60


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_a_committed_case_is_refused_at_the_expected_place(case: Path) -> None:
    problems = refused(case)
    assert all(p.line >= 1 and p.col >= 1 for p in problems)
    for relative, line, fragment in read_expectations(case):
        assert_named(problems, case, relative, line, fragment)


def _ten_megabytes(root: Path) -> tuple[str, int, str]:
    (root / "big.yaml").write_bytes(TASK.encode() + b"# " + b"x" * (10 * 1024 * 1024) + b"\n")
    return "big.yaml", 1, "the limit is 1 MiB"


def _just_over_the_cap(root: Path) -> tuple[str, int, str]:
    filler = b"#" * (1024 * 1024 - len(TASK)) + b"\n"
    (root / "t.yaml").write_bytes(TASK.encode() + filler)
    return "t.yaml", 1, "the limit is 1 MiB"


def _huge_alias_bomb(root: Path) -> tuple[str, int, str]:
    lines = ['l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"l{i}: &l{i} [{','.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 30)]
    (root / "bomb.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return "bomb.yaml", 1, "anchors are not allowed"


def _deep_flow_bomb(root: Path) -> tuple[str, int, str]:
    (root / "deep.yaml").write_text("a: " + "[" * 50_000 + "]" * 50_000 + "\n", encoding="utf-8")
    return "deep.yaml", 1, "nesting is deeper than 64"


def _deep_mapping_bomb(root: Path) -> tuple[str, int, str]:
    (root / "deep.yaml").write_text(
        "a: " + "{a: " * 5_000 + "1" + "}" * 5_000 + "\n", encoding="utf-8"
    )
    return "deep.yaml", 1, "nesting is deeper than 64"


def _long_scalar(root: Path) -> tuple[str, int, str]:
    (root / "t.yaml").write_text(TASK.replace("Extract prices.", "x" * 20_000), encoding="utf-8")
    return "t.yaml", 4, "the limit is 10000"


def _symlinked_file_leaving_root(root: Path) -> tuple[str, int, str]:
    outside = root.parent / "outside.yaml"
    outside.write_text(TASK, encoding="utf-8")
    (root / "t.yaml").symlink_to(outside)
    return "t.yaml", 1, "symlink points outside"


def _symlinked_schema_leaving_root(root: Path) -> tuple[str, int, str]:
    secret = root.parent / "secret.json"
    secret.write_text('{"type": "object"}', encoding="utf-8")
    (root / "schema.json").symlink_to(secret)
    text = TASK.replace("output_schema: {type: object}", "output_schema: {$file: schema.json}")
    (root / "t.yaml").write_text(text, encoding="utf-8")
    return "t.yaml", 6, "leaves the definitions directory"


def _many_files_one_bad(root: Path) -> tuple[str, int, str]:
    for n in range(200):
        (root / f"t{n:03d}.yaml").write_text(TASK.replace("shop-a", f"shop-{n}"), encoding="utf-8")
    (root / "t150.yaml").write_text(TASK.replace("shop-a", "shop-149"), encoding="utf-8")
    return "t150.yaml", 2, "also defined at"


GENERATED: dict[str, Callable[[Path], tuple[str, int, str]]] = {
    "ten-megabyte-file": _ten_megabytes,
    "just-over-the-size-cap": _just_over_the_cap,
    "huge-alias-bomb": _huge_alias_bomb,
    "fifty-thousand-deep-flow": _deep_flow_bomb,
    "five-thousand-deep-mappings": _deep_mapping_bomb,
    "long-scalar": _long_scalar,
    "symlinked-file-leaving-root": _symlinked_file_leaving_root,
    "symlinked-schema-leaving-root": _symlinked_schema_leaving_root,
    "two-hundred-files-one-duplicate": _many_files_one_bad,
}


@pytest.mark.parametrize("name", sorted(GENERATED))
def test_a_generated_case_is_refused_at_the_expected_place(tmp_path: Path, name: str) -> None:
    root = tmp_path / "defs"
    root.mkdir()
    relative, line, fragment = GENERATED[name](root)
    assert_named(refused(root), root, relative, line, fragment)


MEASURE = textwrap.dedent(
    """
    import json, resource, sys, time
    from pathlib import Path
    from titan_gitops.errors import ValidationFailed
    from titan_gitops.pipeline import validate_directory
    figures = {}
    for root in sys.argv[1:]:
        start = time.perf_counter()
        try:
            validate_directory(Path(root), environ={})
            outcome = "valid"
        except ValidationFailed:
            outcome = "refused"
        figures[root] = [outcome, time.perf_counter() - start]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"figures": figures, "peak_bytes": peak}))
    """
)


@pytest.mark.skipif(sys.platform == "win32", reason="resource is POSIX-only")
def test_the_whole_corpus_stays_within_generous_time_and_memory_bounds(tmp_path: Path) -> None:
    """One child process runs every case; it reports each time and the peak memory."""
    roots = [str(c) for c in CASES]
    for name, build in GENERATED.items():
        root = tmp_path / name / "defs"
        root.mkdir(parents=True)
        build(root)
        roots.append(str(root))
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, *roots],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env=env,
    )
    report = json.loads(done.stdout)
    slowest = max(report["figures"].items(), key=lambda item: item[1][1])
    print(
        f"\ncorpus: {len(roots)} cases, peak {report['peak_bytes'] / 2**20:.0f} MiB, "
        f"slowest {slowest[0]} {slowest[1][1]:.3f} s"
    )
    assert all(outcome == "refused" for outcome, _ in report["figures"].values())
    assert all(seconds < 10 for _, seconds in report["figures"].values())
    assert report["peak_bytes"] < 500 * 2**20
