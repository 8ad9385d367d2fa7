"""A saved plan is a request, not an authority: `apply --plan` refuses every tampered plan.

Each attack edits a real saved plan the way someone who can write the file would, then recomputes
its `change_digest` with the tool's own functions (`planfile.plan_from_dict`,
`fingerprint.change_digest`), and runs `titan-gitops apply --plan` in a subprocess against the
emulator on loopback. Each must exit 1 with one clear message naming the change and saying to run
plan again, print no traceback, and leave every live task exactly as it was.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from testing.emulator import start_background_server
from titan_gitops.client import TitanClient
from titan_gitops.emulator import EmulatorConfig, create_app
from titan_gitops.fingerprint import canonical_json, change_digest
from titan_gitops.pipeline import make_plan, run_apply
from titan_gitops.plan import PlanOptions
from titan_gitops.planfile import plan_from_dict, write_plan_file
from titan_gitops.secrets import SecretSet
from titan_gitops.settings import resolve_target

REPO = Path(__file__).resolve().parents[2]
TOKEN = "plans-token-3f9a7c"
SECRET = "carrier-acct-5e1b"
QUOTE_TASK = (
    "kind: task\n"
    "name: shop-quote\n"
    "urls: [https://carrier.example/api/quote]\n"
    "objective: Get a shipping quote.\n"
    "execution_type: single\n"
    "action_type: api_call\n"
    "template_slug: carrier-quote-json\n"
    "payload:\n"
    '  origin_zip: "10001"\n'
    "  account: ${TITAN_VAR_CARRIER_ACCOUNT}\n"
)


def render_task(name: str, objective: str = "Extract product names and prices.") -> str:
    return (
        f"kind: task\nname: {name}\nurls: [https://shop.example/products]\n"
        f"objective: {objective}\noutput_schema: {{type: object}}\nexecution_type: single\n"
    )


def hand_made(name: str, **fields: Any) -> dict[str, Any]:
    """A task body as someone clicking in Titan's UI would create it."""
    body: dict[str, Any] = {
        "name": name,
        "urls": ["https://other.example/"],
        "objective": "Made by hand.",
        "output_schema": {"type": "object"},
        "execution_type": "single",
    }
    body.update(fields)
    return body


@dataclass
class World:
    """A definitions directory, the emulator it is applied to, and the environment of a run."""

    root: Path
    client: TitanClient
    url: str
    cwd: Path
    variables: dict[str, str] = field(default_factory=lambda: {"TITAN_VAR_CARRIER_ACCOUNT": SECRET})

    @property
    def environ(self) -> dict[str, str]:
        return {"TITAN_API_URL": self.url, "TITAN_TOKEN": TOKEN, **self.variables}

    def live_id(self, name: str) -> str:
        ids = [str(r.body()["id"]) for r in self.client.list_tasks() if r.body()["name"] == name]
        assert len(ids) == 1, (name, ids)
        return ids[0]

    def snapshot(self) -> list[str]:
        """Every live task, in full, in a stable order: equal snapshots mean nothing changed."""
        return sorted(canonical_json(r.body()) for r in self.client.list_tasks())

    def save_plan(self, name: str = "plan.json", options: PlanOptions | None = None) -> Path:
        """`plan DIR --out FILE`, through the same functions the command uses."""
        target = resolve_target(self.environ).describe()
        plan = make_plan(self.root, self.client, options, environ=self.environ, target=target)
        path = self.cwd / name
        write_plan_file(path, plan, secrets=SecretSet.from_environ(self.environ, token=TOKEN))
        return path

    def apply(self, plan: Path, *args: str) -> subprocess.CompletedProcess[str]:
        """`titan-gitops apply --plan FILE ARGS` as a child process in the working directory."""
        environ = {k: v for k, v in os.environ.items() if not k.startswith("TITAN_")}
        environ.pop("CI", None)
        environ.pop("GITHUB_ACTIONS", None)
        environ.update(self.environ)
        return subprocess.run(
            [sys.executable, "-m", "titan_gitops", "apply", "--plan", str(plan), *args],
            cwd=self.cwd,
            env=environ,
            capture_output=True,
            text=True,
            timeout=120,
        )


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    """shop-a, shop-b live and in sync, shop-keep protected, other-team and other-quote foreign;
    then shop-a edited and shop-quote added in git: the saved plan updates one and creates one."""
    app = create_app(EmulatorConfig(db_path=":memory:", tokens={TOKEN: None}))
    server, url = start_background_server(app)
    root = tmp_path / "defs"
    (root / "tasks").mkdir(parents=True)
    (root / "titan-gitops.yaml").write_text(
        "namespace: shop-\nprotected: [shop-keep]\n", encoding="utf-8"
    )
    for name in ("shop-a", "shop-b"):
        (root / "tasks" / f"{name}.yaml").write_text(render_task(name), encoding="utf-8")
    try:
        with TitanClient(url, TOKEN) as client:
            made = World(root=root, client=client, url=url, cwd=tmp_path)
            assert run_apply(make_plan(root, client, environ={}), client).ok
            client.create_task(hand_made("shop-keep"))
            client.create_task(hand_made("other-team"))
            client.create_task(
                hand_made(
                    "other-quote",
                    action_type="api_call",
                    template_slug="carrier-quote-json",
                    payload={"origin_zip": "20002"},
                )
            )
            (root / "tasks" / "shop-a.yaml").write_text(
                render_task("shop-a", "Extract names, prices and stock."), encoding="utf-8"
            )
            (root / "tasks" / "shop-quote.yaml").write_text(QUOTE_TASK, encoding="utf-8")
            yield made
    finally:
        server.shutdown()


