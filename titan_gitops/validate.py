"""Stage: located YAML documents → DesiredState, with every problem of every file found at once.

Order: load → per document (variables, `$file`, pydantic shape) → templates and `extends` →
merged tasks (rules, cron, URLs, JSON Schemas) → cross-file checks. Nothing here reads the network.
"""

from __future__ import annotations

import difflib
import json
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ValidationError

from titan_gitops.errors import Problem, ValidationFailed
from titan_gitops.load import (
    PROJECT_FILE,
    LineDict,
    LineList,
    load_definition_files,
    load_yaml_file,
)
from titan_gitops.model import DesiredState, DesiredTask, SourceDocument, SourceLocation
from titan_gitops.spec import (
    STRING_FIELDS,
    TASK_FIELD_NAMES,
    ProjectConfig,
    TaskFields,
    TaskSpec,
    TemplateSpec,
)

Loc = tuple[str | int, ...]
MAX_NAME = 200
MAX_OBJECTIVE = 10_000
VAR_PREFIX = "TITAN_VAR_"
_VAR = re.compile(r"\$(\$?)\{([^}]*)\}")
_SPACE = re.compile(r"\s")
_VAR_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_INVISIBLE = re.compile(
    "[\u0000-\u0008\u000b-\u001f\u007f\u00ad\u061c\u115f\u1160\u180e\u200b-\u200f"
    "\u202a-\u202e\u2060-\u2064\u2066-\u2069\u206a-\u206f\u3164\ufeff\ufff9-\ufffb]"
)
_MERGED_MAPPINGS = ("limits", "payload")
_SCHEMA_FIELDS = ("output_schema", "payload_schema")
_MODULAR = ("action_type", "input_source", "limits", "payload")


class _Sensitive(str):
    """A string that holds a substituted `${VAR}` value."""

    __slots__ = ()


# --- locating ---------------------------------------------------------------------------------


def _locate(node: Any, loc: Loc, fallback: tuple[str, int, int]) -> tuple[str, int, int]:
    src, line, col = fallback
    if isinstance(node, (LineDict, LineList)):
        src, (line, col) = node.src, node.pos
    for step in loc:
        if isinstance(node, LineDict) and isinstance(step, str) and step in node:
            line, col = node.key_pos.get(step, (line, col))
            src = node.key_src.get(step, node.src) if node.key_src else node.src
        elif isinstance(node, LineList) and isinstance(step, int) and 0 <= step < len(node):
            line, col = node.item_pos[step]
            src = node.src
        else:
            break
        node = node[step]
    return src, line, col


def _field_path(loc: Iterable[str | int]) -> str:
    text = ""
    for step in loc:
        if isinstance(step, int):
            text += f"[{step}]"
        else:
            text += f".{step}" if text else step
    return text


def _pointer(loc: Iterable[str | int]) -> str:
    return "".join("/" + str(s).replace("~", "~0").replace("/", "~1") for s in loc)


def _show(text: str) -> str:
    """A name safe to print: invisible and control characters shown as code points."""
    return _INVISIBLE.sub(lambda m: f"<U+{ord(m.group()):04X}>", text)


@dataclass
class _Run:
    """The state of one validation run: where problems go, which values are secret."""

    root: Path
    environ: Mapping[str, str]
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    secrets: set[str] = field(default_factory=set)
    schema_files: dict[Path, Any] = field(default_factory=dict)
    substituted: bool = False

    def add(self, node: Any, loc: Loc, message: str, *, at: SourceDocument | None = None) -> None:
        fallback = (at.path, at.line, at.col) if at else ("", 1, 1)
        src, line, col = _locate(node, loc, fallback)
        self.problems.append(Problem(src, line, col, _field_path(loc), message))


# --- variables --------------------------------------------------------------------------------


