"""export: deterministic files, safe names, never overwriting what it did not write."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Any

import pytest

from titan_gitops.diff import normalise_task
from titan_gitops.errors import ConfigError, InputError
from titan_gitops.export import (
    INCOMPLETE_MARKER,
    MARKER,
    _file_names,
    export_tasks,
    file_name,
    name_problem,
    safe_stem,
    shown,
    task_document,
    visible,
)
from titan_gitops.load import MAX_FILE_BYTES
from titan_gitops.model import LiveTask
from titan_gitops.pipeline import validate_directory
from titan_gitops.secrets import SecretSet
from titan_gitops.validate.placeholders import (
    AmbiguousValue,
    Placeholders,
    escape_placeholders,
    reads_back_as,
)

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


def test_a_secret_no_variable_stands_for_is_refused_never_written(tmp_path: Path) -> None:
    task = live("shop-a", objective="Sign in with export-secret-5151 first.")
    report = export_tasks([task], tmp_path, secrets=SecretSet.of(["export-secret-5151"]))
    assert not (tmp_path / "tasks" / "shop-a.yaml").exists()
    assert [r.task_id for r in report.refused] == ["id-shop-a"]
    assert "holds a secret value" in report.refused[0].reason
    assert "export-secret-5151" not in str(report.refused[0])
    assert "***" not in "".join(p.read_text() for p in tmp_path.rglob("*.yaml"))


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


# --- round trip: export → validate gives back exactly what Titan holds --------------------------

PASSWORD = 'Pa"ss\\wo<rd>99'


def variables_of(**values: str) -> dict[str, str]:
    return {f"TITAN_VAR_{name}": value for name, value in values.items()}


def round_trip(
    tmp_path: Path, task: LiveTask, variables: dict[str, str] | None = None
) -> tuple[str, dict[str, Any]]:
    """Export one task, validate the folder with `variables` set; the file and the desired body."""
    environ = variables or {}
    secrets = SecretSet.from_environ(environ)
    report = export_tasks([task], tmp_path, secrets=secrets, variables=environ)
    assert report.refused == (), [str(r) for r in report.refused]
    text = (tmp_path / "tasks" / file_name(task.name)).read_text(encoding="utf-8")
    desired = validate_directory(tmp_path, environ=environ)
    [found] = desired.tasks
    return text, normalise_task(found.body)


def test_a_live_value_equal_to_a_variable_is_written_as_its_placeholder(tmp_path: Path) -> None:
    task = live("shop-a", payload={"password": PASSWORD, "user": "ann"})
    text, body = round_trip(tmp_path, task, variables_of(PW=PASSWORD))
    assert "password: ${TITAN_VAR_PW}" in text
    assert PASSWORD not in text
    assert "***" not in text
    assert body == normalise_task(task.body)


def test_a_variable_inside_a_longer_string_is_written_inside_it(tmp_path: Path) -> None:
    task = live(
        "shop-a",
        urls=["https://shop.example/p?key=k3y-value-77&x=1"],
        objective="Sign in with k3y-value-77, then k3y-value-77 again.",
    )
    text, body = round_trip(tmp_path, task, variables_of(KEY="k3y-value-77"))
    assert "https://shop.example/p?key=${TITAN_VAR_KEY}&x=1" in text
    assert "Sign in with ${TITAN_VAR_KEY}, then ${TITAN_VAR_KEY} again." in text
    assert "k3y-value-77" not in text
    assert body == normalise_task(task.body)


def test_the_longest_variable_wins_where_two_overlap(tmp_path: Path) -> None:
    task = live("shop-a", payload={"a": "xx-secret-long-yy", "b": "secret"})
    text, body = round_trip(tmp_path, task, variables_of(SHORT="secret", LONG="secret-long"))
    assert "a: xx-${TITAN_VAR_LONG}-yy" in text
    assert "b: ${TITAN_VAR_SHORT}" in text
    assert body == normalise_task(task.body)


def test_two_variables_holding_one_value_refuse_the_task_never_guess(tmp_path: Path) -> None:
    environ = variables_of(A="same-value-42", B="same-value-42")
    task = live("shop-a", payload={"key": "same-value-42"})
    report = export_tasks(
        [task, live("shop-b")], tmp_path, secrets=SecretSet.from_environ(environ), variables=environ
    )
    assert [r.task_id for r in report.refused] == ["id-shop-a"]
    reason = report.refused[0].reason
    assert "TITAN_VAR_A and TITAN_VAR_B" in reason
    assert "same-value-42" not in str(report.refused[0])
    assert not (tmp_path / "tasks" / "shop-a.yaml").exists()
    assert (tmp_path / "tasks" / "shop-b.yaml").exists()


def test_the_token_or_an_encoded_secret_is_refused_never_written(tmp_path: Path) -> None:
    environ = variables_of(PW="hunter-2222")
    secrets = SecretSet.from_environ(environ, token="the-token-9999")
    encoded = live("shop-a", payload={"auth": "aHVudGVyLTIyMjI="})  # base64 of the value
    token = live("shop-b", objective="Use the-token-9999.")
    key = live("shop-c", payload={"hunter-2222": 1})  # keys are never substituted
    report = export_tasks([encoded, token, key], tmp_path, secrets=secrets, variables=environ)
    assert sorted(r.task_id for r in report.refused) == ["id-shop-a", "id-shop-b", "id-shop-c"]
    assert all("holds a secret value" in r.reason for r in report.refused)
    assert not list(tmp_path.rglob("shop-*.yaml"))


@pytest.mark.parametrize(
    "value",
    [
        "${TITAN_VAR_X}",
        "price ${not a variable} here",
        "$${already escaped}",
        "unclosed ${ brace",
        "$$${",
        "ends with ${",
        "${}",
    ],
)
def test_a_literal_placeholder_is_escaped_and_reads_back_exactly(
    tmp_path: Path, value: str
) -> None:
    task = live("shop-a", objective=f"Say {value}.", payload={"note": value, "list": [value]})
    _, body = round_trip(tmp_path, task)
    assert body == normalise_task(task.body)


def test_a_literal_placeholder_next_to_a_variable_reads_back_exactly(tmp_path: Path) -> None:
    task = live("shop-a", payload={"a": "${TITAN_VAR_PW}=hunter-2222${x}", "b": "hunter-2222}"})
    text, body = round_trip(tmp_path, task, variables_of(PW="hunter-2222"))
    assert "hunter-2222" not in text
    assert body == normalise_task(task.body)


@pytest.mark.parametrize(
    "value",
    [
        "yes",
        "no",
        "on",
        "off",
        "y",
        "n",
        "010",
        "0o17",
        "0x1F",
        "1:30",
        "2026-01-01",
        "~",
        "null",
        "Null",
        "true",
        "False",
        ".inf",
        "-.nan",
        "1e3",
        "- x",
        "# not a comment",
        "a: b",
        ": ",
        "a #b",
        "  leading and trailing  ",
        "",
        " ",
        "line\none",
        "trailing \nspace",
        "\nleading newline",
        "tab\there",
        "'quoted'",
        '"double"',
        "[1, 2]",
        "{a: 1}",
        "&anchor",
        "*alias",
        "!tag",
        "%directive",
        "@at",
        "`tick",
        "|",
        ">",
        "---",
        "...",
        "? q",
        "é—中文 ✓",
        "emoji 🎉",
        "\u200f rtl mark \u202e bidi",
        "\x85next line",
        "\u2028sep",
        "€100",
        "\n\x08",
        "a\r\nb",
        "\x1b[31mred",
        "\x7fdel",
        "\ufeffbom",
        "\x00nul",
        "\\backslash",
        "%",
        "=",
    ],
)
def test_any_payload_string_reads_back_exactly(tmp_path: Path, value: str) -> None:
    task = live("shop-a", payload={"v": value, value: [value], "n": {"deep": value}})
    _, body = round_trip(tmp_path, task)
    assert body == normalise_task(task.body)


@pytest.mark.parametrize(
    "objective",
    ["yes", "010", "~", "null", "- x", "# x", "a: b", "  spaced  ", "two\nlines ", "t\tab"],
)
def test_objectives_that_yaml_would_misread_survive(tmp_path: Path, objective: str) -> None:
    task = live("shop-a", objective=objective)
    _, body = round_trip(tmp_path, task)
    assert body == normalise_task(task.body)


def test_exporting_with_placeholders_twice_is_byte_identical(tmp_path: Path) -> None:
    environ = variables_of(PW=PASSWORD)
    task = live("shop-a", payload={"password": PASSWORD, "note": "${x}"})
    secrets = SecretSet.from_environ(environ)
    export_tasks([task], tmp_path, secrets=secrets, variables=environ)
    before = (tmp_path / "tasks" / "shop-a.yaml").read_bytes()
    report = export_tasks([task], tmp_path, secrets=secrets, variables=environ)
    assert report.written == ()
    assert (tmp_path / "tasks" / "shop-a.yaml").read_bytes() == before


def test_the_cli_writes_placeholders_for_the_variables_it_is_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from titan_gitops.cli import main

    monkeypatch.chdir(tmp_path)
    defs = tmp_path / "defs" / "tasks"
    defs.mkdir(parents=True)
    (defs / "a.yaml").write_text(
        "kind: task\nname: shop-a\nurls: [https://shop.example/]\nobjective: Get prices.\n"
        "output_schema: {type: object}\nexecution_type: single\n"
        "payload: {password: '${TITAN_VAR_PW}', note: '$${TITAN_VAR_PW}'}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("TITAN_VAR_PW", PASSWORD)
    assert main(["apply", "defs", "--auto-approve"]) == 0
    assert main(["export", "--out", "out"]) == 0
    text = (tmp_path / "out" / "tasks" / "shop-a.yaml").read_text(encoding="utf-8")
    assert "password: ${TITAN_VAR_PW}" in text
    assert "note: $${TITAN_VAR_PW}" in text
    assert main(["plan", "out", "--detailed-exitcode"]) == 0
    assert PASSWORD not in "".join(capsys.readouterr())


def test_placeholders_stand_for_whole_short_values_and_inside_for_long_ones() -> None:
    table = Placeholders.of({"TITAN_VAR_EU": "eu", "TITAN_VAR_KEY": "k3y-77", "OTHER": "other"})
    assert table.write("eu") == "${TITAN_VAR_EU}"
    assert table.write("europe") == "europe"  # too short to look for inside text
    assert table.write("a k3y-77 ${b}") == "a ${TITAN_VAR_KEY} $${b}"
    assert table.write("other") == "other"  # only TITAN_VAR_ variables are substituted
    assert escape_placeholders("$${x} ${") == "$$${x} $${"
    with pytest.raises(AmbiguousValue):
        Placeholders.of({"TITAN_VAR_A": "same", "TITAN_VAR_B": "same"}).write("x same")


def test_a_secret_right_after_a_dollar_cannot_be_written_and_is_refused(tmp_path: Path) -> None:
    environ = variables_of(PW="{hunter-2222}")
    task = live("shop-a", payload={"a": "$" + "{hunter-2222}"})
    report = export_tasks(
        [task], tmp_path, secrets=SecretSet.from_environ(environ), variables=environ
    )
    assert [r.task_id for r in report.refused] == ["id-shop-a"]
    assert not list(tmp_path.rglob("shop-a.yaml"))


def test_a_schema_that_reads_as_a_file_reference_is_refused(tmp_path: Path) -> None:
    task = live("shop-a")
    body = {**task.body, "output_schema": {"$file": "../../etc/passwd"}}
    report = export_tasks(
        [LiveTask(task.task_id, task.name, task.updated_at, body)],
        tmp_path,
        secrets=SecretSet.of([]),
    )
    assert not (tmp_path / "tasks" / "shop-a.yaml").exists()
    assert [r.task_id for r in report.refused] == [task.task_id]
    assert "reads as a reference to a schema file" in report.refused[0].reason


@pytest.mark.parametrize("name", ["\uffff", "shop-\ufffe-x"])
def test_a_name_holding_a_character_yaml_cannot_hold_raw_is_exported_and_reads_back(
    tmp_path: Path, name: str
) -> None:
    # U+FFFE and U+FFFF are valid in a name, but YAML's reader refuses them raw anywhere in a
    # file, the header comment included: there they are written as escapes.
    report = export_tasks([live(name)], tmp_path, secrets=NO_SECRETS)
    assert report.refused == ()
    (path,) = [p for p in report.written if p.parent.name == "tasks"]
    text = path.read_text(encoding="utf-8")
    assert "\uffff" not in text.split("\n", 2)[1]
    assert "\ufffe" not in text.split("\n", 2)[1]
    desired = validate_directory(tmp_path, environ={})
    assert [t.name for t in desired.tasks] == [name]
