"""Attacks found by a second adversarial pass: secrets through fingerprints and no-op changes of
saved plans, a task named like a lease, and the mask written into exported definitions.

Each test reproduces one attack with real parts only (the emulator over loopback, real files, the
CLI as a child process) and asserts the safe outcome.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from testing.emulator import start_background_server
from tests.reliability.test_attacks_plans import QUOTE_TASK, TOKEN, World, render_task
from titan_gitops.client import TitanClient
from titan_gitops.emulator import EmulatorConfig, create_app
from titan_gitops.fingerprint import canonical_hash
from titan_gitops.pipeline import make_plan, run_apply

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def live_secret(tmp_path: Path) -> Iterator[World]:
    """shop-a and shop-quote live and in sync, shop-quote's payload holding the secret; then
    shop-a edited in git, so a saved plan updates shop-a and leaves shop-quote a no-op."""
    app = create_app(EmulatorConfig(db_path=":memory:", tokens={TOKEN: None}))
    server, url = start_background_server(app)
    root = tmp_path / "defs"
    (root / "tasks").mkdir(parents=True)
    (root / "titan-gitops.yaml").write_text("namespace: shop-\n", encoding="utf-8")
    (root / "tasks" / "shop-a.yaml").write_text(render_task("shop-a"), encoding="utf-8")
    (root / "tasks" / "shop-quote.yaml").write_text(QUOTE_TASK, encoding="utf-8")
    try:
        with TitanClient(url, TOKEN) as client:
            made = World(root=root, client=client, url=url, cwd=tmp_path)
            made.variables = {"TITAN_VAR_CARRIER_ACCOUNT": "482913"}
            plan = make_plan(root, client, environ=made.variables)
            assert run_apply(plan, client).ok
            (root / "tasks" / "shop-a.yaml").write_text(
                render_task("shop-a", "Extract names, prices and stock."), encoding="utf-8"
            )
            yield made
    finally:
        server.shutdown()


def _quote_parts(path: Path) -> tuple[dict[str, Any], str]:
    """The saved no-op change of shop-quote (its `before`) and shop-quote's fingerprint digest."""
    data = json.loads(path.read_text(encoding="utf-8"))
    change = next(c for c in data["changes"] if c["name"] == "shop-quote")
    digest = next(f["digest"] for f in data["fingerprints"] if f["name"] == "shop-quote")
    return change, digest


@pytest.mark.attack
def test_a_saved_plans_fingerprint_is_no_offline_oracle_for_a_live_secret(
    live_secret: World,
) -> None:
    # The secret is live in shop-quote's payload. The saved plan masks it in the no-op change's
    # `before`, but its fingerprint digest is an unkeyed SHA-256 of that same body with the
    # secret in it: put a guess back at /payload/account and hash. Every six-digit value is
    # tried in about 9 s on one core (the whole space was searched to find 482913).
    path = live_secret.save_plan()
    change, digest = _quote_parts(path)
    assert "482913" not in path.read_text(encoding="utf-8")
    assert change["action"] == "no-op"

    def confirms(guess: str) -> bool:
        body = json.loads(json.dumps(change["before"]))
        body["payload"]["account"] = guess
        return canonical_hash(body) == digest

    assert not confirms("000000")
    assert not confirms("482913"), "the saved plan confirms a guessed secret offline"


@pytest.mark.attack
def test_a_short_secret_of_a_no_op_task_is_not_saved_in_clear(live_secret: World) -> None:
    # A no-op change carries no sensitive pointers, so its `before` and `after` are hidden only
    # by the masker, which skips values under four characters: a three-character TITAN_VAR_
    # value (a PIN, a short account code) is written in clear into `plan --out`.
    live_secret.variables = {"TITAN_VAR_CARRIER_ACCOUNT": "739"}
    plan = make_plan(live_secret.root, live_secret.client, environ=live_secret.variables)
    assert run_apply(plan, live_secret.client).ok
    (live_secret.root / "tasks" / "shop-a.yaml").write_text(
        render_task("shop-a", "Extract names only."), encoding="utf-8"
    )
    path = live_secret.save_plan()
    change, _ = _quote_parts(path)
    assert change["action"] == "no-op"
    assert change["before"]["payload"]["account"] != "739", "secret saved in clear (before)"
    assert change["after"]["payload"]["account"] != "739", "secret saved in clear (after)"


@pytest.mark.attack
def test_a_scheduled_task_under_the_reserved_lease_prefix_does_not_hide_from_drift(
    live_secret: World,
) -> None:
    # Anyone with write access names a real scraping job like a lease: fetch drops every task
    # under the reserved prefix, so drift reports "No drift" while it runs every minute against
    # any site, and export never writes it. It is no lease (no lease record, scheduled, real
    # URLs); drift should name it, or refuse, rather than say all is well.
    live_secret.client.create_task(
        {
            "name": ".titan-gitops-lease/shop-",
            "urls": ["https://victim.example/"],
            "objective": "Scrape every minute.",
            "output_schema": {"type": "object"},
            "execution_type": "scheduled",
            "schedule": "* * * * *",
        }
    )
    (live_secret.root / "tasks" / "shop-a.yaml").write_text(render_task("shop-a"), "utf-8")
    environ = {k: v for k, v in os.environ.items() if not k.startswith("TITAN_")}
    environ.pop("CI", None)
    environ.pop("GITHUB_ACTIONS", None)
    environ.update(live_secret.environ, PYTHONPATH=str(REPO))
    result = subprocess.run(
        [sys.executable, "-m", "titan_gitops", "drift", str(live_secret.root)],
        cwd=live_secret.cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    assert "No drift" not in output or ".titan-gitops-lease/" in output, output


@pytest.mark.attack
def test_export_never_writes_the_mask_into_a_definition(live_secret: World) -> None:
    # A careless user has TITAN_VAR_REGION=eu-west-1 set (not a secret in spirit, but every
    # TITAN_VAR_ value is masked). A live objective mentions eu-west-1; export masks it on the way
    # out and writes `objective: Scrape prices for *** customers` with exit 0. The definition
    # validates, the next plan proposes overwriting the live objective with the literal `***`
    # (its text shows `*** → ***`, so the reviewer sees no difference), and apply does it.
    live_secret.client.create_task(
        {
            "name": "shop-region",
            "urls": ["https://shop.example/"],
            "objective": "Scrape prices for eu-west-1 customers",
            "output_schema": {"type": "object"},
            "execution_type": "single",
        }
    )
    environ = {k: v for k, v in os.environ.items() if not k.startswith("TITAN_")}
    environ.pop("CI", None)
    environ.pop("GITHUB_ACTIONS", None)
    environ.update(live_secret.environ, PYTHONPATH=str(REPO))
    environ["TITAN_VAR_REGION"] = "eu-west-1"
    out = live_secret.cwd / "exported"

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "titan_gitops", *args],
            cwd=live_secret.cwd,
            env=environ,
            capture_output=True,
            text=True,
            timeout=120,
        )

    exported = cli("export", "--out", str(out), "--namespace", "shop-region")
    assert "Traceback" not in exported.stderr
    if exported.returncode != 0:
        return  # refusing, naming the field, is a safe outcome
    written = (out / "tasks" / "shop-region.yaml").read_text(encoding="utf-8")
    assert "***" not in written, written
    planned = cli("plan", str(out))
    assert planned.returncode == 0, planned.stdout + planned.stderr
    assert "No changes." in planned.stdout, planned.stdout