def _substitute(run: _Run, root: Any, node: Any, prefix: Loc = ()) -> None:
    """Replace `${TITAN_VAR_*}` in every string value, in place; `$${X}` stays a literal `${X}`.

    `root` is the document, so problems name the whole field path; `node` is the part at `prefix`.
    """
    if isinstance(node, LineDict):
        for key, value in node.items():
            if isinstance(value, str):
                node[key] = _substitute_text(run, root, (*prefix, key), value)
            else:
                _substitute(run, root, value, (*prefix, key))
    elif isinstance(node, LineList):
        for index, value in enumerate(node):
            if isinstance(value, str):
                node[index] = _substitute_text(run, root, (*prefix, index), value)
            else:
                _substitute(run, root, value, (*prefix, index))


def _substitute_text(run: _Run, parent: Any, loc: Loc, text: str) -> str:
    if "${" not in text:
        return text
    used = False

    def replace(match: re.Match[str]) -> str:
        nonlocal used
        escaped, name = match.groups()
        if escaped:
            return "${" + name + "}"
        if not _VAR_NAME.match(name) or not name.startswith(VAR_PREFIX):
            run.add(parent, loc, f"${{{name}}}: only variables named {VAR_PREFIX}* are read")
            return match.group()
        value = run.environ.get(name)
        if value is None:
            run.add(parent, loc, f"the variable {name} is not set")
            return match.group()
        used = True
        run.substituted = True
        if value:
            run.secrets.add(value)
        return value

    result = _VAR.sub(replace, text)
    return _Sensitive(result) if used else result


# --- $file ------------------------------------------------------------------------------------


def _file_ref(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"$file"}:
        return value["$file"]
    return None


def _schema_target(run: _Run, ref: str) -> Path | None:
    if ref.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", ref) or ".." in Path(ref).parts:
        return None
    target = (run.root / ref).resolve()
    return target if target.is_relative_to(run.root.resolve()) else None


def _resolve_files(run: _Run, data: LineDict) -> None:
    for key in _SCHEMA_FIELDS:
        ref = _file_ref(data.get(key))
        if ref is None:
            continue
        loc: Loc = (key, "$file")
        if not isinstance(ref, str) or not ref:
            run.add(data, loc, "$file must be a relative path inside the definitions directory")
            continue
        target = _schema_target(run, ref)
        if target is None:
            run.add(data, loc, f"{ref!r} leaves the definitions directory; it must stay inside")
            continue
        if not target.is_file():
            run.add(data, loc, f"{ref!r} does not exist")
            continue
        if target not in run.schema_files:
            run.schema_files[target] = _load_schema_file(run, target, ref)
        content = run.schema_files[target]
        if content is None:
            run.add(data, loc, f"{ref!r} does not hold a JSON or YAML object")
            continue
        data[key] = content


def _load_schema_file(run: _Run, target: Path, ref: str) -> Any:
    display = str(run.root / ref)
    documents, problems = load_yaml_file(target, display)
    run.problems.extend(problems)
    if problems or len(documents) != 1 or not isinstance(documents[0].data, LineDict):
        return None
    return documents[0].data


def _schema_file_refs(run: _Run, documents: Sequence[SourceDocument]) -> set[Path]:
    refs: set[Path] = set()
    for document in documents:
        if isinstance(document.data, dict):
            for key in _SCHEMA_FIELDS:
                ref = _file_ref(document.data.get(key))
                if isinstance(ref, str) and (target := _schema_target(run, ref)) is not None:
                    refs.add(target)
    return refs


# --- shape (pydantic) -------------------------------------------------------------------------


