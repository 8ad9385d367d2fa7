"""adopt.plan_adoption and check_adopted: what is written, what is left and why. No service."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from titan_gitops.adopt import (
    AdoptError,
    AdoptOptions,
    AdoptReport,
    check_adopted,
    plan_adoption,
)
from titan_gitops.diff import diff_states
from titan_gitops.errors import ValidationFailed
from titan_gitops.model import BaseInfo, DesiredState, LiveState, LiveTask
from titan_gitops.pipeline import validate_directory, validate_with
from titan_gitops.secrets import SecretSet
from titan_gitops.threeway import attribute

PROJECT = "namespace: shop-\ndefaults:\n  proxy_locations: [us]\n"
TEMPLATE = """\
kind: template
name: page
execution_type: single
output_schema:
  type: object
"""
TASK = """\
# The shop's price task.
kind: task
name: shop-a
extends: page
urls:
  - https://shop.example/a   # the main page
objective: Read prices.  # keep it short
"""
SECRET_TASK = """\
kind: task
name: shop-key
extends: page
urls: ['https://shop.example/k']
objective: 'Use key ${TITAN_VAR_KEY} to read.'
"""
FILE_TASK = """\
kind: task
name: shop-file
urls: ['https://shop.example/f']
objective: Read files.
execution_type: single
output_schema: {$file: schema.json}
"""
ENV = {"TITAN_VAR_KEY": "s3cret-key-value"}


@pytest.fixture
def defs(tmp_path: Path) -> Path:
    root = tmp_path / "defs"
    (root / "tasks").mkdir(parents=True)
    (root / "titan-gitops.yaml").write_text(PROJECT, encoding="utf-8")
    (root / "page.yaml").write_text(TEMPLATE, encoding="utf-8")
    (root / "tasks" / "a.yaml").write_text(TASK, encoding="utf-8")
    (root / "tasks" / "key.yaml").write_text(SECRET_TASK, encoding="utf-8")
    (root / "tasks" / "file.yaml").write_text(FILE_TASK, encoding="utf-8")
    (root / "schema.json").write_text('{"type": "object"}', encoding="utf-8")
    return root


def state(root: Path) -> DesiredState:
    return validate_directory(root, environ=ENV)


def live_of(desired: DesiredState, **edits: Any) -> list[LiveTask]:
    """The live tasks as applied from `desired`, then `edits` made in Titan (name → fields;
    None as a value: the task deleted)."""
    out = []
    for task in desired.tasks:
        change = edits.get(task.name, {})
        if change is None:
            continue
        out.append(
            LiveTask(f"id-{task.name}", task.name, "2026-11-24T09:12:00Z", {**task.body, **change})
        )
    return out


def adopt(root: Path, base: DesiredState, live: list[LiveTask], **options: bool) -> AdoptReport:
    desired = state(root)
    diffs = diff_states(desired, LiveState(tuple(live)))
    threeway = attribute(
        BaseInfo("HEAD", "a" * 40), base, diffs, in_scope=lambda n: n.startswith("shop-")
    )
    return plan_adoption(
        root,
        threeway,
        desired,
        live,
        AdoptOptions(**options),
        secrets=SecretSet.from_environ(ENV),
        variables=ENV,
    )


def after(report: AdoptReport, path: Path) -> str:
    return next(e.after for e in report.edits if e.path == path)


def test_a_live_edit_is_written_into_its_key_and_the_rest_is_byte_identical(defs: Path) -> None:
    base = state(defs)
    report = adopt(defs, base, live_of(base, **{"shop-a": {"objective": "Read all prices."}}))
    (edit,) = report.edits
    assert edit.path == defs / "tasks" / "a.yaml"
    assert edit.after == TASK.replace("Read prices.  # keep", "Read all prices.  # keep")
    (adopted,) = report.adopted
    assert (adopted.name, adopted.fields, adopted.overrides) == ("shop-a", ("objective",), ())
    assert "--- a/" in edit.unified_diff()


def test_values_from_a_template_or_the_defaults_become_overrides_said_as_such(defs: Path) -> None:
    base = state(defs)
    edits = {
        "shop-a": {
            "execution_type": "scheduled",
            "schedule": "0 * * * *",
            "proxy_locations": ["de"],
        }
    }
    report = adopt(defs, base, live_of(base, **edits))
    (adopted,) = report.adopted
    # schedule was set nowhere before: it is simply added, not an override.
    assert dict(adopted.overrides) == {
        "execution_type": "template 'page'",
        "proxy_locations": "the project's defaults",
    }
    assert set(adopted.fields) == {"execution_type", "proxy_locations", "schedule"}
    text = after(report, defs / "tasks" / "a.yaml")
    assert text.startswith(TASK)  # only appended: every line before is as it was
    assert "proxy_locations:\n  - de\n" in text


def test_a_placeholder_a_file_schema_and_a_rename_are_never_overwritten(defs: Path) -> None:
    base = state(defs)
    edits = {
        "shop-key": {"objective": "Use key s3cret-key-value to read all."},
        "shop-file": {"output_schema": {"type": "object", "required": ["x"]}},
    }
    report = adopt(defs, base, live_of(base, **edits))
    assert report.edits == ()
    reasons = {(n.name, n.field): n.reason for n in report.not_adopted}
    assert "placeholder" in reasons[("shop-key", "objective")]
    assert "$file schema" in reasons[("shop-file", "output_schema")]
    assert all("s3cret" not in r for r in reasons.values())


def test_a_live_value_equal_to_a_variable_is_written_as_its_placeholder(defs: Path) -> None:
    base = state(defs)
    report = adopt(defs, base, live_of(base, **{"shop-a": {"objective": "s3cret-key-value"}}))
    text = after(report, defs / "tasks" / "a.yaml")
    assert "s3cret-key-value" not in text
    assert "objective: ${TITAN_VAR_KEY}" in text


def test_conflicts_and_deletions_wait_for_their_flags(defs: Path) -> None:
    base = state(defs)
    (defs / "tasks" / "a.yaml").write_text(TASK.replace("Read prices.", "Git prices."), "utf-8")
    live = live_of(base, **{"shop-a": {"objective": "Titan prices."}, "shop-file": None})
    left = adopt(defs, base, live)
    assert left.edits == ()
    reasons = {n.name: n.reason for n in left.not_adopted}
    assert "--include-conflicts" in reasons["shop-a"]
    assert "--include-deletes" in reasons["shop-file"]
    taken = adopt(defs, base, live, include_conflicts=True, include_deletes=True)
    assert "objective: Titan prices." in after(taken, defs / "tasks" / "a.yaml")
    assert after(taken, defs / "tasks" / "file.yaml") == ""
    assert {a.how for a in taken.adopted} == {"edited", "removed"}


def test_line_ends_and_a_byte_order_mark_are_kept(defs: Path) -> None:
    path = defs / "tasks" / "a.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + TASK.replace("\n", "\r\n").encode())
    base = state(defs)
    report = adopt(defs, base, live_of(base, **{"shop-a": {"objective": "New."}}))
    text = after(report, path)
    assert text.startswith("\ufeff# The shop's")
    assert "objective: New.  # keep it short\r\n" in text
    assert "\n" not in text.replace("\r\n", "")


def test_the_check_refuses_edits_that_would_not_validate_or_not_match(defs: Path) -> None:
    base = state(defs)
    live = live_of(base, **{"shop-a": {"objective": "New."}})
    report = adopt(defs, base, live)
    check_adopted(report, lambda texts: validate_with(defs, texts, environ=ENV), live)
    # Titan moved again after the adoption was planned: the edits no longer bring git there.
    moved = live_of(base, **{"shop-a": {"objective": "Newer."}})
    with pytest.raises(AdoptError, match="'shop-a' would still differ from Titan in objective"):
        check_adopted(report, lambda texts: validate_with(defs, texts, environ=ENV), moved)
    broken = {defs / "tasks" / "a.yaml": "kind: task\nname: [\n"}
    with pytest.raises(ValidationFailed) as caught:
        validate_with(defs, broken, environ=ENV)
    assert [p.path for p in caught.value.problems] == [str(defs / "tasks" / "a.yaml")]


def test_nothing_to_adopt_is_an_empty_report(defs: Path) -> None:
    base = state(defs)
    report = adopt(defs, base, live_of(base))
    assert (report.edits, report.adopted, report.not_adopted) == ((), (), ())
