"""The validated-definitions cache: a run that reuses it gives exactly what a run without it
gives (the state, or every problem at the same file:line), reuses unchanged task files, never
holds what it must not, and is never read by apply."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from testing.cachefiles import packs_in
from testing.emulator import start_background_server
from titan_gitops.cli import main
from titan_gitops.defcache import DefinitionCache, cache_folder, load_and_validate
from titan_gitops.emulator import EmulatorConfig, create_app
from titan_gitops.errors import ValidationFailed

from .conftest import (
    CACHED_TREE,
    TOKEN,
    copied_definitions_folders,
    link_in_place,
    rename_in,
    replace_in,
    rewrite_pack,
    write_tree,
)


def outcome(root: Path, cache: DefinitionCache | None) -> tuple[Any, ...]:
    """What validating `root` gives, in a comparable form: the state, or the problems."""
    try:
        _, state, _ = load_and_validate(root, environ={}, cache=cache)
    except ValidationFailed as exc:
        return ("failed", tuple(exc.problems))
    templates = {name: spec.model_dump() for name, spec in state.templates.items()}
    return ("ok", state.tasks, state.warnings, state.project.model_dump(), templates)


def reused_files(root: Path, cache: DefinitionCache) -> set[str]:
    """The files whose tasks came from the cache (in the state, but not loaded)."""
    loaded, state, _ = load_and_validate(root, environ={}, cache=cache)
    return {t.source.path for t in state.tasks} - {d.path for d in loaded.documents}


@pytest.fixture
def cache(tmp_path: Path) -> DefinitionCache:
    return DefinitionCache(tmp_path / "cache")


def test_every_folder_validates_the_same_cold_warm_and_without_the_cache(
    tmp_path: Path,
) -> None:
    reusing = 0
    for folder, root in copied_definitions_folders(tmp_path):
        cache = DefinitionCache(tmp_path / f"cache-{root.name}")
        without = outcome(root, None)
        assert outcome(root, cache) == without, folder
        assert outcome(root, cache) == without, folder
        reusing += bool(without[0] == "ok" and reused_files(root, cache))
    # The comparison above is not vacuous: most valid folders were served from the cache.
    assert reusing >= 25


BASE = {
    **CACHED_TREE,
    "tasks/b.yaml": CACHED_TREE["tasks/b.yaml"] + "payload: {flag: yes}\n",
    "tasks/multi.yaml": (
        "kind: task\nname: ns-m1\nurls: [https://m.example/1]\nobjective: M1.\n"
        "output_schema: {type: object}\nexecution_type: single\n---\n"
        "kind: task\nname: ns-m2\nprevious_names: [ns-old-m2]\nurls: [https://m.example/2]\n"
        "objective: M2.\noutput_schema: {type: object}\nexecution_type: single\n"
    ),
}


def _write(name: str, text: str) -> Callable[[Path], None]:
    return lambda root: write_tree(root, {name: text})


def _remove(name: str) -> Callable[[Path], None]:
    return lambda root: (root / name).unlink()


EDITS: dict[str, Callable[[Path], None]] = {
    "nothing": lambda root: None,
    "a task's objective": replace_in("tasks/b.yaml", "objective: B.", "objective: Bee."),
    "the template a task extends": replace_in("templates.yaml", "the title", "the heading"),
    "the namespace": _write("titan-gitops.yaml", "namespace: other-\n"),
    "project defaults": _write(
        "titan-gitops.yaml", "namespace: ns-\ndefaults:\n  limits: {max_pages: 3}\n"
    ),
    "a new file defining a name again (walked first)": _write(
        "tasks/0.yaml", BASE["tasks/b.yaml"].replace("B.", "Zero.")
    ),
    "a new file defining a name again (walked last)": _write(
        "tasks/z.yaml", BASE["tasks/b.yaml"].replace("B.", "Zed.")
    ),
    "a case-only twin": _write(
        "tasks/c.yaml", BASE["tasks/b.yaml"].replace("ns-b", "ns-B").replace("yes", "true")
    ),
    "a previous name taken": _write(
        "tasks/c.yaml",
        BASE["tasks/b.yaml"].replace("ns-b", "ns-c").replace("B.", "ns-m1")
        + "previous_names: [ns-m1]\n",
    ),
    "a cached previous name taken by a new task": _write(
        "tasks/c.yaml", BASE["tasks/b.yaml"].replace("ns-b", "ns-old-m2")
    ),
    "a file removed": _remove("tasks/b.yaml"),
    "a file renamed": rename_in("tasks/b.yaml", "tasks/y.yaml"),
    "a cached file named by $file": _write(
        "tasks/c.yaml",
        BASE["tasks/b.yaml"]
        .replace("ns-b", "ns-c")
        .replace("output_schema: {type: object}", "output_schema: {$file: tasks/b.yaml}"),
    ),
    "a task turned into a template": _write(
        "tasks/b.yaml", "kind: template\nname: ns-b\nobjective: B.\n"
    ),
    "a template removed": _remove("templates.yaml"),
    "a file emptied": _write("tasks/multi.yaml", "# nothing here\n"),
    "a document broken": replace_in("tasks/multi.yaml", "objective: M2.", "objective: [M2"),
    "a placeholder added": replace_in("tasks/b.yaml", "objective: B.", "objective: ${TITAN_VAR_X}"),
}


@pytest.mark.parametrize("edit", list(EDITS))
def test_after_an_edit_the_cached_run_gives_what_a_fresh_run_gives(
    tmp_path: Path, cache: DefinitionCache, edit: str
) -> None:
    root = tmp_path / "defs"
    write_tree(root, BASE)
    first = outcome(root, cache)
    assert first[0] == "ok"
    assert first[2], "b.yaml's `yes` gives a warning that the cache must keep"
    assert reused_files(root, cache) == {f"{root}/tasks/a.yaml", f"{root}/tasks/b.yaml",
                                         f"{root}/tasks/multi.yaml"}  # fmt: skip
    EDITS[edit](root)
    assert outcome(root, cache) == outcome(root, None)
    assert outcome(root, cache) == outcome(root, None)


def test_only_the_edited_file_is_read_again(tmp_path: Path, cache: DefinitionCache) -> None:
    root = tmp_path / "defs"
    write_tree(root, BASE)
    outcome(root, cache)
    EDITS["a task's objective"](root)
    assert reused_files(root, cache) == {f"{root}/tasks/a.yaml", f"{root}/tasks/multi.yaml"}
    # The template changed: every task file depends on it, so none is reused.
    EDITS["the template a task extends"](root)
    assert reused_files(root, cache) == set()
    # So does the project file; project defaults without a `$file` are kept like any other.
    EDITS["project defaults"](root)
    assert reused_files(root, cache) == set()
    assert len(reused_files(root, cache)) == 3


TOKEN_IN_B = "tok-7Hq2mZ9xW4"


def cached_with_a_token(root: Path, cache: DefinitionCache, **more: str) -> None:
    """The small tree (and `more` files) with a token written into tasks/b.yaml, planned once:
    the token is in the pack."""
    b_yaml = CACHED_TREE["tasks/b.yaml"] + f"payload:\n  api_key: {TOKEN_IN_B}\n"
    write_tree(root, {**CACHED_TREE, "tasks/b.yaml": b_yaml, **more})
    outcome(root, cache)
    assert TOKEN_IN_B in _pack(cache).read_text(encoding="utf-8")


@pytest.mark.parametrize("how", ["made a placeholder", "file removed"])
def test_a_value_moved_out_of_the_definitions_leaves_the_pack_on_the_next_run(
    tmp_path: Path, cache: DefinitionCache, how: str
) -> None:
    # A token written into a task file, planned once, then moved to the environment (or the
    # file removed): the pack is the files as they are now, and holds it no more.
    root, token = tmp_path / "defs", TOKEN_IN_B
    cached_with_a_token(root, cache)
    environ = {"TITAN_VAR_API_KEY": token}
    if how == "made a placeholder":
        replace_in("tasks/b.yaml", token, "${TITAN_VAR_API_KEY}")(root)
    else:
        (root / "tasks/b.yaml").unlink()
    _, state, _ = load_and_validate(root, environ=environ, cache=cache)
    assert (token in state.secrets) is (how == "made a placeholder")
    assert token not in _pack(cache).read_text(encoding="utf-8")


def test_a_pack_that_cannot_be_written_for_a_secret_is_not_left_behind(
    tmp_path: Path, cache: DefinitionCache
) -> None:
    # The token, written into a task file, is in the pack; then it moves behind a placeholder
    # while another file substitutes a value every line holds, so no pack can be written. The
    # old one, holding the token, goes too.
    root, token = tmp_path / "defs", TOKEN_IN_B
    c_yaml = CACHED_TREE["tasks/b.yaml"].replace("ns-b", "ns-c")
    cached_with_a_token(root, cache, **{"tasks/c.yaml": c_yaml})
    replace_in("tasks/b.yaml", token, "${TITAN_VAR_API_KEY}")(root)
    replace_in("tasks/a.yaml", "execution_type: single", "execution_type: ${TITAN_VAR_RUN}")(root)
    environ = {"TITAN_VAR_API_KEY": token, "TITAN_VAR_RUN": "single"}
    _, state, _ = load_and_validate(root, environ=environ, cache=cache)
    assert {token, "single"} <= set(state.secrets)
    assert packs_in(cache.folder) == []


def test_a_secret_spelled_otherwise_in_a_hand_edited_pack_is_never_written_back(
    tmp_path: Path, cache: DefinitionCache
) -> None:
    # The same value, spelled with an escape the pack's writer never uses: the line is not
    # read (so not copied past the secret check) and the token, now substituted, stays out.
    root, token = tmp_path / "defs", TOKEN_IN_B
    cached_with_a_token(root, cache)
    pack = _pack(cache)
    pack.write_text(pack.read_text(encoding="ascii").replace(token, "\\u0074" + token[1:]))
    a_yaml = CACHED_TREE["tasks/a.yaml"] + "payload:\n  api_key: ${TITAN_VAR_API_KEY}\n"
    write_tree(root, {"tasks/a.yaml": a_yaml})
    _, state, _ = load_and_validate(root, environ={"TITAN_VAR_API_KEY": token}, cache=cache)
    assert token in state.secrets
    assert all(
        token not in json.dumps(json.loads(line), ensure_ascii=False)
        for pack in packs_in(cache.folder)
        for line in pack.read_text().splitlines()
    )


def test_a_file_holding_a_template_is_never_in_the_pack(
    tmp_path: Path, cache: DefinitionCache
) -> None:
    root = tmp_path / "defs"
    template = "kind: template\nname: other\nobjective: Other.\n"
    write_tree(root, {**BASE, "tasks/mixed.yaml": f"{BASE['tasks/b.yaml']}---\n{template}"})
    (root / "tasks" / "b.yaml").unlink()
    _, _, pack = load_and_validate(root, environ={}, cache=cache)
    assert pack is not None
    assert pack.files is not None
    assert set(pack.files) == {f"{root}/tasks/a.yaml", f"{root}/tasks/multi.yaml"}
    assert reused_files(root, cache) == set(pack.files)


def test_files_reading_the_environment_or_other_files_are_never_cached(
    tmp_path: Path, cache: DefinitionCache
) -> None:
    root = tmp_path / "defs"
    write_tree(root, BASE)
    EDITS["a placeholder added"](root)
    write_tree(root, {"schema.json": '{"type": "object"}\n'})
    replace_in("tasks/a.yaml", "{type: object}", "{$file: schema.json}")(root)
    environ = {"TITAN_VAR_X": "from-the-environment"}
    for _ in range(2):
        loaded, _state, _ = load_and_validate(root, environ=environ, cache=cache)
    assert {d.path for d in loaded.documents} >= {f"{root}/tasks/a.yaml", f"{root}/tasks/b.yaml"}
    (pack,) = packs_in(cache.folder)
    text = pack.read_text(encoding="utf-8")
    assert "ns-m1" in text
    assert "ns-a" not in text
    assert "from-the-environment" not in text


@pytest.mark.parametrize(
    "shaping",
    [
        ("titan-gitops.yaml", "namespace: ns-\ndefaults:\n  objective: ${TITAN_VAR_X}\n"),
        ("templates.yaml", "kind: template\nname: base\nobjective: ${TITAN_VAR_X}\n"),
        (
            "templates.yaml",
            "kind: template\nname: base\nobjective: A.\noutput_schema: {$file: schema.json}\n",
        ),
    ],
)
def test_a_project_or_template_reading_the_environment_or_a_file_turns_the_cache_off(
    tmp_path: Path, cache: DefinitionCache, shaping: tuple[str, str]
) -> None:
    root = tmp_path / "defs"
    write_tree(root, {**BASE, "schema.json": '{"type": "object"}\n', shaping[0]: shaping[1]})
    for _ in range(2):
        loaded, _state, _ = load_and_validate(
            root, environ={"TITAN_VAR_X": "secret-x"}, cache=cache
        )
    assert len({d.path for d in loaded.documents}) == 4
    assert packs_in(cache.folder) == []


def test_the_pack_is_private_to_its_owner(tmp_path: Path, cache: DefinitionCache) -> None:
    root = tmp_path / "defs"
    write_tree(root, BASE)
    outcome(root, cache)
    (pack,) = packs_in(cache.folder)
    assert cache.folder.stat().st_mode & 0o777 == 0o700
    assert pack.stat().st_mode & 0o777 == 0o600


def _pack(cache: DefinitionCache) -> Path:
    (pack,) = packs_in(cache.folder)
    return pack


def _replace_line(pack: Path, number: int, change: Callable[[Any], Any]) -> str:
    """The pack's text with line `number` (0: the header) replaced by `change` of what it holds."""
    lines = pack.read_text(encoding="ascii").splitlines()
    lines[number] = json.dumps(change(json.loads(lines[number])))
    return "".join(f"{line}\n" for line in lines)


