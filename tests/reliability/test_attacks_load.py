"""Attacks on the load stage: whatever the loader cannot read stops `plan` and `apply` cold.

Each attack breaks one folder of a definitions tree whose tasks are live, then runs the real CLI
(`plan`, then `apply --auto-approve`) against an emulator on a loopback socket. The safe outcome:
exit 1, a located problem naming the path, no traceback or "unexpected error", and every live
task still there (a file that could not be read never turns into a delete).

Tests run as root, which ignores `chmod 000`; the permission attack runs the CLI as an
unprivileged uid over a world-readable copy of the tree, and falls back to a failure root cannot
bypass (a dangling symlink) when no interpreter can run under that uid.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from testing.emulator import start_background_server
from titan_gitops.client import TitanClient
from titan_gitops.emulator import EmulatorConfig, create_app
from titan_gitops.load.walk import INCOMPLETE_EXPORT_MARKER, MAX_FOLDER_DEPTH

REPO = Path(__file__).resolve().parents[2]
TOKEN = "load-attack-token-5e1d"
NOBODY = 65534
NAMES = ("shop-a", "shop-b", "shop-c")
TASK = (
    "kind: task\nname: {name}\nurls: ['https://shop.example.com/']\nobjective: Extract prices.\n"
    "execution_type: single\noutput_schema: {{type: object}}\n"
)
# Where each task is defined, relative to the root; "tasks" is the folder the attacks break.
FILES = {"tasks/shop-a.yaml": "shop-a", "tasks/shop-b.yaml": "shop-b", "more/shop-c.yaml": "shop-c"}


@dataclass
class Service:
    url: str
    client: TitanClient

    def names(self) -> list[str]:
        return sorted(str(r.body().get("name")) for r in self.client.list_tasks())


@pytest.fixture
def service() -> Iterator[Service]:
    """An emulator on a loopback socket, holding the three tasks the tree defines."""
    app = create_app(EmulatorConfig(db_path=":memory:", tokens={TOKEN: None}))
    transport = httpx.WSGITransport(app=app.serve_request)
    with TitanClient("http://titan.test", TOKEN, transport=transport) as client:
        for name in NAMES:
            client.create_task(
                {
                    "name": name,
                    "urls": ["https://shop.example.com/"],
                    "objective": "Extract prices.",
                    "output_schema": {"type": "object"},
                    "execution_type": "single",
                }
            )
        server, url = start_background_server(app)
        try:
            yield Service(url, client)
        finally:
            server.shutdown()


@pytest.fixture
def scratch() -> Iterator[Path]:
    """A fresh folder every uid can traverse (pytest's own tmp folder is root's alone)."""
    path = Path(tempfile.mkdtemp(prefix="titan-load-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        # rm, unlike shutil.rmtree on Python 3.11, removes 1,500 nested folders without recursing.
        subprocess.run(["rm", "-rf", "--", str(path)], check=True)


def write_tree(scratch: Path) -> Path:
    root = scratch / "defs"
    root.mkdir()
    (root / "titan-gitops.yaml").write_text("namespace: shop-\n", encoding="utf-8")
    for relative, name in FILES.items():
        path = root / relative
        path.parent.mkdir(exist_ok=True)
        path.write_text(TASK.format(name=name), encoding="utf-8")
    for folder, dirs, files in os.walk(scratch):
        for name in dirs:
            (Path(folder) / name).chmod(0o755)
        for name in files:
            (Path(folder) / name).chmod(0o644)
    return root


def child_environ(url: str) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("TITAN_")}
    environ.update({"TITAN_API_URL": url, "TITAN_TOKEN": TOKEN, "NO_COLOR": "1"})
    environ["PYTHONPATH"] = str(REPO)
    environ.pop("CI", None)
    environ.pop("GITHUB_ACTIONS", None)
    return environ


def run_cli(
    python: list[str], args: list[str], cwd: Path, url: str, **kwargs: object
) -> subprocess.CompletedProcess[str]:
    environ = child_environ(url)
    if "user" in kwargs:
        site = [p for p in sys.path if p.endswith("site-packages")]
        environ["PYTHONPATH"] = os.pathsep.join([str(REPO), *site])
        environ["HOME"] = str(cwd)
    return subprocess.run(  # type: ignore[call-overload, no-any-return]
        [*python, "-m", "titan_gitops", *args],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        **kwargs,
    )


def assert_plan_and_apply_refuse(
    service: Service,
    root: Path,
    expected: list[str],
    python: list[str] | None = None,
    **kwargs: object,
) -> None:
    """`plan` and `apply --auto-approve` exit 1 naming each expected `path:line:col: …` text."""
    command = python or [sys.executable]
    for args in (["plan", str(root)], ["apply", "--auto-approve", str(root)]):
        done = run_cli(command, args, root.parent, service.url, **kwargs)
        output = done.stdout + done.stderr
        assert done.returncode == 1, output
        assert "Traceback" not in output, output
        assert "unexpected error" not in output, output
        for text in expected:
            assert text in output, output
        assert "Converged" not in output
    assert service.names() == list(NAMES)


def unprivileged_python() -> list[str] | None:
    """An interpreter that runs this package as the unprivileged uid, or None on this machine."""
    site = [p for p in sys.path if p.endswith("site-packages")]
    environ = {"PYTHONPATH": os.pathsep.join([str(REPO), *site]), "PATH": os.environ["PATH"]}
    for candidate in (sys.executable, shutil.which("python3") or "", "/usr/bin/python3"):
        if not candidate:
            continue
        try:
            done = subprocess.run(
                [candidate, "-s", "-c", "import titan_gitops.cli, httpx, ruamel.yaml"],
                env=environ,
                user=NOBODY,
                group=NOBODY,
                extra_groups=[],
                capture_output=True,
                timeout=60,
                cwd="/",
            )
        except (OSError, subprocess.SubprocessError):
            continue
        if done.returncode == 0:
            return [candidate, "-s"]
    return None


# --- the attacks ---------------------------------------------------------------------------------


@pytest.mark.attack
def test_an_unreadable_folder_stops_plan_and_apply(scratch: Path, service: Service) -> None:
    root = write_tree(scratch)
    python = unprivileged_python()
    if python is None:
        # No interpreter runs as the unprivileged uid here: prove the same path root cannot skip.
        (root / "tasks" / "shop-b.yaml").unlink()
        (root / "tasks" / "shop-b.yaml").symlink_to("gone.yaml")
        assert_plan_and_apply_refuse(service, root, [f"{root / 'tasks' / 'shop-b.yaml'}:1:1: "])
        return
    (root / "tasks").chmod(0)
    expected = [f"{root / 'tasks'}:1:1: cannot read the folder: Permission denied"]
    kwargs: dict[str, object] = {"user": NOBODY, "group": NOBODY, "extra_groups": []}
    assert_plan_and_apply_refuse(service, root, expected, python, **kwargs)


@pytest.mark.attack
def test_an_unreadable_definitions_root_is_a_clear_error(scratch: Path, service: Service) -> None:
    root = write_tree(scratch)
    python = unprivileged_python()
    if python is None:
        (root / "titan-gitops.yaml").unlink()
        (root / "titan-gitops.yaml").symlink_to("titan-gitops.yaml")
        assert_plan_and_apply_refuse(service, root, [f"{root / 'titan-gitops.yaml'}:1:1: "])
        return
    root.chmod(0)
    expected = [f"{root}:1:1: cannot read the folder: Permission denied"]
    kwargs: dict[str, object] = {"user": NOBODY, "group": NOBODY, "extra_groups": []}
    assert_plan_and_apply_refuse(service, root, expected, python, **kwargs)


def make_dangling_symlink(root: Path) -> list[str]:
    path = root / "tasks" / "shop-b.yaml"
    path.unlink()
    path.symlink_to("shop-b-moved.yaml")
    return [f"{path}:1:1: the symlink's target does not exist"]


def make_symlink_loop(root: Path) -> list[str]:
    path = root / "tasks" / "shop-b.yaml"
    path.unlink()
    path.symlink_to("loop.yaml")
    (root / "tasks" / "loop.yaml").symlink_to("shop-b.yaml")
    return [f"{path}:1:1: symlink loop", f"{root / 'tasks' / 'loop.yaml'}:1:1: symlink loop"]


def make_folder_link_to_an_ancestor(root: Path) -> list[str]:
    (root / "tasks" / "up").symlink_to("..")
    return [f"{root / 'tasks' / 'up'}:1:1: symlink loop: the folder link points at a folder"]


def make_folder_link_inside_the_root(root: Path) -> list[str]:
    (root / "hidden-away").mkdir()
    (root / ".store").mkdir()
    (root / "tasks" / "shop-b.yaml").rename(root / ".store" / "shop-b.yaml")
    (root / "hidden-away" / "linked").symlink_to(root / ".store")
    return [f"{root / 'hidden-away' / 'linked'}:1:1: symlinked folders are not followed"]


def make_folder_named_like_a_file(root: Path) -> list[str]:
    path = root / "tasks" / "shop-b.yaml"
    path.unlink()
    path.mkdir()
    return [f"{path}:1:1: is a folder, not a definition file"]


def make_fifo_named_like_a_file(root: Path) -> list[str]:
    path = root / "tasks" / "shop-b.yaml"
    path.unlink()
    os.mkfifo(path)
    return [f"{path}:1:1: is a FIFO, not a regular file"]


def make_fifteen_hundred_folders(root: Path) -> list[str]:
    deep = root / "tasks"
    for _ in range(1_500):
        deep = deep / "n"
        deep.mkdir()
    (deep / "shop-d.yaml").write_text(TASK.format(name="shop-d"), encoding="utf-8")
    first = root / "tasks" / os.path.join(*["n"] * MAX_FOLDER_DEPTH)
    return [f"{first}:1:1: folders nest deeper than {MAX_FOLDER_DEPTH} levels"]


def make_nul_in_a_file_reference(root: Path) -> list[str]:
    path = root / "tasks" / "shop-b.yaml"
    text = TASK.format(name="shop-b").replace("{type: object}", '{$file: "schema\\0.json"}')
    path.write_text(text, encoding="utf-8")
    return [f"{path}:6:17: output_schema.$file: the path holds a control character"]


def make_file_reference_to_a_fifo(root: Path) -> list[str]:
    path = root / "tasks" / "shop-b.yaml"
    os.mkfifo(root / "tasks" / "schema.json")
    text = TASK.format(name="shop-b").replace("{type: object}", "{$file: tasks/schema.json}")
    path.write_text(text, encoding="utf-8")
    return [f"{path}:6:17: output_schema.$file: 'tasks/schema.json' is a FIFO"]


def make_file_reference_to_a_symlink_loop(root: Path) -> list[str]:
    path = root / "tasks" / "shop-b.yaml"
    (root / "tasks" / "schema.json").symlink_to("schema.json")
    text = TASK.format(name="shop-b").replace("{type: object}", "{$file: tasks/schema.json}")
    path.write_text(text, encoding="utf-8")
    return [f"{path}:6:17: output_schema.$file: 'tasks/schema.json' is a symlink loop"]


def make_file_reference_to_a_definition(root: Path) -> list[str]:
    # Taken as a schema, shop-c's own file would stop defining it, and plan would delete it.
    path = root / "tasks" / "shop-a.yaml"
    text = TASK.format(name="shop-a").replace("{type: object}", "{$file: more/shop-c.yaml}")
    path.write_text(text, encoding="utf-8")
    return [f"{path}:6:17: output_schema.$file: 'more/shop-c.yaml' holds a definition"]


def make_interrupted_export(root: Path) -> list[str]:
    (root / "tasks" / "shop-b.yaml").unlink()
    (root / "tasks" / INCOMPLETE_EXPORT_MARKER).write_text("", encoding="utf-8")
    marker = root / "tasks" / INCOMPLETE_EXPORT_MARKER
    return [f"{marker}:1:1: an export into this folder was interrupted"]


def make_file_name_not_utf8(root: Path) -> list[str]:
    (root / "tasks" / "shop-b.yaml").unlink()
    name = os.fsdecode(b"shop-b\xff.yaml")
    (root / "tasks" / name).write_text(TASK.format(name="shop-b"), encoding="utf-8")
    return [f"{root / 'tasks'}/shop-b\\xff.yaml:1:1: the name is not valid UTF-8"]


def make_file_name_with_a_newline(root: Path) -> list[str]:
    (root / "tasks" / "shop-b.yaml").rename(root / "tasks" / "shop-b\nNo changes.yaml")
    return [f"{root / 'tasks'}/shop-b\\nNo changes.yaml:1:1: the name holds a control character"]


def make_path_too_long(root: Path) -> list[str]:
    # Folder names near the 255-byte limit: 20 levels make a path past PATH_MAX (4096).
    name = "d" * 250
    handle = os.open(root / "tasks", os.O_RDONLY | os.O_DIRECTORY)
    try:
        for _ in range(20):
            os.mkdir(name, dir_fd=handle)
            inner = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=handle)
            os.close(handle)
            handle = inner
    finally:
        os.close(handle)
    return [": the path is too long"]


ATTACKS: dict[str, Callable[[Path], list[str]]] = {
    "dangling-symlink": make_dangling_symlink,
    "symlink-loop": make_symlink_loop,
    "folder-link-to-an-ancestor": make_folder_link_to_an_ancestor,
    "folder-link-inside-the-root": make_folder_link_inside_the_root,
    "folder-named-like-a-file": make_folder_named_like_a_file,
    "fifo-named-like-a-file": make_fifo_named_like_a_file,
    "fifteen-hundred-folders": make_fifteen_hundred_folders,
    "nul-in-a-file-reference": make_nul_in_a_file_reference,
    "file-reference-to-a-fifo": make_file_reference_to_a_fifo,
    "file-reference-to-a-symlink-loop": make_file_reference_to_a_symlink_loop,
    "file-reference-to-a-definition": make_file_reference_to_a_definition,
    "interrupted-export": make_interrupted_export,
    "file-name-not-utf8": make_file_name_not_utf8,
    "file-name-with-a-newline": make_file_name_with_a_newline,
    "path-too-long": make_path_too_long,
}


@pytest.mark.attack
@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_what_root_cannot_read_either_stops_plan_and_apply(
    attack: str, scratch: Path, service: Service
) -> None:
    root = write_tree(scratch)
    expected = ATTACKS[attack](root)
    assert_plan_and_apply_refuse(service, root, expected)


def test_the_intact_tree_plans_no_change(scratch: Path, service: Service) -> None:
    root = write_tree(scratch)
    done = run_cli([sys.executable], ["plan", str(root)], scratch, service.url)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "No changes" in done.stdout


@pytest.mark.attack
@pytest.mark.parametrize("kind", ["missing", "file", "dangling"])
def test_a_bad_definitions_root_is_a_clear_error(
    kind: str, scratch: Path, service: Service
) -> None:
    root = scratch / "defs"
    expected = {
        "missing": "the folder does not exist",
        "file": "is a regular file, not a folder of definitions",
        "dangling": "the folder does not exist",
    }[kind]
    if kind == "file":
        root.write_text("namespace: shop-\n", encoding="utf-8")
    elif kind == "dangling":
        root.symlink_to("elsewhere")
    assert_plan_and_apply_refuse(service, root, [f"{root}:1:1: {expected}"])
