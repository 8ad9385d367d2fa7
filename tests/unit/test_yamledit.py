"""yamledit: editing definition files in place, byte for byte.

The goldens under tests/data/yamledit/<case>/ hold a file (`before.yaml`), the edits made to it
(`edits.json`: per task, keys to `set` and to `remove`, or `remove_task`) and the unified diff of
before → after (`expected.diff`, line ends and a byte order mark shown as `\\r` and `\\ufeff`).
Run `pytest tests/unit/test_yamledit.py --update-goldens` to rewrite them, then read each diff.
"""

from __future__ import annotations

import difflib
import json
from pathlib import Path
from typing import Any

import pytest

from titan_gitops.load import load_yaml_text
from titan_gitops.yamledit import REMOVE, CannotEdit, edit_task, remove_task

GOLDENS = Path(__file__).resolve().parents[1] / "data" / "yamledit"
CASES = sorted(p.name for p in GOLDENS.iterdir() if p.is_dir())


def apply_edits(text: str, edits: list[dict[str, Any]], display: str) -> str:
    for edit in edits:
        if edit.get("remove_task"):
            text = remove_task(text, display=display, name=edit["task"])
            continue
        changes: dict[str, Any] = dict(edit.get("set", {}))
        changes.update({key: REMOVE for key in edit.get("remove", [])})
        text = edit_task(text, display=display, name=edit["task"], changes=changes)
    return text


def lines_of(text: str) -> list[str]:
    """Lines with their ends, split on "\\n" only, made visible for a diff."""
    shown = text.replace("\r", "\\r").replace("\ufeff", "\\ufeff")
    lines = [line + "\n" for line in shown.split("\n")]
    lines[-1] = lines[-1][:-1]
    if lines[-1] == "":
        lines.pop()
    else:
        lines[-1] += "\n\\ No newline at end of file\n"
    return lines


def golden_diff(before: str, after: str) -> str:
    return "".join(
        difflib.unified_diff(lines_of(before), lines_of(after), "before.yaml", "after.yaml")
    )


def read_text(path: Path) -> str:
    return path.read_bytes().decode("utf-8")


@pytest.mark.parametrize("case", CASES)
def test_golden(case: str, request: pytest.FixtureRequest) -> None:
    folder = GOLDENS / case
    before = read_text(folder / "before.yaml")
    edits = json.loads(read_text(folder / "edits.json"))
    after = apply_edits(before, edits, f"{case}/before.yaml")
    diff = golden_diff(before, after)
    expected = folder / "expected.diff"
    if request.config.getoption("--update-goldens"):
        expected.write_bytes(diff.encode("utf-8"))
    assert diff == read_text(expected), f"{expected} differs (--update-goldens)"
    # The line ends and the byte order mark of the file are its own.
    if "\r\n" in before:
        assert after.count("\n") == after.count("\r\n")
    assert after.startswith("\ufeff") == before.startswith("\ufeff")
    _, problems = load_yaml_text(after.removeprefix("\ufeff"), "after.yaml")
    assert problems == []


TASK = "kind: task\nname: shop-a\nobjective: Old.\n"


@pytest.mark.parametrize(
    ("text", "key", "why"),
    [
        ("{kind: task, name: shop-a, objective: Old.}\n", None, "flow style"),
        ("kind: task\nname: shop-a\nobjective: &o Old.\n", "objective", "the anchor &o"),
        (
            "kind: task\nname: shop-a\npayload: {a: &x 1}\nobjective: *x\n",
            "objective",
            "the alias *x",
        ),
        ("kind: task\nname: shop-a\n<<: {objective: Old.}\n", None, "merge key (<<)"),
        (
            "kind: task\nname: shop-a\nobjective:\n  <<: {a: 1}\n  b: 2\n",
            "objective",
            "a merge key <<",
        ),
        ("kind: task\nname: shop-b\nobjective: Old.\n", None, "no `kind: task` document"),
        (TASK + "---\n" + TASK, None, "2 `kind: task` documents"),
        ("kind: task\nname: shop-a\nurls:\n\t- x\n", None, "does not read cleanly (line 4"),
        ("kind: task\nname: shop-a\nobjective: [\n", None, "does not read cleanly"),
        ("kind: task\nname: shop-a\nwhen: 2024-01-01\n", None, "read as a date"),
        ("kind: task\rname: shop-a\r", None, "line breaks other than"),
    ],
)
def test_what_cannot_be_edited_safely_is_refused(text: str, key: str | None, why: str) -> None:
    with pytest.raises(CannotEdit) as caught:
        edit_task(text, display="teams/shop/a.yaml", name="shop-a", changes={"objective": "New."})
    message = str(caught.value)
    assert why in message
    assert "teams/shop/a.yaml" in message
    assert "the task 'shop-a'" in message
    assert "by hand" in message
    if key is not None:
        assert f"the key '{key}'" in message


