"""The requests a whole `titan-gitops apply` sends, counted where the service receives them.

500 task definitions, applied through the CLI with parallelism 8 against the emulator on a
loopback socket. A listing of 500 tasks is 5 pages of 100; with the apply's lease it is 6.

    500 creates:   the plan's listing (1 page) and the templates; the lease (a create, one
                   listing that is also the stale check, a delete); the 500 creates, each checked
                   against what the service answered, so no read-back.
    no-op re-run:  the plan's listing (5 pages) and the templates, nothing else.
    25 updates:    the plan's listing and templates; the lease (its 6-page listing is the stale
                   check); the 25 updates, checked against their answers.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from testing.counting import RequestCounter
from testing.emulator import start_background_server
from titan_gitops.cli import main
from titan_gitops.emulator import EmulatorConfig, create_app
from titan_gitops.emulator.faults import FaultInjector, FaultRule

from .conftest import TOKEN

TASKS = "/api/v1/tasks"
COUNT = 500
UPDATED = range(0, COUNT, 20)  # 25 of 500: 5 %

TASK = """\
kind: task
name: shop-{n:03d}
urls: [https://shop.example/products/{n}]
objective: {objective} {n}.
output_schema:
  type: object
  properties:
    name: {{type: string}}
execution_type: single
"""


def write_task(root: Path, n: int, objective: str = "Extract the products on page") -> None:
    path = root / "tasks" / f"t{n:03d}.yaml"
    path.write_text(TASK.format(n=n, objective=objective), encoding="utf-8")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "defs"
    (root / "tasks").mkdir(parents=True)
    (root / "titan-gitops.yaml").write_text("namespace: shop-\n", encoding="utf-8")
    for n in range(COUNT):
        write_task(root, n)
    return root


@pytest.fixture
def injector() -> FaultInjector:
    return FaultInjector(seed=11)


@pytest.fixture
def counter(injector: FaultInjector, monkeypatch: pytest.MonkeyPatch) -> Iterator[RequestCounter]:
    """The emulator behind a request counter (and a fault injector), served on loopback."""
    app = create_app(EmulatorConfig(db_path=":memory:", tokens={TOKEN: None}))
    counter = RequestCounter(app)
    server, url = start_background_server(injector.wrap(counter))
    monkeypatch.setenv("TITAN_API_URL", url)
    monkeypatch.setenv("TITAN_TOKEN", TOKEN)
    try:
        yield counter
    finally:
        server.shutdown()


def apply(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    code = main(["apply", *args, "--auto-approve", "--parallelism", "8"])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    return out


def lease_and(**requests: int) -> dict[str, int]:
    """`requests` plus the lease's create and delete."""
    counts = {f"POST {TASKS}": 1, f"DELETE {TASKS}/{{id}}": 1}
    for key, n in requests.items():
        method, _, what = key.partition("_")
        path = {"tasks": TASKS, "task": f"{TASKS}/{{id}}", "templates": "/api/v1/templates"}[what]
        counts[f"{method} {path}"] = counts.get(f"{method} {path}", 0) + n
    return counts


def test_500_creates_send_the_creates_the_lease_and_two_listings(
    root: Path, counter: RequestCounter, capsys: pytest.CaptureFixture[str]
) -> None:
    counter.take()
    assert "Converged." in apply(capsys, str(root))
    # The plan lists once (no task yet: one page); the lease's listing, made under the lease,
    # is the stale check; every create's answer is checked, so nothing is read back.
    assert counter.take() == lease_and(GET_tasks=2, GET_templates=1, POST_tasks=COUNT)


def test_a_no_op_re_run_reads_the_listing_pages_and_nothing_else(
    root: Path, counter: RequestCounter, capsys: pytest.CaptureFixture[str]
) -> None:
    apply(capsys, str(root))
    counter.take()
    assert "No changes." in apply(capsys, str(root))
    assert counter.take() == {f"GET {TASKS}": 5, "GET /api/v1/templates": 1}


def test_5_percent_updates_send_the_writes_and_one_listing_per_phase(
    root: Path, counter: RequestCounter, capsys: pytest.CaptureFixture[str]
) -> None:
    apply(capsys, str(root))
    for n in UPDATED:
        write_task(root, n, "Extract every product on page")
    counter.take()
    assert "Converged." in apply(capsys, str(root))
    # The plan's listing (5 pages), the lease's (6 pages, the lease among them), the updates.
    expected = lease_and(GET_tasks=5 + 6, GET_templates=1, PATCH_task=len(UPDATED))
    assert counter.take() == expected


def test_a_saved_plan_is_re_derived_and_applied_with_the_same_requests(
    root: Path,
    counter: RequestCounter,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    apply(capsys, str(root))
    for n in UPDATED:
        write_task(root, n, "Extract every product on page")
    monkeypatch.chdir(root.parent)
    assert main(["plan", "defs", "--out", "plan.json"]) == 0
    capsys.readouterr()
    counter.take()
    assert "Converged." in apply(capsys, "--plan", "plan.json")
    expected = lease_and(GET_tasks=5 + 6, GET_templates=1, PATCH_task=len(UPDATED))
    assert counter.take() == expected


def test_answers_that_leave_a_field_out_are_read_back_with_one_listing(
    root: Path,
    counter: RequestCounter,
    injector: FaultInjector,
    capsys: pytest.CaptureFixture[str],
) -> None:
    apply(capsys, str(root))
    for n in UPDATED:
        write_task(root, n, "Extract every product on page")
    # The service stores each update but answers without its objective: the answer cannot
    # say the update converged, so the tasks are read back, all of them in one listing.
    injector.add(FaultRule(kind="drop_field", field="objective", method="PATCH", path=f"{TASKS}/*"))
    counter.take()
    assert "Converged." in apply(capsys, str(root))
    expected = lease_and(GET_tasks=5 + 6 + 6, GET_templates=1, PATCH_task=len(UPDATED))
    assert counter.take() == expected