def _check_shape(
    run: _Run, data: LineDict, model: type[BaseModel], at: SourceDocument, prefix: Loc = ()
) -> BaseModel | None:
    for key in STRING_FIELDS:
        if key in data and data[key] is None:
            run.add(data, (key,), "is empty (null); write a quoted string or remove the key")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        seen: set[Loc] = set()
        for error in exc.errors(include_url=False, include_input=False):
            loc = _data_loc(data, tuple(error["loc"]), error["type"])
            if error["type"] == "model_type":
                continue
            message = _shape_message(error, loc, data, model)
            top = loc[:1]
            if top in seen and error["type"] not in ("extra_forbidden",):
                continue
            seen.add(top)
            if len(loc) == 1 and loc[0] in STRING_FIELDS and data.get(str(loc[0]), 0) is None:
                continue
            src, line, col = _locate(data, loc, (at.path, at.line, at.col))
            run.problems.append(Problem(src, line, col, _field_path(prefix + loc), message))
        return None


def _data_loc(data: Any, loc: Loc, kind: str) -> Loc:
    """The part of a pydantic location that names real keys (unions add type tags to it)."""
    found: list[str | int] = []
    node = data
    for step in loc:
        in_dict = isinstance(node, dict) and isinstance(step, str) and step in node
        if in_dict or (isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node)):
            node = node[step]
        else:
            if kind in ("missing", "extra_forbidden") and isinstance(node, dict):
                found.append(step)
            break
        found.append(step)
    return tuple(found)


def _shape_message(error: Any, loc: Loc, data: Any, model: type[BaseModel]) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        known = _known_at(model, loc[:-1])
        hint = difflib.get_close_matches(str(loc[-1]), known, n=1, cutoff=0.6)
        suffix = f"; did you mean {hint[0]!r}?" if hint else ""
        return f"unknown field {str(loc[-1])!r}{suffix}"
    if kind == "missing":
        return "is required"
    message = str(error["msg"])
    value = _value_at(data, loc)
    if kind == "string_type" and (value is None or isinstance(value, (int, float, bool))):
        message += f"; {value!r} was read as a {_yaml_type(value)}: quote it"
    return message


def _yaml_type(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "boolean", int: "number", float: "number"}[type(value)]


def _value_at(data: Any, loc: Loc) -> Any:
    for step in loc:
        try:
            data = data[step]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _known_at(model: type[BaseModel], loc: Loc) -> list[str]:
    # Only top-level keys are forbidden-if-unknown; nested execution_plan steps allow extras.
    if not loc:
        return list(model.model_fields)
    return []


# --- merging ----------------------------------------------------------------------------------


def merge_fields(base: LineDict, over: LineDict, fields: Iterable[str] | None = None) -> LineDict:
    """`over` wins; `limits` and `payload` merge key by key; anything else is replaced whole."""
    merged = LineDict(over.src, over.pos)
    merged.key_src = {}
    allowed = set(fields) if fields is not None else None
    for source in (base, over):
        for key, value in source.items():
            if allowed is not None and source is base and key not in allowed:
                continue
            old = merged.get(key)
            if key in _MERGED_MAPPINGS and isinstance(old, LineDict) and isinstance(value, dict):
                value = merge_fields(old, value) if isinstance(value, LineDict) else value
            merged[key] = value
            merged.key_pos[key] = source.key_pos.get(key, source.pos)
            merged.key_src[key] = _key_src(source, key)
    return merged


def _key_src(node: LineDict, key: str) -> str:
    return node.key_src.get(key, node.src) if node.key_src else node.src


# --- rules on one merged task -----------------------------------------------------------------


def _check_text(run: _Run, data: LineDict, key: str, limit: int, *, required: bool) -> None:
    value = data.get(key)
    if not isinstance(value, str):
        return
    if required and not value.strip():
        run.add(data, (key,), "must not be empty")
    if len(value) > limit:
        run.add(data, (key,), f"is {len(value)} characters long; the limit is {limit}")
    found = _INVISIBLE.search(value)
    if found:
        code = f"U+{ord(found.group()):04X}"
        run.add(data, (key,), f"contains the invisible or bidirectional character {code}")