def _first_file(data: dict[str, Any]) -> dict[str, Any]:
    first: dict[str, Any] = next(iter(data["files"].values()))
    return first


TAMPERING: dict[str, Callable[[Path], object]] = {
    "garbage": lambda pack: pack.write_bytes(b"\x00\xff not json"),
    "nested deep": lambda pack: pack.write_text("[" * 100_000 + "]" * 100_000),
    "not ASCII": lambda pack: pack.write_bytes(pack.read_bytes().replace(b"B.", b"\xc3\xa9.")),
    "no newline at the end": lambda pack: pack.write_bytes(pack.read_bytes()[:-1]),
    "a blank line": lambda pack: pack.write_bytes(pack.read_bytes() + b"\n"),
    "the header a list": lambda pack: pack.write_text(
        _replace_line(pack, 0, lambda header: [header])
    ),
    "a file a list": lambda pack: pack.write_text(_replace_line(pack, 1, lambda entry: [entry])),
    "two files on one line": lambda pack: pack.write_text(
        pack.read_text().replace("}\n{", "}, {").replace("}, {", "}\n{", 1)
    ),
    "a file twice": lambda pack: pack.write_text(
        pack.read_text() + pack.read_text().splitlines(keepends=True)[1]
    ),
    "another format": rewrite_pack(lambda data: data.update(format=99)),
    "another tool": rewrite_pack(lambda data: data.update(tool="0" * 64)),
    "a key more in the header": rewrite_pack(lambda data: data.update(extra=1)),
    "a key more in a file": rewrite_pack(lambda data: _first_file(data).update(extra=1)),
    "a key more in a task": rewrite_pack(
        lambda data: _first_file(data)["tasks"][0].update(extra="kept")
    ),
    "an escape the writer never uses": lambda pack: pack.write_text(
        pack.read_text().replace('"ns-a"', '"\\u006es-a"', 1)
    ),
    "a solidus escaped": lambda pack: pack.write_text(
        pack.read_text().replace("https://", "https:\\/\\/", 1)
    ),
    "an escape in capitals": lambda pack: pack.write_text(
        pack.read_text().replace('"B."', '"B.\\u00E9"', 1)
    ),
    "a raw DEL": lambda pack: pack.write_text(pack.read_text().replace('"B."', '"B.\x7f"', 1)),
    "a body's name not the task's": rewrite_pack(
        lambda data: _first_file(data)["tasks"][0]["body"].update(name="ns-other")
    ),
    "a body not a mapping": rewrite_pack(
        lambda data: _first_file(data)["tasks"][0].update(body=["ns-a"])
    ),
    "previous names not a list": rewrite_pack(
        lambda data: _first_file(data)["tasks"][0].update(previous_names="ns-old")
    ),
    "a name missing": rewrite_pack(lambda data: _first_file(data)["names"].pop()),
    "a name not the task's": rewrite_pack(
        lambda data: _first_file(data)["names"][0].__setitem__(2, "ns-other")
    ),
    "a position of zero": rewrite_pack(
        lambda data: _first_file(data)["names"][0].__setitem__(3, [0, 1])
    ),
    "a boolean index": rewrite_pack(
        lambda data: _first_file(data)["names"][0].__setitem__(0, True)
    ),
    "a warning made an error": rewrite_pack(
        lambda data: next(f for f in data["files"].values() if f["warnings"])["warnings"][
            0
        ].__setitem__(5, "error")
    ),
    "a digest not a string": rewrite_pack(lambda data: _first_file(data).update(sha256=7)),
    "writable by others": lambda pack: pack.chmod(0o666),
    "a symlink": lambda pack: link_in_place(pack),
}


