"""The validated-definitions cache against inputs that once made a cached run differ from one
without it: a `$file` key spelled with a YAML escape (so the text never holds "$file"), in a task
file, a template or the project's defaults, at the checkout and at a plan's base; and a working
directory removed under the run.

Also tried, and held (a cached run matched `cache=None`): BOM + CRLF files, multi-document files
with empty documents and `...` markers, `previous_names` empty / chained / taken by a new file,
NFC/NFD twins across cached and fresh files, case twins walked before and after, `extends` of
`extends` with the grandparent edited, a template file renamed, project defaults changed, a task
file turned into a template, files moved between folders, two files swapping contents, a
symlinked definition file whose hidden target is edited or retargeted, the same file reached by
a second (symlink) name, YAML 1.1 trap warnings, a broken new file next to cached ones,
duplicate names / previous names located across cached and fresh files, `ignore_fields`.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from titan_gitops.cli import main
from titan_gitops.defcache import DefinitionCache, load_and_validate
from titan_gitops.errors import ValidationFailed
from titan_gitops.gitbase import read_base

from .conftest import write_tree

TASK = "kind: task\nname: ns-a\nurls: [https://a.example/]\nobjective: A.\nexecution_type: single\n"
# `$file` spelled with a YAML escape: the parsed key is `$file`, but the text never holds "$file".
ESCAPED_REF = '{"\\x24file": schema.json}'


def outcome(root: Path, cache: DefinitionCache | None) -> tuple[Any, ...]:
    try:
        _, state, _ = load_and_validate(root, environ={}, cache=cache)
    except ValidationFailed as exc:
        return ("failed", tuple(exc.problems))
    bodies = tuple(t.body for t in state.tasks)
    return ("ok", state.tasks, bodies, state.warnings, state.project.model_dump())


ESCAPED_FILE_REF_IN = {
    "a task file": {"a.yaml": TASK + f"output_schema: {ESCAPED_REF}\n"},
    "a template": {
        "t.yaml": f"kind: template\nname: t\noutput_schema: {ESCAPED_REF}\n",
        "a.yaml": TASK + "extends: t\n",
    },
    "the project defaults": {
        "titan-gitops.yaml": f"defaults:\n  output_schema: {ESCAPED_REF}\n",
        "a.yaml": TASK,
    },
}


@pytest.mark.parametrize("where", list(ESCAPED_FILE_REF_IN))
def test_an_escaped_dollar_file_key_is_reused_with_the_schema_it_read_before(
    tmp_path: Path, where: str
) -> None:
    # A YAML escape ("\x24file") parses to the `$file` key though the text never holds "$file":
    # the file (or the template or project around it) must not be reused, or an edited
    # schema.json would never be read again.
    root = tmp_path / "defs"
    write_tree(root, {"schema.json": '{"type": "object"}', **ESCAPED_FILE_REF_IN[where]})
    cache = DefinitionCache(tmp_path / "cache")
    assert outcome(root, cache)[0] == "ok"
    (root / "schema.json").write_text('{"type": "object", "required": ["x"]}', encoding="utf-8")
    assert outcome(root, cache) == outcome(root, None)


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


def test_a_plan_base_takes_the_checkout_schema_for_an_escaped_dollar_file_even_uncached(
    tmp_path: Path,
) -> None:
    # The base read from git reuses the checkout's in-memory pack (made even with the cache
    # off): a task file with an escaped `$file` must read the committed schema.json there, not
    # the checkout's.
    root = tmp_path / "defs"
    write_tree(
        root,
        {"schema.json": '{"type": "object"}', "a.yaml": TASK + f"output_schema: {ESCAPED_REF}\n"},
    )
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-qm", "base")
    (root / "schema.json").write_text('{"type": "object", "required": ["x"]}', encoding="utf-8")
    _, _, pack = load_and_validate(root, environ={}, cache=None)  # TITAN_GITOPS_CACHE=off
    _, with_pack = read_base(root, "HEAD", environ={}, reusable=pack)
    _, without = read_base(root, "HEAD", environ={}, reusable=None)
    assert [t.body for t in with_pack.tasks] == [t.body for t in without.tasks]


def test_a_deleted_working_directory_breaks_only_the_cached_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The pack's name reads the working directory: from one that was removed (an absolute root)
    # the cache is skipped, and `validate` answers as it does with TITAN_GITOPS_CACHE=off.
    root = tmp_path / "defs"
    write_tree(root, {"a.yaml": TASK + "output_schema: {type: object}\n"})
    gone = tmp_path / "gone"
    gone.mkdir()
    monkeypatch.chdir(gone)
    gone.rmdir()
    monkeypatch.setenv("TITAN_GITOPS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("TITAN_GITOPS_CACHE", "off")
    assert main(["validate", str(root)]) == 0
    monkeypatch.delenv("TITAN_GITOPS_CACHE")
    assert main(["validate", str(root)]) == 0
    assert os.path.isabs(root)
    assert outcome(root, DefinitionCache(tmp_path / "cache")) == outcome(root, None)
