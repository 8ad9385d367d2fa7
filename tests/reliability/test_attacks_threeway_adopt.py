"""Attacks on `adopt`: live values, files and timing an operator or a hostile console edit brings.

A real git repository in a temporary folder holds tasks.example; it is applied to an emulator
served on loopback, then edited through the API (as in the console), and `adopt --base` runs
in-process against it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from testing.emulator import start_background_server
from titan_gitops.adopt import AdoptOptions
from titan_gitops.cli import main
from titan_gitops.client import TitanClient
from titan_gitops.commands.adopt import write_edits
from titan_gitops.emulator import EmulatorConfig, create_app
from titan_gitops.errors import ConfigError
from titan_gitops.model import PlanOptions
from titan_gitops.pipeline import make_adoption
from titan_gitops.secrets import SecretSet

REPO = Path(__file__).resolve().parents[2]
TOKEN = "adopt-attack-token-7c41"
IMAGES = "defs/tasks/product-images.yaml"


def git(repo: Path, *args: str) -> str:
    environ = {
        **os.environ,
        "GIT_AUTHOR_NAME": "Ada",
        "GIT_AUTHOR_EMAIL": "ada@example.com",
        "GIT_COMMITTER_NAME": "Ada",
        "GIT_COMMITTER_EMAIL": "ada@example.com",
    }
    done = subprocess.run(
        ["git", *args], cwd=repo, env=environ, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


@dataclass
class Applied:
    repo: Path
    base: str
    client: TitanClient

    def edit(self, name: str, fields: dict[str, Any]) -> None:
        (task,) = [t for t in self.client.list_tasks() if t.name == name]
        self.client.update_task(task.id, fields)


@pytest.fixture
def applied(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Iterator[Applied]:
    """tasks.example committed as `defs` and applied; the base is that commit."""
    app = create_app(EmulatorConfig(tokens={TOKEN: None}))
    server, url = start_background_server(app.serve_request)
    client = TitanClient(
        "http://titan.test", TOKEN, transport=httpx.WSGITransport(app=app.serve_request)
    )
    monkeypatch.setenv("TITAN_API_URL", url)
    monkeypatch.setenv("TITAN_TOKEN", TOKEN)
    for name in [k for k in os.environ if k.startswith("TITAN_VAR_")]:
        monkeypatch.delenv(name)
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    shutil.copytree(REPO / "tasks.example", repo / "defs")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "the base")
    monkeypatch.chdir(repo)
    try:
        assert main(["apply", "defs", "--auto-approve"]) == 0
        capsys.readouterr()
        yield Applied(repo, git(repo, "rev-parse", "HEAD"), client)
    finally:
        client.close()
        server.shutdown()


def adopt(capsys: pytest.CaptureFixture[str], applied: Applied, *extra: str) -> tuple[int, str]:
    code = main(["adopt", "defs", "--base", applied.base, *extra])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out + err


@pytest.mark.attack(kind="adopt")
def test_the_token_in_a_live_value_is_never_written_though_the_file_holds_a_variables_value(
    applied: Applied, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The file already holds the value of a TITAN_VAR_ variable (in a URL): the token in the
    # live objective must still be refused, not written because "the file leaked already".
    monkeypatch.setenv("TITAN_VAR_MODEL", "espresso-machine")
    applied.edit("shop-product-images", {"objective": f"use {TOKEN} to log in"})
    code, said = adopt(capsys, applied)
    assert code == 0
    assert TOKEN not in (applied.repo / IMAGES).read_text(encoding="utf-8")
    assert git(applied.repo, "status", "--porcelain") == ""
    assert "secret" in said


@pytest.mark.attack(kind="adopt")
@pytest.mark.parametrize(
    "fields",
    [
        {"objective": "red \x1b[31malert"},
        {"objective": "a\u202eb"},
        {"objective": "x" * 10_001},
        {"urls": ["https://user:hunter22@shop.example.com/"]},
    ],
    ids=["escape", "bidi", "too-long", "credentials"],
)
def test_a_live_value_no_definition_can_hold_is_left_and_said_and_the_other_edits_adopted(
    applied: Applied, capsys: pytest.CaptureFixture[str], fields: dict[str, Any]
) -> None:
    applied.edit("shop-price-monitor", {"objective": "Fixed in the console."})
    applied.edit("shop-product-images", fields)
    code, said = adopt(capsys, applied)
    assert code == 0, said
    assert git(applied.repo, "diff", "--name-only") == "defs/tasks/price-monitor.yaml"
    assert "shop-product-images" in said.split("Left as they are:")[1]
    assert "hunter22" not in said


@pytest.mark.attack(kind="adopt")
def test_a_file_changed_on_disk_after_adopt_read_it_is_not_overwritten(applied: Applied) -> None:
    applied.edit("shop-product-images", {"objective": "Fixed in the console."})
    applied.edit("shop-price-monitor", {"objective": "Also fixed."})
    report = make_adoption(
        Path("defs"),
        applied.client,
        PlanOptions(base=applied.base),
        AdoptOptions(),
        environ={},
        secrets=SecretSet.of([TOKEN]),
    )
    assert len(report.edits) == 2
    path = applied.repo / IMAGES
    changed = path.read_text(encoding="utf-8") + "# a teammate's line, saved meanwhile\n"
    path.write_text(changed, encoding="utf-8")
    with pytest.raises(ConfigError, match="changed on disk"):
        write_edits(report.edits)
    assert path.read_text(encoding="utf-8") == changed
    # Nothing is written when one file cannot be: no half-adopted directory.
    assert git(applied.repo, "diff", "--name-only") == IMAGES


@pytest.mark.attack(kind="adopt")
def test_a_definition_file_that_is_a_symlink_is_left_not_replaced_by_a_copy(
    applied: Applied, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = applied.repo
    (repo / "defs/.shared").mkdir()
    shutil.move(repo / IMAGES, repo / "defs/.shared/images.yaml")
    os.symlink("../.shared/images.yaml", repo / IMAGES)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "shared through a link")
    applied.base = git(repo, "rev-parse", "HEAD")
    applied.edit("shop-product-images", {"objective": "Fixed in the console."})
    code, said = adopt(capsys, applied)
    assert code == 0, said
    assert (repo / IMAGES).is_symlink()
    assert git(repo, "status", "--porcelain") == ""
    assert "symlink" in said


def test_a_read_only_definition_file_is_left_and_said(
    applied: Applied, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = applied.repo
    before = (repo / IMAGES).read_bytes()
    os.chmod(repo / IMAGES, 0o444)
    applied.edit("shop-product-images", {"objective": "Fixed in the console."})
    code, said = adopt(capsys, applied)
    assert code == 0, said
    assert (repo / IMAGES).read_bytes() == before
    assert "is read-only" in said