@pytest.mark.parametrize("tampering", list(TAMPERING))
def test_a_pack_that_is_not_what_this_code_wrote_is_ignored(
    tmp_path: Path, cache: DefinitionCache, tampering: str
) -> None:
    root = tmp_path / "defs"
    write_tree(root, BASE)
    expected = outcome(root, cache)
    TAMPERING[tampering](_pack(cache))
    assert reused_files(root, cache) == set()
    assert outcome(root, cache) == expected


def test_a_folder_others_can_write_is_neither_read_nor_written(
    tmp_path: Path, cache: DefinitionCache
) -> None:
    root = tmp_path / "defs"
    write_tree(root, BASE)
    outcome(root, cache)
    cache.folder.chmod(0o777)
    assert reused_files(root, cache) == set()
    before = _pack(cache).read_bytes()
    EDITS["a task's objective"](root)
    outcome(root, cache)
    assert _pack(cache).read_bytes() == before


def test_a_cache_that_cannot_be_written_changes_nothing(tmp_path: Path) -> None:
    root = tmp_path / "defs"
    write_tree(root, BASE)
    (tmp_path / "file").write_text("not a folder", encoding="utf-8")
    cache = DefinitionCache(tmp_path / "file" / "cache")
    assert outcome(root, cache) == outcome(root, None)


