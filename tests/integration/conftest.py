"""Shared pieces of the integration tests: definition directories, emulators and clients."""

from __future__ import annotations

import json
import shutil
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from testing.emulator import start_background_server
from titan_gitops.client import TitanClient
from titan_gitops.emulator import EmulatorConfig, create_app
from titan_gitops.emulator.faults import FaultInjector
from titan_gitops.emulator.serve import EmulatorServer

TOKEN = "integration-token-8c41e2"
NAMESPACE = "shop-"


def render_task(name: str, objective: str = "Extract product names and prices.") -> str:
    """The YAML of one plain task definition."""
    return textwrap.dedent(
        f"""\
        kind: task
        name: {name}
        urls:
          - https://shop.example/products
        objective: {objective}
        output_schema:
          type: object
          properties:
            name: {{type: string}}
            price: {{type: number}}
          required: [name]
        execution_type: single
        """
    )


def write_definitions(root: Path, tasks: dict[str, str], namespace: str | None = NAMESPACE) -> Path:
    """Write a definitions directory: `tasks` maps file stems to YAML text."""
    (root / "tasks").mkdir(parents=True, exist_ok=True)
    if namespace is not None:
        (root / "titan-gitops.yaml").write_text(f"namespace: {namespace}\n", encoding="utf-8")
    for stem, text in tasks.items():
        (root / "tasks" / f"{stem}.yaml").write_text(text, encoding="utf-8")
    return root


REPO = Path(__file__).resolve().parents[2]


def every_definitions_folder() -> list[Path]:
    """Every definitions folder the repository's tests use: scenarios, the hostile corpus, the
    example."""
    folders = [REPO / "tasks.example"]
    folders += sorted((REPO / "tests" / "scenarios").glob("*/definitions"))
    folders += sorted(p for p in (REPO / "tests" / "corpus").iterdir() if p.is_dir())
    return folders


def copied_definitions_folders(into: Path) -> Iterator[tuple[Path, Path]]:
    """Each of `every_definitions_folder()` and its copy under `into` (symlinks kept as links)."""
    for number, folder in enumerate(every_definitions_folder()):
        root = into / f"d{number}"
        shutil.copytree(folder, root, symlinks=True)
        yield folder, root


# A small definitions directory for the validated-definitions cache: a project, a template one
# task extends, and a task of its own.
CACHED_TREE = {
    "titan-gitops.yaml": "namespace: ns-\n",
    "templates.yaml": "kind: template\nname: base\nobjective: Extract the title.\n",
    "tasks/a.yaml": (
        "kind: task\nname: ns-a\nextends: base\nurls: [https://a.example/]\n"
        "output_schema: {type: object}\nexecution_type: single\n"
    ),
    "tasks/b.yaml": (
        "kind: task\nname: ns-b\nurls: [https://b.example/]\nobjective: B.\n"
        "output_schema: {type: object}\nexecution_type: single\n"
    ),
}


def replace_in(name: str, old: str, new: str) -> Callable[[Path], None]:
    """An edit of a definitions directory: `old` (which must be there) made `new` in file `name`."""

    def edit(root: Path) -> None:
        path = root / name
        text = path.read_text(encoding="utf-8")
        assert old in text
        path.write_text(text.replace(old, new), encoding="utf-8")

    return edit


def rename_in(old: str, new: str) -> Callable[[Path], None]:
    """An edit of a definitions directory: file `old` renamed `new`."""

    def edit(root: Path) -> None:
        (root / old).rename(root / new)

    return edit


def rewrite_json(change: Callable[[Any], Any]) -> Callable[[Path], None]:
    """A tampering of a JSON file: `change` edits the data in place, or returns what replaces it."""

    def tamper(path: Path) -> None:
        data = json.loads(path.read_text(encoding="utf-8"))
        changed = change(data)
        path.write_text(json.dumps(data if changed is None else changed), encoding="utf-8")

    return tamper


def rewrite_pack(change: Callable[[dict[str, Any]], Any]) -> Callable[[Path], None]:
    """A tampering of a pack, written back in the pack's own lines: `change` edits in place the
    header's keys and `files` (each file's entry by path, without its `path` key)."""

    def tamper(path: Path) -> None:
        header, *lines = path.read_text(encoding="ascii").splitlines()
        data = json.loads(header)
        data["files"] = {e.pop("path"): e for e in map(json.loads, lines)}
        change(data)
        files = data.pop("files")
        out = [json.dumps(data), *(json.dumps({"path": p, **e}) for p, e in files.items())]
        path.write_text("".join(f"{line}\n" for line in out), encoding="ascii")

    return tamper


def link_in_place(path: Path) -> None:
    """A file replaced by a symlink to its own content, moved beside it as `real`."""
    path.rename(path.with_name("real"))
    path.symlink_to(path.with_name("real"))


def write_tree(root: Path, files: dict[str, str]) -> None:
    """Write `files` (path under `root` -> text), making folders as needed."""
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")


def task_body(name: str, objective: str = "Made by hand.") -> dict[str, Any]:
    """A task body as someone clicking in Titan's UI would create it."""
    return {
        "name": name,
        "urls": ["https://shop.example/other"],
        "objective": objective,
        "output_schema": {"type": "object", "properties": {"name": {"type": "string"}}},
        "execution_type": "single",
    }


def live_names(client: TitanClient) -> list[str]:
    """Every live task name, sorted, duplicates kept (so a duplicate create shows)."""
    return sorted(str(r.body().get("name")) for r in client.list_tasks())


@pytest.fixture
def client() -> Iterator[TitanClient]:
    """A client talking to a fresh in-process emulator."""
    app = create_app(EmulatorConfig(db_path=":memory:", tokens={TOKEN: None}))
    with TitanClient("http://titan.test", TOKEN, transport=httpx.WSGITransport(app=app)) as c:
        yield c


@dataclass
class FaultyService:
    """An emulator behind a fault injector, served on a loopback socket."""

    injector: FaultInjector
    server: EmulatorServer
    url: str

    def connect(self, **overrides: Any) -> TitanClient:
        """A client with short timeouts and near-zero backoff, so retries cost milliseconds."""
        settings: dict[str, Any] = {
            "timeout": 2.0,
            "max_retries": 4,
            "backoff_base": 0.01,
            "backoff_cap": 0.05,
        }
        settings.update(overrides)
        return TitanClient(self.url, TOKEN, **settings)


@pytest.fixture
def faulty_service() -> Iterator[FaultyService]:
    """A fresh emulator with no fault rules yet; tests add them with `injector.add`."""
    app = create_app(EmulatorConfig(db_path=":memory:", tokens={TOKEN: None}))
    injector = FaultInjector(seed=7)
    server, url = start_background_server(injector.wrap(app))
    try:
        yield FaultyService(injector, server, url)
    finally:
        server.shutdown()
