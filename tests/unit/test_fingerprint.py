"""Fingerprints and digests: stable across builds, blind to secrets, moved by every live edit."""

from __future__ import annotations

import hashlib
from typing import Any

from titan_gitops.diff import diff_states
from titan_gitops.fingerprint import fingerprint
from titan_gitops.model import DesiredState, DesiredTask, LiveState, LiveTask
from titan_gitops.plan import build_plan
from titan_gitops.planfile import plan_to_dict
from titan_gitops.spec import ProjectConfig

API_KEY = "/payload/api_key"


def _body(name: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "urls": ["https://shop.example/"],
        "objective": "Extract product names",
        "execution_type": "single",
        **extra,
    }


def _live(name: str, **extra: Any) -> LiveTask:
    return LiveTask(
        f"id-{name}", name, "2026-11-28T00:00:00Z", {**_body(name, **extra), "id": f"id-{name}"}
    )


def _saved_plan(task: DesiredTask, *live: LiveTask) -> dict[str, Any]:
    desired = DesiredState((task,), templates={}, project=ProjectConfig(namespace="shop-"))
    state = LiveState(live)
    return plan_to_dict(build_plan(desired, state, diff_states(desired, state)))


def test_a_non_ascii_name_hashes_as_utf8_so_older_saved_plans_still_match() -> None:
    # A saved plan carries its scope digest from the build that wrote it to the build that
    # applies it: the hash is over the UTF-8 text itself, never over \u escapes of it.
    expected = hashlib.sha256('[["shop-café","id-1"]]'.encode()).hexdigest()
    assert expected == "03ddb17ffcd25175b4f1fbe8f51a6a276e9d797d1388772758cadb9ab300a3b2"
    live = LiveTask("id-1", "shop-café", None, _body("shop-café"))
    plan = _saved_plan(DesiredTask("shop-café", _body("shop-café")), live)
    assert plan["scope_digest"] == expected


def test_a_live_task_gaining_a_sensitive_value_changes_its_fingerprint() -> None:
    # The value itself is hidden from the digest, but whether live holds one is not: a secret
    # set on the service after the plan was made must make the plan stale.
    without = _live("shop-a")
    with_key = _live("shop-a", payload={"api_key": "s3cr3t-value"})
    other_key = _live("shop-a", payload={"api_key": "another-value"})

    def digest(task: LiveTask) -> str:
        body = {k: v for k, v in task.body.items() if k != "id"}
        return fingerprint(task, body, hidden=(API_KEY,)).digest

    assert digest(without) != digest(with_key)
    assert digest(with_key) == digest(other_key)


def test_a_saved_plan_shows_no_stand_in_where_live_holds_no_sensitive_value() -> None:
    task = DesiredTask(
        "shop-a",
        _body("shop-a", payload={"api_key": "s3cr3t-value"}),
        sensitive_paths=frozenset({API_KEY}),
    )
    (change,) = _saved_plan(task, _live("shop-a"))["changes"]
    assert change["action"] == "update"
    assert "payload" not in change["before"]
    assert change["after"]["payload"] == {"api_key": {"sensitive": True}}
    assert change["request_body"] == {"payload": {"api_key": {"sensitive": True}}}


def test_a_saved_plan_fingerprint_leaves_out_the_definitions_sensitive_values() -> None:
    # A digest over a short secret could be reversed by trying every value: two live values
    # of the secret must give the same recorded fingerprint.
    task = DesiredTask(
        "shop-a",
        _body("shop-a", payload={"api_key": "s3cr3t-value"}),
        sensitive_paths=frozenset({API_KEY}),
    )
    first = _saved_plan(task, _live("shop-a", payload={"api_key": "live-one"}))
    second = _saved_plan(task, _live("shop-a", payload={"api_key": "live-two"}))
    assert first["fingerprints"] == second["fingerprints"]
    assert first["fingerprints"][0]["hidden"] == [API_KEY]