def test_where_the_cache_lives_and_how_it_is_turned_off(tmp_path: Path) -> None:
    assert cache_folder({"TITAN_GITOPS_CACHE": "off", "HOME": "/home/u"}) is None
    assert cache_folder({"TITAN_GITOPS_CACHE": " OFF ", "HOME": "/home/u"}) is None
    assert cache_folder({"TITAN_GITOPS_CACHE_DIR": str(tmp_path)}) == tmp_path
    assert cache_folder({"XDG_CACHE_HOME": "/x", "HOME": "/home/u"}) == Path(
        "/x/titan-gitops/definitions"
    )
    assert cache_folder({"XDG_CACHE_HOME": "relative", "HOME": "/home/u"}) == Path(
        "/home/u/.cache/titan-gitops/definitions"
    )
    assert cache_folder({"HOME": "relative"}) is None
    assert cache_folder({}) is None


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    app = create_app(EmulatorConfig(db_path=":memory:", tokens={TOKEN: None}))
    server, url = start_background_server(app.serve_request)
    monkeypatch.setenv("TITAN_API_URL", url)
    monkeypatch.setenv("TITAN_TOKEN", TOKEN)
    monkeypatch.setenv("TITAN_GITOPS_CACHE_DIR", str(tmp_path / "cli-cache"))
    try:
        yield url
    finally:
        server.shutdown()