def _check_urls(run: _Run, data: LineDict) -> None:
    urls = data.get("urls")
    if not isinstance(urls, list):
        return
    if not urls:
        run.add(data, ("urls",), "needs at least one URL")
    for index, url in enumerate(urls):
        if isinstance(url, str):
            reason = _url_problem(url)
            if reason:
                run.add(data, ("urls", index), reason)
        # a non-string item was reported by the shape check


def _url_problem(url: str) -> str | None:
    if not url.startswith(("http://", "https://")):
        return "only http:// and https:// URLs are allowed"
    if _SPACE.search(url):
        return "a URL must not contain spaces"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "is not a valid URL"
    del port
    if parts.scheme not in ("http", "https"):
        return "only http:// and https:// URLs are allowed"
    if not parts.hostname:
        return "the URL has no host"
    if parts.username is not None or parts.password is not None:
        return "the URL carries credentials; pass them through a ${TITAN_VAR_*} variable elsewhere"
    return None


def _check_schema_field(run: _Run, data: LineDict, key: str, *, want_object: bool) -> bool:
    from titan_gitops.schemas import check_schema

    schema = data.get(key)
    # An unresolved {$file: ...} was reported where it was read.
    if not isinstance(schema, dict) or _file_ref(schema) is not None:
        return False
    clean = True
    for path, message in check_schema(schema):
        run.add(data, (key, *path), message)
        clean = False
    if want_object:
        kind = schema.get("type")
        if kind != "object" and not (isinstance(kind, list) and "object" in kind):
            run.add(data, (key,), "an output_schema must describe an object (type: object)")
            clean = False
    return clean


def _check_schedule(run: _Run, data: LineDict) -> None:
    execution = data.get("execution_type")
    schedule = data.get("schedule")
    if execution == "single" and schedule is not None:
        run.add(data, ("schedule",), "a single task has no schedule; remove it or use scheduled")
    if execution == "scheduled" and schedule is None:
        run.add(data, ("execution_type",), "a scheduled task needs a schedule (cron)")
    if isinstance(schedule, str):
        from titan_gitops.cron import check_cron

        reason = check_cron(schedule)
        if reason:
            run.add(data, ("schedule",), reason)


def _check_task(run: _Run, task: LineDict, schemas: Sequence[tuple[LineDict, str]]) -> None:
    _check_text(run, task, "name", MAX_NAME, required=True)
    _check_text(run, task, "objective", MAX_OBJECTIVE, required=True)
    plan = task.get("execution_plan")
    modular = task.get("action_type") is not None
    required = ["objective", "execution_type"]
    if plan is None:
        required.append("urls")
    if plan is None and not modular:
        required.append("output_schema")
    for key in required:
        if task.get(key) is None:
            run.add(task, (), f"{key} is required")
    if plan is not None:
        for key in _MODULAR:
            if task.get(key) is not None:
                run.add(task, (key,), "execution_plan replaces the single-action fields; drop one")
    if task.get("template_id") is not None and task.get("template_slug") is not None:
        run.add(task, ("template_slug",), "use template_slug or template_id, not both")
    _check_schedule(run, task)
    _check_urls(run, task)
    _check_schema_field(run, task, "output_schema", want_object=True)
    if isinstance(plan, LineDict) and isinstance(plan.get("steps"), LineList):
        for step in plan["steps"]:
            if isinstance(step, LineDict):
                _check_schema_field(run, step, "output_schema", want_object=True)
    payload = task.get("payload")
    for owner, name in schemas:
        schema = owner.get("payload_schema")
        if isinstance(schema, dict) and _schema_is_clean(schema):
            _check_payload(run, task, payload, schema, name)
    for index, pointer in enumerate(task.get("ignore_fields") or ()):
        if isinstance(pointer, str) and not pointer.startswith("/"):
            run.add(task, ("ignore_fields", index), "must be a JSON pointer such as /limits")


def _schema_is_clean(schema: dict[str, Any]) -> bool:
    from titan_gitops.schemas import check_schema

    return not check_schema(schema)


