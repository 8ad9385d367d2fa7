"""export: deterministic files, safe names, never overwriting what it did not write."""

from __future__ import annotations

from pathlib import Path

import pytest

from titan_gitops.errors import InputError
from titan_gitops.export import MARKER, export_tasks, safe_stem
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


def test_colliding_file_names_get_a_hash(tmp_path: Path) -> None:
    export_tasks([live("shop a"), live("shop-a")], tmp_path, secrets=NO_SECRETS)
    names = sorted(p.name for p in (tmp_path / "tasks").iterdir())
    assert len(names) == 2
    assert all(n.startswith("shop-a-") for n in names)


def test_a_secret_the_live_service_holds_is_never_written_in_clear(tmp_path: Path) -> None:
    task = live("shop-a", objective="Sign in with export-secret-5151 first.")
    export_tasks([task], tmp_path, secrets=SecretSet.of(["export-secret-5151"]))
    text = (tmp_path / "tasks" / "shop-a.yaml").read_text(encoding="utf-8")
    assert "export-secret-5151" not in text
    assert "Sign in with *** first." in text