def test_a_task_missing_or_doubled_cannot_be_removed() -> None:
    with pytest.raises(CannotEdit, match="no `kind: task` document"):
        remove_task(TASK, display="a.yaml", name="shop-b")
    with pytest.raises(CannotEdit, match="2 `kind: task` documents"):
        remove_task(TASK + "---\n" + TASK, display="a.yaml", name="shop-a")


def test_a_value_that_is_not_json_is_refused() -> None:
    with pytest.raises(CannotEdit, match=r"the key 'objective'.*not JSON data"):
        edit_task(TASK, display="a.yaml", name="shop-a", changes={"objective": object()})


def test_an_unchanged_value_leaves_the_file_as_it_is() -> None:
    text = "kind: task\nname: shop-a\nobjective: 'Old.'  # keep\nurls: [a, b]\n"
    changes = {"objective": "Old.", "urls": ["a", "b"], "schedule": REMOVE}
    assert edit_task(text, display="a.yaml", name="shop-a", changes=changes) is text


def test_a_quoted_name_and_an_indented_document_are_found() -> None:
    text = '---\n  kind: task\n  name: "shop-a"\n  objective: Old.\n'
    after = edit_task(text, display="a.yaml", name="shop-a", changes={"limits": {"x": 1}})
    assert after == text + "  limits:\n    x: 1\n"


def test_a_file_without_a_final_newline_keeps_it_so() -> None:
    text = TASK.removesuffix("\n")
    assert edit_task(text, display="a.yaml", name="shop-a", changes={"objective": "New."}) == (
        "kind: task\nname: shop-a\nobjective: New."
    )
    added = edit_task(text, display="a.yaml", name="shop-a", changes={"schedule": "0 * * * *"})
    assert added == TASK + "schedule: 0 * * * *"


def test_removing_the_only_task_beside_empty_documents_empties_the_file() -> None:
    assert remove_task("---\n" + TASK + "---\n", display="a.yaml", name="shop-a") == ""


def test_a_document_after_an_end_marker_is_removed_with_its_comments() -> None:
    text = TASK + "...\n---\n# b\n" + TASK.replace("shop-a", "shop-b")
    assert remove_task(text, display="a.yaml", name="shop-b") == TASK + "...\n"
    first = remove_task(text, display="a.yaml", name="shop-a")
    assert first == "# b\n" + TASK.replace("shop-a", "shop-b")


def test_export_writes_yaml11_traps_quoted_so_validate_has_nothing_to_warn(
    tmp_path: Path,
) -> None:
    from titan_gitops.export import export_tasks, file_name
    from titan_gitops.model import LiveTask
    from titan_gitops.pipeline import validate_directory
    from titan_gitops.secrets import SecretSet

    payload = {"on": "yes", "time": "1:30", "word": "inf", "text": "plain"}
    body = {"id": "i1", "name": "shop-a", "objective": "Prices.", "payload": payload}
    body |= {"urls": ["https://shop.example/"], "execution_type": "single"}
    body["output_schema"] = {"type": "object", "properties": {"price": {"type": "number"}}}
    task = LiveTask(task_id="i1", name="shop-a", updated_at=None, body=body)
    export_tasks([task], tmp_path, secrets=SecretSet())
    text = (tmp_path / "tasks" / file_name("shop-a")).read_text(encoding="utf-8")
    assert "'on': 'yes'\n" in text
    assert "time: '1:30'\n" in text
    assert "word: 'inf'\n" in text
    assert "text: plain\n" in text
    desired = validate_directory(tmp_path, environ={})
    assert desired.warnings == ()
    assert desired.tasks[0].body["payload"] == payload


def test_each_untouched_line_keeps_its_own_line_end() -> None:
    text = "kind: task\nname: shop-a\r\nobjective: Old.\n# note\r\nschedule: '0 * * * *'\r\n"
    after = edit_task(text, display="a.yaml", name="shop-a", changes={"objective": "New."})
    assert after == text.replace("Old.", "New.")
    second = "---\r\nkind: task\r\nname: shop-b\r\n"
    assert remove_task(text + second, display="a.yaml", name="shop-b") == text