def _check_payload(run: _Run, task: LineDict, payload: Any, schema: Any, template: str) -> None:
    from titan_gitops.schemas import validate_instance

    instance = _plain(payload if payload is not None else {}, "", set())
    for path, message in validate_instance(schema, instance):
        loc: Loc = ("payload", *path) if payload is not None else ()
        run.add(task, loc, f"{message} (payload_schema of template {template!r})")


# --- the body ---------------------------------------------------------------------------------


def _plain(value: Any, pointer: str, sensitive: set[str]) -> Any:
    """Plain JSON data (dict, list, str), recording the pointers of substituted values."""
    if isinstance(value, dict):
        return {
            key: _plain(item, f"{pointer}/{_pointer((key,))[1:]}", sensitive)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_plain(item, f"{pointer}/{i}", sensitive) for i, item in enumerate(value)]
    if isinstance(value, _Sensitive):
        sensitive.add(pointer)
        return str(value)
    return value


def _body_of(task: LineDict, any_secret: bool) -> tuple[dict[str, Any], frozenset[str]]:
    body = {key: task[key] for key in TASK_FIELD_NAMES if task.get(key) is not None}
    body = {"name": task["name"], **body}
    if isinstance(body.get("schedule"), str):
        from titan_gitops.cron import spell_out

        body["schedule"] = spell_out(body["schedule"])
    if not any_secret:
        # No variable was substituted anywhere: a C-speed JSON round trip gives plain data.
        plain: dict[str, Any] = json.loads(json.dumps(body))
        return plain, frozenset()
    sensitive: set[str] = set()
    return _plain(body, "", sensitive), frozenset(sensitive)


# --- the run ----------------------------------------------------------------------------------


def _fold(name: str) -> str:
    return unicodedata.normalize("NFC", name).strip()


def _read_project(run: _Run, document: SourceDocument | None) -> ProjectConfig:
    if document is None or document.data is None:
        return ProjectConfig()
    data = document.data
    if not isinstance(data, LineDict):
        run.add(data, (), "the project file must be a mapping", at=document)
        return ProjectConfig()
    defaults = data.get("defaults")
    if isinstance(defaults, LineDict):
        _substitute(run, data, defaults, ("defaults",))
        _resolve_files(run, defaults)
        _check_shape(run, defaults, TaskFields, document, ("defaults",))
    project = _check_shape(run, data, ProjectConfig, document)
    if isinstance(project, ProjectConfig):
        return project
    return ProjectConfig()


@dataclass
class _Definition:
    document: SourceDocument
    data: LineDict
    spec: BaseModel | None


def _read_definitions(
    run: _Run, documents: Sequence[SourceDocument], variable_paths: set[str]
) -> tuple[list[_Definition], list[_Definition]]:
    tasks: list[_Definition] = []
    templates: list[_Definition] = []
    skip = _schema_file_refs(run, documents)
    for document in documents:
        if skip and Path(document.path).resolve() in skip:
            continue
        data = document.data
        if not isinstance(data, LineDict):
            message = "a definition document must be a mapping with kind: task or template"
            run.problems.append(Problem(document.path, document.line, document.col, "", message))
            continue
        kind = data.get("kind")
        if kind not in ("task", "template"):
            if kind is None:
                message = "kind is required: task or template"
            else:
                message = f"kind must be task or template, not {kind!r}"
            run.add(data, ("kind",) if "kind" in data else (), message, at=document)
            continue
        if document.path in variable_paths:
            _substitute(run, data, data)
        _resolve_files(run, data)
        model: type[BaseModel] = TaskSpec if kind == "task" else TemplateSpec
        spec = _check_shape(run, data, model, document)
        target = tasks if kind == "task" else templates
        target.append(_Definition(document, data, spec))
    return tasks, templates


