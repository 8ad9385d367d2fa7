"""What users write: the pydantic models of task, template and project documents, and their schema.

Task fields use Titan's own names (`titan-api.md` §4); `extends`, `previous_names` and
`ignore_fields` are GitOps-only and never sent. Every model forbids unknown keys.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

ActionType = Literal["search", "crawl", "scrape", "api_call"]

# Fields whose YAML value must be a string, never a number, date or null read from plain text.
STRING_FIELDS = ("name", "objective", "schedule", "description")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StepSpec(BaseModel):
    """One step of an `execution_plan`; the docs give only part of its shape, so extras pass."""

    model_config = ConfigDict(extra="allow", frozen=True)

    action_type: ActionType
    input_source: StrictStr


class ExecutionPlanSpec(BaseModel):
    """A multi-step plan: steps run in order, wired by `input_source`."""

    model_config = ConfigDict(extra="allow", frozen=True)

    steps: list[StepSpec] = Field(min_length=1)


class TaskFields(_Strict):
    """The Titan task fields, all optional: what templates and project defaults may set."""

    urls: list[StrictStr] | None = None
    objective: StrictStr | None = None
    output_schema: dict[str, Any] | None = None
    execution_type: Literal["single", "scheduled"] | None = None
    schedule: StrictStr | None = None
    proxy_locations: list[StrictStr] | None = None
    template_id: StrictStr | None = None
    template_slug: StrictStr | None = None
    script_id: StrictStr | None = None
    script_version: StrictStr | StrictInt | None = None
    action_type: ActionType | None = None
    input_source: StrictStr | None = None
    limits: dict[str, Any] | None = None
    payload: dict[str, Any] | None = None
    execution_plan: ExecutionPlanSpec | None = None


class TaskSpec(TaskFields):
    """A `kind: task` document."""

    kind: Literal["task"]
    name: StrictStr
    extends: StrictStr | None = None
    previous_names: list[StrictStr] = Field(default_factory=list)
    ignore_fields: list[StrictStr] = Field(default_factory=list)


class TemplateSpec(TaskFields):
    """A `kind: template` document: a local building block that tasks `extends`."""

    kind: Literal["template"]
    name: StrictStr
    description: StrictStr | None = None
    extends: StrictStr | None = None
    payload_schema: dict[str, Any] | None = None


class ProjectConfig(_Strict):
    """`titan-gitops.yaml` at the root of the definitions directory."""

    namespace: StrictStr | None = None
    protected: tuple[StrictStr, ...] = ()
    defaults: dict[str, Any] = Field(default_factory=dict)
    max_deletes: StrictInt = Field(default=10, ge=0)


TASK_FIELD_NAMES = tuple(TaskFields.model_fields)
# The task fields titan-gitops manages on the service, in Titan's order: the name, then the rest.
# Anything else a live task holds (id, status, timestamps, fields Titan adds) is the service's own.
MANAGED_FIELDS = ("name", *TASK_FIELD_NAMES)


def definition_json_schema() -> dict[str, Any]:
    """The JSON Schema of one definition document (task or template), for editors and CI."""
    task = TaskSpec.model_json_schema(ref_template="#/$defs/{model}")
    template = TemplateSpec.model_json_schema(ref_template="#/$defs/{model}")
    project = ProjectConfig.model_json_schema(ref_template="#/$defs/{model}")
    defs: dict[str, Any] = {}
    for schema in (task, template, project):
        defs.update(schema.pop("$defs", {}))
    defs["TaskSpec"] = task
    defs["TemplateSpec"] = template
    defs["ProjectConfig"] = project
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://github.com/titan-gitops/titan-gitops/schema/titan-gitops.schema.json",
        "title": "titan-gitops definition document",
        "description": (
            "A Titan task (kind: task), a local template (kind: template), or the project"
            " file titan-gitops.yaml (no kind)."
        ),
        "oneOf": [
            {"$ref": "#/$defs/TaskSpec"},
            {"$ref": "#/$defs/TemplateSpec"},
            {"$ref": "#/$defs/ProjectConfig"},
        ],
        "$defs": defs,
    }
