"""The user-facing models and the committed JSON Schema of the definition format."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from pydantic import ValidationError

from titan_gitops.load import load_yaml_file
from titan_gitops.spec import ProjectConfig, TaskSpec, TemplateSpec, definition_json_schema

REPO = Path(__file__).resolve().parents[2]
COMMITTED = REPO / "schema" / "titan-gitops.schema.json"


def test_the_committed_schema_is_up_to_date() -> None:
    fresh = json.dumps(definition_json_schema(), indent=2, sort_keys=True) + "\n"
    assert COMMITTED.read_text(encoding="utf-8") == fresh, (
        "schema/titan-gitops.schema.json is stale: regenerate it with `titan-gitops schema`"
    )


def test_the_schema_is_a_valid_2020_12_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(definition_json_schema())


def _editor_validator() -> Any:
    return jsonschema.Draft202012Validator(definition_json_schema())


def test_every_example_file_passes_the_editor_schema() -> None:
    validator = _editor_validator()
    for path in sorted((REPO / "tasks.example").rglob("*.yaml")):
        (document,), problems = load_yaml_file(path, str(path))
        assert problems == []
        assert list(validator.iter_errors(document.data)) == [], path


@pytest.mark.parametrize(
    "document",
    [
        {"kind": "task", "name": "t", "shedule": "0 * * * *"},
        {"kind": "tsak", "name": "t"},
        {"kind": "task", "name": 3},
        {"namespace": "a-", "max_deletes": -1},
    ],
)
def test_the_editor_schema_flags_mistakes(document: dict[str, Any]) -> None:
    assert not _editor_validator().is_valid(document)


def test_unknown_keys_are_forbidden_everywhere() -> None:
    with pytest.raises(ValidationError):
        TaskSpec.model_validate({"kind": "task", "name": "t", "labels": []})
    with pytest.raises(ValidationError):
        TemplateSpec.model_validate({"kind": "template", "name": "t", "previous_names": []})
    with pytest.raises(ValidationError):
        ProjectConfig.model_validate({"namespce": "x"})


def test_strings_are_never_coerced() -> None:
    with pytest.raises(ValidationError):
        TaskSpec.model_validate({"kind": "task", "name": 12})
    with pytest.raises(ValidationError):
        TaskSpec.model_validate({"kind": "task", "name": "t", "urls": [1]})


def test_project_defaults() -> None:
    project = ProjectConfig()
    assert (project.namespace, project.protected, project.defaults, project.max_deletes) == (
        None,
        (),
        {},
        10,
    )


def test_execution_plan_steps_need_an_action_and_an_input_source() -> None:
    base = {"kind": "task", "name": "t"}
    TaskSpec.model_validate(
        {
            **base,
            "execution_plan": {"steps": [{"action_type": "crawl", "input_source": "static_urls"}]},
        }
    )
    # A step is a closed object like the task: an unknown key is refused, never passed along.
    with pytest.raises(ValidationError):
        TaskSpec.model_validate(
            {
                **base,
                "execution_plan": {
                    "steps": [{"action_type": "crawl", "input_source": "static_urls", "depth": 2}]
                },
            }
        )
    with pytest.raises(ValidationError):
        TaskSpec.model_validate({**base, "execution_plan": {"steps": [{"input_source": "x"}]}})
    with pytest.raises(ValidationError):
        TaskSpec.model_validate({**base, "execution_plan": {"steps": [{"action_type": "crawl"}]}})
    with pytest.raises(ValidationError):
        TaskSpec.model_validate({**base, "execution_plan": {"steps": []}})