def _index_templates(run: _Run, templates: Sequence[_Definition]) -> dict[str, _Definition]:
    index: dict[str, _Definition] = {}
    for template in templates:
        name = template.data.get("name")
        if not isinstance(name, str):
            continue
        if name in index:
            where = _where(index[name])
            run.add(template.data, ("name",), f"template {name!r} is also defined at {where}")
            continue
        index[name] = template
        _check_schema_field(run, template.data, "payload_schema", want_object=False)
        _check_schema_field(run, template.data, "output_schema", want_object=True)
    return index


def _resolve_template(
    run: _Run,
    name: str,
    index: Mapping[str, _Definition],
    memo: dict[str, tuple[LineDict, list[tuple[LineDict, str]]] | None],
    chain: tuple[str, ...] = (),
) -> tuple[LineDict, list[tuple[LineDict, str]]] | None:
    """A template's fields with its own `extends` chain merged in, and every template in it."""
    if name in memo:
        return memo[name]
    template = index[name]
    if name in chain:
        return None
    parent_name = template.data.get("extends")
    merged, owners = template.data, [(template.data, name)]
    if isinstance(parent_name, str):
        if parent_name in (*chain, name):
            members = (
                (*chain[chain.index(parent_name) :], name) if parent_name in chain else (name,)
            )
            cycle = " → ".join((*members, parent_name))
            # Every template in the cycle is at fault; name the chain at each of them.
            for member in members:
                run.add(index[member].data, ("extends",), f"extends cycle: {cycle}")
                memo[member] = None
            return None
        if parent_name not in index:
            _unknown_template(run, template.data, parent_name, index)
        else:
            parent = _resolve_template(run, parent_name, index, memo, (*chain, name))
            if parent is None:
                memo[name] = None
                return None
            merged = merge_fields(parent[0], template.data, TASK_FIELD_NAMES)
            owners = parent[1] + owners
    memo[name] = (merged, owners)
    return memo[name]


def _unknown_template(run: _Run, data: LineDict, name: str, index: Mapping[str, Any]) -> None:
    hint = difflib.get_close_matches(name, list(index), n=1)
    suffix = f"; did you mean {hint[0]!r}?" if hint else ""
    run.add(data, ("extends",), f"no template is named {name!r}{suffix}")


def _build_task(
    run: _Run,
    task: _Definition,
    index: Mapping[str, _Definition],
    memo: dict[str, Any],
    defaults: LineDict | None,
) -> DesiredTask | None:
    data = task.data
    merged = data
    owners: list[tuple[LineDict, str]] = []
    parent_name = data.get("extends")
    if isinstance(parent_name, str):
        if parent_name not in index:
            _unknown_template(run, data, parent_name, index)
            return None
        resolved = _resolve_template(run, parent_name, index, memo)
        if resolved is None:
            return None
        merged = merge_fields(_only_task_fields(resolved[0]), data)
        owners = resolved[1]
    if defaults is not None:
        merged = merge_fields(defaults, merged, TASK_FIELD_NAMES)
    before = len(run.problems)
    _check_task(run, merged, owners)
    spec = task.spec
    if not isinstance(spec, TaskSpec) or len(run.problems) > before:
        return None
    body, sensitive = _body_of(merged, run.substituted)
    source = SourceLocation(task.document.path, task.document.line, task.document.col)
    return DesiredTask(
        name=spec.name,
        body=body,
        previous_names=tuple(spec.previous_names),
        ignore_fields=tuple(spec.ignore_fields),
        source=source,
        sensitive_paths=sensitive,
        extends=spec.extends,
    )


def _only_task_fields(data: LineDict) -> LineDict:
    result = LineDict(data.src, data.pos)
    result.key_src = {}
    for key in TASK_FIELD_NAMES:
        if key in data:
            result[key] = data[key]
            result.key_pos[key] = data.key_pos.get(key, data.pos)
            result.key_src[key] = _key_src(data, key)
    return result


def _where(definition: _Definition) -> str:
    document = definition.document
    src, line, _ = _locate(definition.data, ("name",), (document.path, document.line, 1))
    return f"{src}:{line}"


