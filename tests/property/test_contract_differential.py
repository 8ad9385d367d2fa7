"""Differential proof of the field contract: `validate` refuses a definition exactly when the
emulator answers its create with 400.

Valid definitions of every shape are mutated at any depth (rename a key, change a type, break an
enum, drop a key, add an unknown key, out-of-range numbers, misspell a JSON Schema keyword inside an
output_schema) and each mutant goes both ways: written
as a file and validated, and sent in-process (httpx.WSGITransport) to a fresh emulator's create.

Left out on purpose, because they are not a disagreement about the service's contract:
- template references to templates the emulator does not hold (validate is offline; `plan`
  checks them against the live templates);
- `validate`'s own safety rules the service does not state (`schedule: null` read as a mistake,
  credentials or control characters in text, name lengths) and the server fields
  (`id`, `status`, `created_at`, `updated_at`) the service ignores in a body: for those validate
  is stricter, never looser.
"""

from __future__ import annotations

import copy
import json
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from titan_gitops.emulator import EmulatorConfig, create_app
from titan_gitops.errors import ValidationFailed
from titan_gitops.pipeline import validate_directory
from titan_gitops.schemas import KEYWORDS

TOKEN = "differential-token"
URLS = ["https://shop.example.com/products"]
BASES: list[dict[str, Any]] = [
    {
        "name": "classic",
        "urls": URLS,
        "objective": "Extract product names and prices.",
        "output_schema": {
            "type": "object",
            "x-owner": "team-a",
            "properties": {
                "price": {"type": "number", "minimum": 0, "description": "in EUR"},
                "name": {"type": "string", "maxLength": 200},
            },
        },
        "execution_type": "single",
        "proxy_locations": ["us", "de"],
    },
    {
        "name": "scheduled",
        "urls": URLS,
        "objective": "Extract prices every Monday.",
        "output_schema": {"type": "object", "required": ["price"]},
        "execution_type": "scheduled",
        "schedule": "0 6 * * 1",
        "script_id": "s-1",
        "script_version": 3,
    },
    {
        "name": "modular",
        "urls": URLS,
        "objective": "Find shoe shops.",
        "execution_type": "single",
        "action_type": "search",
        "input_source": "static_urls",
        "template_slug": "example-search-template",
        "limits": {"max_results": 20, "timeout_seconds": 30},
        "payload": {"query": "shoes", "pages": 2},
    },
    {
        "name": "plan",
        "urls": URLS,
        "objective": "Search, then scrape what was found.",
        "execution_type": "single",
        "execution_plan": {
            "steps": [
                {
                    "action_type": "search",
                    "input_source": "static_urls",
                    "name": "find",
                    "limits": {"max_results": 10},
                },
                {
                    "action_type": "scrape",
                    "input_source": "previous_step",
                    "script_version": "v2",
                    "limits": {"max_pages": 5, "max_depth": 1},
                    "payload": {"render": False},
                    "output_schema": {"type": "object", "properties": {"p": {"type": "number"}}},
                },
            ]
        },
    },
]
ENUMS = ("action_type", "input_source", "execution_type")
TEMPLATE_REFS = ("template_id", "template_slug")
# Values of every JSON type; strings are plain words, so no `${` or control character appears.
VALUES: list[Any] = [None, True, 0, -1, 1.5, 2**31, "", "  ", "word", [], ["x"], {}, {"k": 1}]
BAD_NUMBERS: list[Any] = [-1, -100, 2**31, 2**40, 0.5, -0.0, 1e3]
BAD_CRONS = ("61 6 * * 1", "0 24 * * *", "0 6 32 * *", "0 6 * 13 *", "0 6 * * 1 2026", "daily")
UNKNOWN_KEYS = ("labels", "depth", "extra", "retries", "notes")

Path_ = tuple[str | int, ...]
# kind -> [tried, refused by validate, refused by the emulator, disagreements]
TALLY: dict[str, Counter[str]] = {}