def tamper(path: Path, edit: Callable[[dict[str, Any]], None]) -> None:
    """Edit the saved plan, then make its digest agree again with the tool's own functions."""
    data = json.loads(path.read_text(encoding="utf-8"))
    edit(data)
    data["change_digest"] = change_digest(plan_from_dict(data).changes)
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")


def change_named(data: dict[str, Any], action: str, name: str) -> dict[str, Any]:
    found = [c for c in data["changes"] if c["action"] == action and c["name"] == name]
    assert len(found) == 1, [(c["action"], c["name"]) for c in data["changes"]]
    change: dict[str, Any] = found[0]
    return change


def extra_change(action: str, name: str, task_id: str | None, **parts: Any) -> dict[str, Any]:
    """A change in the saved-plan format, as an attacker would add one by hand."""
    change: dict[str, Any] = {
        "action": action,
        "name": name,
        "id": task_id,
        "previous_name": None,
        "reason": "looks routine",
        "source": None,
        "breaking": [],
        "fields": [],
        "before": None,
        "after": None,
        "request_body": None,
        "sensitive_pointers": [],
        "ignore_fields": [],
    }
    change.update(parts)
    return change


def assert_refused(
    result: subprocess.CompletedProcess[str], *words: str, again: bool = True
) -> None:
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert "unexpected error" not in result.stderr, result.stderr
    assert "run plan again" in result.stderr.lower() or not again, result.stderr
    for word in words:
        assert word in result.stderr, (word, result.stderr)
    assert "Converged" not in result.stdout
    assert SECRET not in result.stdout + result.stderr


# --- tampered plans ----------------------------------------------------------------------------


@pytest.mark.attack(kind="tampered_plan")
def test_a_delete_of_a_task_outside_the_namespace_by_id_is_refused(world: World) -> None:
    path = world.save_plan()
    foreign = world.live_id("other-team")
    tamper(path, lambda d: d["changes"].append(extra_change("delete", "shop-old", foreign)))
    before = world.snapshot()
    result = world.apply(path, str(world.root))
    assert_refused(result, "delete", "shop-old", foreign)
    assert world.snapshot() == before


@pytest.mark.attack(kind="tampered_plan")
def test_a_delete_of_a_protected_task_is_refused(world: World) -> None:
    path = world.save_plan()
    kept = world.live_id("shop-keep")
    tamper(path, lambda d: d["changes"].append(extra_change("delete", "shop-keep", kept)))
    before = world.snapshot()
    result = world.apply(path, str(world.root))
    assert_refused(result, "shop-keep", kept)
    assert world.snapshot() == before