def test_plan_reads_the_cache_and_apply_never_does(
    tmp_path: Path, served: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A pack edited to say something the files do not: plan shows it (so plan does read the
    cache), apply creates what the files say."""
    root = tmp_path / "defs"
    write_tree(root, BASE)
    assert main(["validate", str(root)]) == 0
    (pack,) = packs_in(tmp_path / "cli-cache")
    text = pack.read_text(encoding="utf-8")
    assert text.count('"objective": "B."') == 1
    pack.write_text(text.replace('"objective": "B."', '"objective": "Poisoned."'))
    capsys.readouterr()
    assert main(["plan", str(root), "--no-color"]) == 0
    assert "Poisoned." in capsys.readouterr().out
    assert main(["apply", str(root), "--auto-approve"]) == 0
    capsys.readouterr()
    assert main(["export", "--out", str(tmp_path / "exported")]) == 0
    exported = "".join(p.read_text() for p in (tmp_path / "exported").rglob("*.yaml"))
    assert "objective: B." in exported
    assert "Poisoned" not in exported


def test_turned_off_nothing_is_written(
    tmp_path: Path, served: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "defs"
    write_tree(root, BASE)
    monkeypatch.setenv("TITAN_GITOPS_CACHE", "off")
    assert main(["validate", str(root)]) == 0
    assert main(["plan", str(root)]) == 0
    assert not (tmp_path / "cli-cache").exists()
    assert (
        not os.environ.get("XDG_CACHE_HOME")
        or not Path(os.environ["XDG_CACHE_HOME"], "titan-gitops").exists()
    )
