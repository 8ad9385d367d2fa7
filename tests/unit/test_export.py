"""export: deterministic files, safe names, never overwriting what it did not write."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import pytest

from titan_gitops.errors import ConfigError, InputError
from titan_gitops.export import (
    INCOMPLETE_MARKER,
    MARKER,
    _file_names,
    export_tasks,
    file_name,
    name_problem,
    reads_back_as,
    safe_stem,
    shown,
    task_document,
    visible,
)
from titan_gitops.load import MAX_FILE_BYTES
from titan_gitops.model import LiveTask
from titan_gitops.secrets import SecretSet

NO_SECRETS = SecretSet()


def live(name: str, **extra: object) -> LiveTask:
    body = {
        "id": f"id-{name}",
        "name": name,
        "status": "active",
        "urls": ["https://shop.example/"],
        "objective": "Line one\nLine two",
        "output_schema": {"type": "object", "properties": {"price": {"type": "number"}}},
        "execution_type": "single",
        "updated_at": "2026-01-01T00:00:00Z",
        **extra,
    }
    return LiveTask(task_id=body["id"], name=name, updated_at=None, body=body)  # type: ignore[arg-type]


def test_export_twice_is_byte_identical(tmp_path: Path) -> None:
    tasks = [live("shop-a"), live("shop-b", schedule="0 * * * *", execution_type="scheduled")]
    first = export_tasks(tasks, tmp_path, namespace="shop-", secrets=NO_SECRETS)
    snapshot = {p: p.read_bytes() for p in first.written}
    second = export_tasks(tasks, tmp_path, namespace="shop-", secrets=NO_SECRETS)
    assert second.written == ()
    assert {p: p.read_bytes() for p in second.unchanged} == snapshot


def test_export_writes_kind_first_and_no_server_fields(tmp_path: Path) -> None:
    export_tasks([live("shop-a")], tmp_path, namespace="shop-", secrets=NO_SECRETS)
    text = (tmp_path / "tasks" / "shop-a.yaml").read_text()
    assert text.startswith(MARKER)
    assert text.splitlines()[2] == "kind: task"
    assert "id-shop-a\n" not in text.split("\n", 2)[2]
    assert "status" not in text
    assert "objective: |-\n  Line one\n  Line two\n" in text
    assert "namespace: shop-" in (tmp_path / "titan-gitops.yaml").read_text()


def test_only_the_namespace_and_globs_are_exported(tmp_path: Path) -> None:
    report = export_tasks(
        [live("shop-a"), live("shop-b"), live("team-x")],
        tmp_path,
        namespace="shop-",
        only=("*-a",),
        secrets=NO_SECRETS,
    )
    assert report.tasks == 1
    assert sorted(p.name for p in (tmp_path / "tasks").iterdir()) == ["shop-a.yaml"]


def test_refuses_to_overwrite_foreign_files_without_force(tmp_path: Path) -> None:
    (tmp_path / "tasks").mkdir()
    mine = tmp_path / "tasks" / "shop-a.yaml"
    mine.write_text("hand written\n")
    with pytest.raises(InputError, match="did not write"):
        export_tasks([live("shop-a")], tmp_path, secrets=NO_SECRETS)
    assert mine.read_text() == "hand written\n"
    export_tasks([live("shop-a")], tmp_path, force=True, secrets=NO_SECRETS)
    assert mine.read_text().startswith(MARKER)


def test_safe_file_names() -> None:
    assert safe_stem("Shop / Prices: EU") == "shop-prices-eu"
    assert safe_stem("../../etc/passwd") == "etc-passwd"
    assert safe_stem("...") == "task"
    assert safe_stem("shop_a") == "shop-a"


def test_a_plain_name_is_its_own_file_name_and_others_get_a_hash() -> None:
    assert file_name("shop-a") == "shop-a.yaml"
    assert file_name("shop-a.v2") == "shop-a.v2.yaml"
    digest = hashlib.sha256(b"Shop A").hexdigest()[:16]
    assert file_name("Shop A") == f"shop-a_{digest}.yaml"
    for name in ("shop_a", ".hidden", "-dash", "x" * 81, "../up"):
        assert "_" in file_name(name)
        assert "/" not in file_name(name)
        assert not file_name(name).startswith(".")


def test_colliding_stems_get_distinct_files(tmp_path: Path) -> None:
    export_tasks([live("shop a"), live("shop-a"), live("Shop-A")], tmp_path, secrets=NO_SECRETS)
    names = sorted(p.name for p in (tmp_path / "tasks").iterdir())
    assert len(names) == 3
    assert names[0] == "shop-a.yaml"
    assert all(n.startswith("shop-a_") for n in names[1:])


def test_a_task_holding_a_secret_is_reported_never_written_in_clear_or_masked(
    tmp_path: Path,
) -> None:
    task = live("shop-a", objective="Sign in with export-secret-5151 first.")
    report = export_tasks([task], tmp_path, secrets=SecretSet.of(["export-secret-5151"]))
    assert not (tmp_path / "tasks" / "shop-a.yaml").exists()
    assert [r.reason for r in report.refused] == [
        "holds the value of a TITAN_VAR_ variable in objective; export cannot write it without "
        "writing the secret: write that field as ${TITAN_VAR_...} by hand"
    ]
    assert all("export-secret-5151" not in p.read_text() for p in tmp_path.rglob("*.yaml"))


def test_visible_escapes_every_control_invisible_and_bidi_character() -> None:
    assert visible("a\nb\tc\rd") == "a\\nb\\tc\\rd"
    assert visible("\x1b[2J\x7f\x85\x9b") == "\\x1b[2J\\x7f\\x85\\x9b"
    assert visible("x\u202ey\u2028z\u200b") == "x<U+202E>y<U+2028>z<U+200B>"
    assert visible("Prix été — ok") == "Prix été — ok"
    assert shown("a" * 300, limit=10) == "aaaaaaaaaa… (cut; 300 characters in all)"


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("shop-a\nkind: task", "U+000A"),
        ("shop-\u202eevil", "U+202E"),
        ("shop-" + "x" * 300, "305 characters long"),
        ("shop-hunter22", "secret"),
    ],
)
def test_names_a_definition_cannot_hold_are_refused(name: str, reason: str) -> None:
    problem = name_problem(name, SecretSet.of(["hunter22"]))
    assert problem is not None
    assert reason in problem
    assert name_problem("shop-Summer Sale/2026", SecretSet()) is None


def test_refused_tasks_are_reported_and_the_rest_written(tmp_path: Path) -> None:
    report = export_tasks(
        [live("shop-a"), live("shop-b\n---\nkind: task")], tmp_path, secrets=NO_SECRETS
    )
    assert report.tasks == 1
    assert [str(r) for r in report.refused] == [
        "the live task 'shop-b\\n---\\nkind: task' (id id-shop-b\\n---\\nkind: task) holds the "
        "character U+000A in its name, which a definition cannot hold; rename it in Titan, "
        "then export again"
    ]
    assert sorted(p.name for p in (tmp_path / "tasks").iterdir()) == ["shop-a.yaml"]


def test_a_hostile_id_stays_inside_the_header_comment(tmp_path: Path) -> None:
    task = live("shop-a")
    hostile = LiveTask(
        task_id="1\nname: shop-evil\n---\n", name="shop-a", updated_at=None, body=task.body
    )
    export_tasks([hostile], tmp_path, secrets=NO_SECRETS)
    text = (tmp_path / "tasks" / "shop-a.yaml").read_text()
    assert text.splitlines()[1] == "# Task 'shop-a' (id 1\\nname: shop-evil\\n---\\n)."
    assert reads_back_as(text, task_document(task))


def test_text_that_does_not_read_back_as_written_is_caught() -> None:
    document = task_document(live("shop-a"))
    assert not reads_back_as("kind: task\n---\nkind: task\n", document)
    assert not reads_back_as("kind: [\n", document)
    assert not reads_back_as("kind: task\n", document)


def test_two_tasks_meant_for_one_file_are_refused_never_dropped() -> None:
    first, second = live("shop-a"), live("shop-a")
    with pytest.raises(InputError, match=re.escape("would both be written to tasks/shop-a.yaml")):
        _file_names([first, second])


def test_the_incomplete_marker_is_gone_after_an_export_and_cleared_by_a_no_op(
    tmp_path: Path,
) -> None:
    export_tasks([live("shop-a")], tmp_path, secrets=NO_SECRETS)
    assert not (tmp_path / INCOMPLETE_MARKER).exists()
    (tmp_path / INCOMPLETE_MARKER).write_text("left by a crash\n")
    report = export_tasks([live("shop-a")], tmp_path, secrets=NO_SECRETS)
    assert report.written == ()
    assert not (tmp_path / INCOMPLETE_MARKER).exists()


def test_a_failure_before_any_file_changed_leaves_no_marker(tmp_path: Path) -> None:
    (tmp_path / "tasks").mkdir()
    (tmp_path / "tasks" / "shop-a.yaml").mkdir()
    with pytest.raises(ConfigError, match="it is a folder"):
        export_tasks([live("shop-a")], tmp_path, force=True, secrets=NO_SECRETS)
    assert not (tmp_path / INCOMPLETE_MARKER).exists()
    assert not (tmp_path / "titan-gitops.yaml").exists()


def test_a_fifo_in_the_way_is_not_opened(tmp_path: Path) -> None:
    (tmp_path / "tasks").mkdir()
    os.mkfifo(tmp_path / "tasks" / "shop-a.yaml")
    with pytest.raises(InputError, match="did not write"):
        export_tasks([live("shop-a")], tmp_path, secrets=NO_SECRETS)


def test_exporting_into_a_file_is_a_clear_error(tmp_path: Path) -> None:
    target = tmp_path / "file.yaml"
    target.write_text("mine\n")
    with pytest.raises(ConfigError, match="it is not a folder"):
        export_tasks([live("shop-a")], target, secrets=NO_SECRETS)
    assert target.read_text() == "mine\n"


def test_a_huge_file_in_the_way_is_not_read(tmp_path: Path) -> None:
    (tmp_path / "tasks").mkdir()
    huge = tmp_path / "tasks" / "shop-a.yaml"
    with huge.open("wb") as handle:
        handle.write(MARKER.encode() + b"\n")
        handle.truncate(MAX_FILE_BYTES + 1)  # sparse: fast, and larger than the loader reads
    with pytest.raises(InputError, match="did not write"):
        export_tasks([live("shop-a")], tmp_path, secrets=NO_SECRETS)