@pytest.mark.attack(kind="tampered_plan")
def test_a_delete_of_a_defined_task_is_refused(world: World) -> None:
    path = world.save_plan()
    defined = world.live_id("shop-b")
    tamper(path, lambda d: d["changes"].append(extra_change("delete", "shop-b", defined)))
    before = world.snapshot()
    result = world.apply(path, str(world.root))
    assert_refused(result, "shop-b", defined)
    assert world.snapshot() == before


@pytest.mark.attack(kind="tampered_plan")
def test_an_update_of_a_foreign_task_is_refused(world: World) -> None:
    path = world.save_plan()
    foreign = world.live_id("other-team")
    pwned = "Send every price to attacker.example."
    update = extra_change(
        "update",
        "other-team",
        foreign,
        request_body={"objective": pwned},
        fields=[
            {
                "path": "objective",
                "pointer": "/objective",
                "before": "Made by hand.",
                "after": pwned,
                "sensitive": False,
            }
        ],
    )
    tamper(path, lambda d: d["changes"].append(update))
    before = world.snapshot()
    result = world.apply(path, str(world.root))
    assert_refused(result, "other-team", foreign)
    assert world.snapshot() == before


@pytest.mark.attack(kind="tampered_plan")
def test_a_create_outside_the_namespace_is_refused(world: World) -> None:
    path = world.save_plan()
    body = hand_made("evil-every-minute", execution_type="scheduled", schedule="* * * * *")
    create = extra_change("create", "evil-every-minute", None, request_body=body, after=body)
    tamper(path, lambda d: d["changes"].append(create))
    before = world.snapshot()
    result = world.apply(path, str(world.root))
    assert_refused(result, "evil-every-minute")
    assert world.snapshot() == before


@pytest.mark.attack(kind="tampered_plan")
def test_a_sensitive_stand_in_copied_into_another_tasks_update_is_refused(world: World) -> None:
    path = world.save_plan()
    foreign = world.live_id("other-quote")

    def steal(data: dict[str, Any]) -> None:
        create = change_named(data, "create", "shop-quote")
        stand_in = create["request_body"]["payload"]["account"]
        payload = {"origin_zip": "20002", "account": stand_in}
        stolen = {
            "path": "payload.account",
            "pointer": "/payload/account",
            "before": None,
            "after": stand_in,
            "sensitive": True,
        }
        data["changes"].append(
            extra_change(
                "update",
                "shop-quote",
                foreign,
                request_body={"payload": payload},
                fields=[stolen],
                sensitive_pointers=["/payload/account"],
            )
        )

    tamper(path, steal)
    before = world.snapshot()
    result = world.apply(path, str(world.root))
    assert_refused(result, "shop-quote", foreign)
    assert world.snapshot() == before
    assert SECRET not in "".join(world.snapshot())


@pytest.mark.attack(kind="tampered_plan")
def test_an_update_moved_to_another_tasks_id_is_refused(world: World) -> None:
    path = world.save_plan()
    other = world.live_id("shop-b")
    tamper(path, lambda d: change_named(d, "update", "shop-a").update(id=other))
    before = world.snapshot()
    result = world.apply(path, str(world.root))
    assert_refused(result, "shop-a", other)
    assert world.snapshot() == before


@pytest.mark.attack(kind="tampered_plan")
def test_an_unreviewed_request_body_is_refused(world: World) -> None:
    path = world.save_plan()

    def rewrite(data: dict[str, Any]) -> None:
        change_named(data, "update", "shop-a")["request_body"]["objective"] = "Unreviewed."

    tamper(path, rewrite)
    before = world.snapshot()
    result = world.apply(path, str(world.root))
    assert_refused(result, "update", "shop-a")
    assert world.snapshot() == before


@pytest.mark.attack(kind="tampered_plan")
def test_the_deletion_allowance_is_not_taken_from_the_saved_plan(world: World) -> None:
    (world.root / "titan-gitops.yaml").write_text(
        "namespace: shop-\nprotected: [shop-keep]\nmax_deletes: 1\n", encoding="utf-8"
    )
    for name in ("shop-stray-1", "shop-stray-2"):
        world.client.create_task(hand_made(name))
    path = world.save_plan(options=PlanOptions(allow_deletes=2))
    before = world.snapshot()
    result = world.apply(path, str(world.root))
    assert_refused(result, "more than the 1 allowed", "--allow-deletes", again=False)
    assert world.snapshot() == before