def nodes(value: Any, path: Path_ = ()) -> Iterator[tuple[Path_, Any]]:
    """Every (path, value) under `value`, itself included."""
    yield path, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from nodes(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from nodes(item, (*path, index))


def holder_of(root: Any, path: Path_) -> Any:
    for step in path[:-1]:
        root = root[step]
    return root


def typo(key: str, draw: Any) -> str:
    """`key` with one character dropped, doubled or swapped."""
    index = draw(st.integers(0, len(key) - 1))
    kind = draw(st.sampled_from(["drop", "double", "swap"]))
    if kind == "drop" and len(key) > 1:
        return key[:index] + key[index + 1 :]
    if kind == "swap" and index + 1 < len(key) and key[index] != key[index + 1]:
        return key[:index] + key[index + 1] + key[index] + key[index + 2 :]
    return key[:index] + key[index] + key[index:]


def schema_keywords(task: dict[str, Any]) -> list[Path_]:
    """Paths of the JSON Schema keywords inside the task's output_schemas (field names left out)."""
    found = []
    for path, _ in nodes(task):
        if "output_schema" not in path or path[-1] == "output_schema":
            continue
        inside = path[path.index("output_schema") + 1 :]
        # A key right under `properties` is a field name; a keyword sits at an even depth.
        if isinstance(path[-1], str) and path[-1] in KEYWORDS and len(inside) % 2 == 1:
            found.append(path)
    return found


def misspell_a_keyword(task: dict[str, Any], draw: Any) -> None:
    """Rename one keyword inside an output_schema to a typo that is no keyword."""
    found = schema_keywords(task)
    if not found:
        return
    path = draw(st.sampled_from(found))
    holder = holder_of(task, path)
    new = typo(str(path[-1]), draw)
    if new not in holder and new not in KEYWORDS:
        holder[new] = holder.pop(path[-1])


@st.composite
def mutants(draw: Any) -> tuple[str, dict[str, Any]]:
    """(mutation kind, a mutated copy of a valid definition)."""
    task = copy.deepcopy(draw(st.sampled_from(BASES)))
    kind = draw(
        st.sampled_from(
            [
                *("none", "rename", "retype", "enum", "drop", "unknown", "range", "cron"),
                *("steps", "keyword"),
            ]
        )
    )
    everything = list(nodes(task))[1:]
    if kind == "rename":
        keyed = [(p, v) for p, v in everything if isinstance(p[-1], str)]
        path, value = draw(st.sampled_from(keyed))
        holder = holder_of(task, path)
        new = typo(str(path[-1]), draw)
        if new not in holder:
            del holder[path[-1]]
            holder[new] = value
    elif kind == "retype":
        path, _ = draw(st.sampled_from(everything))
        value = draw(st.sampled_from(VALUES))
        if path[-1] in TEMPLATE_REFS and isinstance(value, str) and value.strip():
            value = 7  # a string would name a template the emulator lacks: still a wrong type
        if path == ("schedule",) and value is None:
            value = 0
        holder_of(task, path)[path[-1]] = value
    elif kind == "enum":
        found = [p for p, _ in everything if p[-1] in ENUMS]
        if found:
            path = draw(st.sampled_from(found))
            holder_of(task, path)[path[-1]] = draw(st.sampled_from(["Search", "static", "daily"]))
    elif kind == "drop":
        droppable = [p for p, _ in everything if isinstance(p[-1], str)]
        gone = draw(st.sampled_from(droppable))
        del holder_of(task, gone)[gone[-1]]
    elif kind == "unknown":
        dicts = [v for _, v in nodes(task) if isinstance(v, dict)]
        draw(st.sampled_from(dicts))[draw(st.sampled_from(UNKNOWN_KEYS))] = 1
    elif kind == "range":
        counts = [p for p, v in everything if "limits" in p[:-1] and isinstance(v, int)]
        if counts:
            path = draw(st.sampled_from(counts))
            holder_of(task, path)[path[-1]] = draw(st.sampled_from(BAD_NUMBERS))
    elif kind == "cron" and "schedule" in task:
        task["schedule"] = draw(st.sampled_from(BAD_CRONS))
    elif kind == "keyword":
        misspell_a_keyword(task, draw)
    elif kind == "steps" and "execution_plan" in task:
        steps = task["execution_plan"]["steps"]
        draw(st.sampled_from([steps.reverse, steps.pop, steps.clear]))()
    return kind, task


def validate_refuses(task: dict[str, Any]) -> bool:
    with tempfile.TemporaryDirectory() as tmp:
        # JSON is YAML: every value reads back exactly as written.
        text = json.dumps({"kind": "task", **task}, ensure_ascii=False)
        (Path(tmp) / "task.yaml").write_text(text, encoding="utf-8")
        try:
            validate_directory(Path(tmp), environ={})
        except ValidationFailed:
            return True
    return False


@pytest.fixture(scope="module")
def service() -> Iterator[httpx.Client]:
    yield from open_service()


def open_service() -> Iterator[httpx.Client]:
    """A client to a fresh in-process emulator, closed when the generator ends."""
    app = create_app(EmulatorConfig(db_path=":memory:", tokens={TOKEN: None}))
    transport = httpx.WSGITransport(app=app)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(transport=transport, base_url="http://titan.local", headers=headers) as http:
        yield http


def emulator_refuses(service: httpx.Client, task: dict[str, Any]) -> bool:
    response = service.post("/api/v1/tasks", json=task)
    if response.status_code == 400:
        return True
    assert response.status_code in (200, 201), response.text
    service.delete(f"/api/v1/tasks/{response.json()['data']['id']}")
    return False


def check_one(service: httpx.Client, kind: str, task: dict[str, Any]) -> None:
    by_validate = validate_refuses(task)
    by_emulator = emulator_refuses(service, task)
    tally = TALLY.setdefault(kind, Counter())
    tally["tried"] += 1
    tally["validate"] += by_validate
    tally["emulator"] += by_emulator
    tally["disagree"] += by_validate != by_emulator
    assert by_validate == by_emulator, (
        f"{kind}: validate {'refuses' if by_validate else 'passes'}, the emulator "
        f"{'refuses' if by_emulator else 'accepts'}: {json.dumps(task)}"
    )


def format_table() -> str:
    """Mutation kinds: tried, refused by validate, refused by the emulator, disagreements."""
    rows = ["kind      tried  validate  emulator  disagree"]
    for kind, tally in sorted(TALLY.items()):
        rows.append(
            f"{kind:<9} {tally['tried']:>5}  {tally['validate']:>8}  {tally['emulator']:>8}"
            f"  {tally['disagree']:>8}"
        )
    return "\n".join(rows)


def disagreements() -> int:
    return sum(tally["disagree"] for tally in TALLY.values())


_SETTINGS = {"deadline": None, "suppress_health_check": [HealthCheck.function_scoped_fixture]}


@settings(max_examples=200, **_SETTINGS)  # type: ignore[arg-type]
@given(mutant=mutants())
def test_validate_refuses_exactly_what_the_emulator_refuses(
    service: httpx.Client, mutant: tuple[str, dict[str, Any]]
) -> None:
    check_one(service, *mutant)


@pytest.mark.slow
@settings(max_examples=2000, **_SETTINGS)  # type: ignore[arg-type]
@given(mutant=mutants())
def test_validate_refuses_exactly_what_the_emulator_refuses_at_length(
    service: httpx.Client, mutant: tuple[str, dict[str, Any]]
) -> None:
    check_one(service, *mutant)


@pytest.mark.slow
def test_print_the_mutation_table() -> None:
    # Runs after the long test in file order; `pytest -s -m slow` shows the closing-note table.
    print("\n" + format_table())
    assert disagreements() == 0


@settings(max_examples=50, **_SETTINGS)  # type: ignore[arg-type]
@given(data=st.data())
def test_a_misspelt_keyword_is_refused_both_ways(service: httpx.Client, data: Any) -> None:
    task = copy.deepcopy(data.draw(st.sampled_from([b for b in BASES if schema_keywords(b)])))
    before = json.dumps(task, sort_keys=True)
    misspell_a_keyword(task, data.draw)
    if json.dumps(task, sort_keys=True) != before:
        assert validate_refuses(task)
        assert emulator_refuses(service, task)


def test_every_base_definition_is_valid_both_ways(service: httpx.Client) -> None:
    for task in BASES:
        assert not validate_refuses(task), task["name"]
        assert not emulator_refuses(service, task), task["name"]