def _check_names(run: _Run, tasks: Sequence[_Definition], namespace: str | None) -> None:
    by_name: dict[str, _Definition] = {}
    by_case: dict[str, _Definition] = {}
    for task in tasks:
        name = task.data.get("name")
        if not isinstance(name, str):
            continue
        folded = _fold(name)
        if folded in by_name:
            where = _where(by_name[folded])
            run.add(task.data, ("name",), f"task {_show(name)!r} is also defined at {where}")
            continue
        by_name[folded] = task
        if folded.casefold() in by_case:
            src, line, col = _locate(task.data, ("name",), (task.document.path, 1, 1))
            message = f"differs only by case from the task at {_where(by_case[folded.casefold()])}"
            run.warnings.append(Problem(src, line, col, "name", message, severity="warning"))
        by_case.setdefault(folded.casefold(), task)
        if namespace and not name.startswith(namespace):
            run.add(task.data, ("name",), f"must start with the namespace {namespace!r}")
    for task in tasks:
        own = task.data.get("name")
        previous = task.data.get("previous_names")
        if not isinstance(previous, list):
            continue
        for index, old in enumerate(previous):
            if not isinstance(old, str):
                continue
            other = by_name.get(_fold(old))
            loc: Loc = ("previous_names", index)
            if other is task or old == own:
                run.add(task.data, loc, "a previous name cannot be the task's own name")
            elif other is not None:
                where = _where(other)
                run.add(task.data, loc, f"{_show(old)!r} is the name of another task ({where})")


def validate_directory(root: Path, *, environ: Mapping[str, str]) -> DesiredState:
    """Load and validate every definition under `root`.

    Raises:
        ValidationFailed: with every problem found (load and validation), sorted by file and line.
    """
    run = _Run(root, environ)
    if not root.is_dir():
        raise ValidationFailed([Problem(str(root), 1, 1, "", "is not a directory")])
    loaded = load_definition_files(root)
    run.problems.extend(loaded.problems)
    run.warnings.extend(loaded.warnings)
    project = _read_project(run, loaded.project)
    defaults = None
    if loaded.project is not None and isinstance(loaded.project.data, LineDict):
        found = loaded.project.data.get("defaults")
        defaults = found if isinstance(found, LineDict) else None
    task_defs, template_defs = _read_definitions(run, loaded.documents, loaded.variable_paths)
    index = _index_templates(run, template_defs)
    memo: dict[str, Any] = {}
    for name in index:
        _resolve_template(run, name, index, memo)
    tasks = [_build_task(run, task, index, memo, defaults) for task in task_defs]
    _check_names(run, task_defs, project.namespace)
    secrets = frozenset(run.secrets)
    problems = _scrub(run.problems, secrets)
    warnings = _scrub(run.warnings, secrets)
    if problems:
        raise ValidationFailed(_unique(problems + warnings))
    templates = {
        name: definition.spec
        for name, definition in sorted(index.items())
        if isinstance(definition.spec, TemplateSpec)
    }
    return DesiredState(
        tasks=tuple(sorted((t for t in tasks if t is not None), key=lambda t: t.name)),
        templates=templates,
        project=project,
        warnings=tuple(sorted(set(warnings))),
        secrets=secrets,
    )


def _unique(problems: list[Problem]) -> list[Problem]:
    return sorted(set(problems))


def _scrub(problems: list[Problem], secrets: frozenset[str]) -> list[Problem]:
    """Problems with every substituted value masked: jsonschema messages quote instances."""
    if not secrets:
        return problems
    cleaned = []
    for problem in problems:
        message = problem.message
        for secret in sorted(secrets, key=len, reverse=True):
            message = message.replace(secret, "***")
        cleaned.append(
            Problem(
                problem.path, problem.line, problem.col, problem.field, message, problem.severity
            )
        )
    return cleaned


__all__ = ["PROJECT_FILE", "merge_fields", "validate_directory"]