@pytest.mark.attack(kind="tampered_plan")
def test_a_recorded_directory_outside_the_working_directory_is_refused(
    world: World, tmp_path: Path
) -> None:
    path = world.save_plan()
    tamper(path, lambda d: d.update(directory=str(world.root.resolve())))
    before = world.snapshot()
    result = world.apply(path)  # no DIR: the recorded one would be used
    assert_refused(result, str(world.root.resolve()), "DIR", again=False)
    tamper(path, lambda d: d.update(directory="../defs"))
    assert_refused(world.apply(path), "../defs", "DIR", again=False)
    assert world.snapshot() == before


# --- what a saved plan reveals, and how much of one is read --------------------------------------


@pytest.mark.attack
def test_saved_plans_hold_nothing_derived_from_the_secret(world: World) -> None:
    first = world.save_plan("first.json")
    world.variables = {"TITAN_VAR_CARRIER_ACCOUNT": "482913"}
    second = world.save_plan("second.json")
    world.variables = {"TITAN_VAR_CARRIER_ACCOUNT": "771036"}
    third = world.save_plan("third.json")
    assert second.read_bytes() == third.read_bytes()
    assert "482913" not in second.read_text(encoding="utf-8")
    # A secret of another length changes nothing either: the stand-in holds no trace of it.
    assert first.read_bytes() == second.read_bytes()


@pytest.mark.attack
def test_a_plan_file_over_the_cap_is_refused_before_it_is_parsed(world: World) -> None:
    path = world.cwd / "huge.json"
    with path.open("wb") as handle:
        handle.write(b"{")
    os.truncate(path, 64 * 2**20 + 1)  # sparse: costs no disk and no time to make
    before = world.snapshot()
    result = world.apply(path, str(world.root))
    assert_refused(result, str(path), "64 MiB")
    assert world.snapshot() == before


@pytest.mark.attack
def test_a_plan_file_of_tiny_values_is_refused_before_it_is_parsed(world: World) -> None:
    # 9 MB of `{},` would take some 300 MB once parsed; under the byte cap, 64 MiB took 1.7 GB.
    path = world.cwd / "tiny.json"
    path.write_text('{"changes": [' + "{}," * 3_000_000 + "{}]}", encoding="utf-8")
    before = world.snapshot()
    result = world.apply(path, str(world.root))
    assert_refused(result, str(path), "over the cap of 3,000,000")
    assert world.snapshot() == before


# --- what a saved plan may still do ------------------------------------------------------------


def test_a_saved_plan_holding_part_of_the_fresh_changes_applies_only_those(world: World) -> None:
    path = world.save_plan()
    tamper(path, lambda d: d["changes"].remove(change_named(d, "create", "shop-quote")))
    result = world.apply(path, str(world.root))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Converged." in result.stdout
    assert "1 of the 2 changes" in result.stderr
    stored = world.client.get_task(world.live_id("shop-a")).body()
    assert stored["objective"] == "Extract names, prices and stock."
    assert "shop-quote" not in [r.body()["name"] for r in world.client.list_tasks()]


def test_a_saved_plan_applies_the_clear_secret_at_the_planned_pointer(world: World) -> None:
    path = world.save_plan()
    assert SECRET not in path.read_text(encoding="utf-8")
    result = world.apply(path, str(world.root))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"from the definitions in {world.root}" in result.stderr
    stored = world.client.get_task(world.live_id("shop-quote")).body()
    assert stored["payload"]["account"] == SECRET
    assert SECRET not in result.stdout + result.stderr


def test_a_saved_plan_made_before_a_live_edit_is_refused_as_stale(world: World) -> None:
    path = world.save_plan()
    edited = world.live_id("shop-b")
    world.client.update_task(edited, {"objective": "Changed in the UI."})
    before = world.snapshot()
    result = world.apply(path, str(world.root))
    assert_refused(result, "stale", f"task 'shop-b' (id {edited}) was changed")
    assert world.snapshot() == before


def test_the_recorded_relative_directory_is_used_without_dir(world: World) -> None:
    path = world.save_plan()
    tamper(path, lambda d: d.update(directory="defs"))
    result = world.apply(path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "from the definitions in defs" in result.stderr
