"""What users write: the pydantic models of task, template and project documents, and their schema.

Task fields use Titan's own names (`titan-api.md` §4); `extends`, `previous_names` and
`ignore_fields` are GitOps-only and never sent. Every model forbids unknown keys.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, field_validator

ActionType = Literal["search", "crawl", "scrape", "api_call"]
InputSource = Literal["static_urls", "previous_step"]

# Fields whose YAML value must be a string, never a number, date or null read from plain text.
STRING_FIELDS = ("name", "objective", "schedule", "description")

# The field contract where titan-api.md is silent; the emulator (emulator/rules.py) makes the same
# choices, and the README's definition format states them:
# - every object the service checks (task, execution_plan, each step, limits) refuses unknown keys;
# - `limits` holds only the keys Titan's templates use, each a non-negative integer (a count or
#   seconds) no larger than MAX_LIMIT, a 32-bit signed integer; booleans are not integers;
# - a step needs `action_type` and `input_source` (`previous_step` only after the first step);
# - below the top level, null is not "absent": a step or limits key set to null is refused.
MAX_LIMIT = 2_147_483_647
Count = Annotated[StrictInt, Field(ge=0, le=MAX_LIMIT)]
# Strings of the task and of each step that must hold more than spaces (validate/rules.py);
# `name` and `objective` have their own rules there.
NON_BLANK_FIELDS = ("template_id", "template_slug", "script_id", "script_version")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _NoNull(_Strict):
    """An object below the task whose keys may be left out but never set to null."""

    @field_validator("*", mode="before")
    @classmethod
    def _refuse_null(cls, value: Any) -> Any:
        # Validators run on given values only, so a left-out key still takes its None default.
        if value is None:
            raise ValueError("is empty (null); write a value or remove the key")
        return value


class LimitsSpec(_NoNull):
    """`limits`: run limits, each a non-negative integer; a key set to null is refused."""

    max_results: Count | None = None
    max_pages: Count | None = None
    max_depth: Count | None = None
    timeout_seconds: Count | None = None
    max_retries: Count | None = None


LIMIT_KEYS = tuple(LimitsSpec.model_fields)


class StepSpec(_NoNull):
    """One step of an `execution_plan`: the single-action fields of one action."""

    action_type: ActionType
    input_source: InputSource
    name: StrictStr | None = None
    template_id: StrictStr | None = None
    template_slug: StrictStr | None = None
    script_id: StrictStr | None = None
    script_version: StrictStr | StrictInt | None = None
    limits: LimitsSpec | None = None
    payload: dict[str, Any] | None = None
    output_schema: dict[str, Any] | None = None


class ExecutionPlanSpec(_Strict):
    """A multi-step plan: steps run in order, wired by `input_source`."""

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
    input_source: InputSource | None = None
    limits: LimitsSpec | None = None
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
    # What apply does with a change that would throw away an edit made in Titan since the base
    # (a plan made with --base): refuse it (the default), or overwrite the edit on purpose.
    live_edits: Literal["refuse", "overwrite"] = "refuse"

    def max_deletes_source(self, path: str) -> str:
        """Where `max_deletes` comes from, for messages: the file at `path`, or the default."""
        where = path or "titan-gitops.yaml"
        if "max_deletes" in self.model_fields_set:
            return f"max_deletes: {self.max_deletes} in {where}"
        return f"the default; set max_deletes in {where} to change it"


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
    for name in ("LimitsSpec", "StepSpec"):
        # Their keys may be left out but never set to null: the null default is not advertised.
        for prop in defs[name]["properties"].values():
            prop.pop("default", None)
            kinds = [kind for kind in prop.pop("anyOf", ()) if kind != {"type": "null"}]
            if len(kinds) == 1:
                prop.update(kinds[0])
            elif kinds:
                prop["anyOf"] = kinds
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
