"""`adopt` through the installed CLI: a real repository, edits made in Titan written into git."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest

from .conftest import TOKEN, Served
from .test_threeway_e2e import EXAMPLE, cli, edit_live, git

pytestmark = pytest.mark.e2e


@pytest.fixture
def applied(tmp_path: Path, emulator: Served) -> tuple[Path, str]:
    """tasks.example committed as `defs` and applied; the base commit."""
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    shutil.copytree(EXAMPLE, root / "defs")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "the base")
    assert cli(root, emulator.url, "apply", "defs", "--auto-approve").returncode == 0
    return root, git(root, "rev-parse", "HEAD")


def changed_lines(repo: Path) -> list[str]:
    diff = git(repo, "diff", "-U0", "--no-color")
    return [
        line
        for line in diff.splitlines()
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]


def http(url: str) -> httpx.Client:
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {TOKEN}"})


def live_task(url: str, name: str) -> dict[str, Any]:
    with http(url) as client:
        tasks = client.get("/api/v1/tasks", params={"limit": 100}).json()["data"]
    return next(t for t in tasks if t["name"] == name)


def test_a_console_edit_is_written_into_its_line_and_nothing_else(
    emulator: Served, applied: tuple[Path, str]
) -> None:
    repo, base = applied
    edit_live(emulator.url, "shop-product-images", {"objective": "Fixed at 3 a.m. in the console"})
    before = (repo / "defs/tasks/product-images.yaml").read_text(encoding="utf-8")

    dry = cli(repo, emulator.url, "adopt", "defs", "--base", base, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "+objective: Fixed at 3 a.m. in the console" in dry.stdout
    assert "nothing was written" in dry.stdout
    assert (repo / "defs/tasks/product-images.yaml").read_text(encoding="utf-8") == before

    done = cli(repo, emulator.url, "adopt", "defs", "--base", base)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "shop-product-images  objective" in done.stdout
    assert changed_lines(repo) == [
        "-objective: Extract the product name and its main photo.",
        "+objective: Fixed at 3 a.m. in the console",
    ]
    plan = cli(repo, emulator.url, "plan", "defs", "--detailed-exitcode")
    assert plan.returncode == 0, plan.stdout
    assert TOKEN not in done.stdout + done.stderr + dry.stdout


def test_a_value_from_a_template_or_defaults_becomes_an_override_in_the_tasks_file(
    emulator: Served, applied: tuple[Path, str]
) -> None:
    repo, base = applied
    edit_live(emulator.url, "shop-product-extraction", {"proxy_locations": ["de"]})
    done = cli(repo, emulator.url, "adopt", "defs", "--base", base)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "proxy_locations came from the project's defaults: written as an override" in done.stdout
    assert git(repo, "diff", "--name-only") == "defs/tasks/product-extraction.yaml"
    assert [line for line in changed_lines(repo) if line.startswith("-")] == []
    assert cli(repo, emulator.url, "plan", "defs", "--detailed-exitcode").returncode == 0


def test_a_conflict_is_left_unless_asked_and_a_base_is_required(
    emulator: Served, applied: tuple[Path, str]
) -> None:
    repo, base = applied
    edit_live(emulator.url, "shop-product-images", {"objective": "Titan's wording"})
    path = repo / "defs/tasks/product-images.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("its main photo.", "its photos."), encoding="utf-8")
    git(repo, "commit", "-qam", "git's wording")

    left = cli(repo, emulator.url, "adopt", "defs", "--base", base)
    assert left.returncode == 0, left.stderr
    assert "objective: changed in git and in Titan" in left.stdout
    assert "--include-conflicts" in left.stdout
    assert git(repo, "status", "--porcelain") == ""

    taken = cli(repo, emulator.url, "adopt", "defs", "--base", base, "--include-conflicts")
    assert taken.returncode == 0, taken.stderr
    assert "+objective: Titan's wording" in git(repo, "diff")

    no_base = cli(repo, emulator.url, "adopt", "defs")
    assert no_base.returncode == 1
    assert "--base" in no_base.stderr


def test_created_in_titan_gets_a_file_and_deleted_is_removed_only_when_asked(
    emulator: Served, applied: tuple[Path, str]
) -> None:
    repo, base = applied
    template = live_task(emulator.url, "shop-product-images")
    body = {
        k: template[k]
        for k in ("urls", "objective", "output_schema", "execution_type")
        if k in template
    }
    with http(emulator.url) as client:
        made = client.post("/api/v1/tasks", json={**body, "name": "shop-console-made"})
        assert made.status_code in (200, 201), made.text
        gone = live_task(emulator.url, "shop-competitor-search")
        assert client.delete(f"/api/v1/tasks/{gone['id']}").status_code in (200, 204)

    first = cli(repo, emulator.url, "adopt", "defs", "--base", base)
    assert first.returncode == 0, first.stderr
    assert "shop-console-made  created in Titan → new file defs/tasks/shop-console-made.yaml" in (
        first.stdout
    )
    assert "shop-competitor-search: deleted in Titan; pass --include-deletes" in first.stdout
    assert (repo / "defs/tasks/shop-console-made.yaml").is_file()
    assert (repo / "defs/tasks/competitor-search.yaml").is_file()

    second = cli(repo, emulator.url, "adopt", "defs", "--base", base, "--include-deletes")
    assert second.returncode == 0, second.stderr
    assert not (repo / "defs/tasks/competitor-search.yaml").exists()
    plan = cli(repo, emulator.url, "plan", "defs", "--detailed-exitcode")
    assert plan.returncode == 0, plan.stdout
