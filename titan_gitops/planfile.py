"""The saved-plan format (`plan --out`, `apply --plan`): a Plan to and from versioned JSON.

A saved plan is a request, never an authority: `apply --plan` re-derives the plan and applies
only the fresh changes the saved ones match (pipeline.rederive_saved_plan). Sensitive values are
stored as `{"sensitive": true}`, which holds nothing derived from the value. Reading is strict: a
size cap before parsing, then every field's type, each error naming the field.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

from titan_gitops import __version__
from titan_gitops.atomic import write_text_atomic
from titan_gitops.errors import InputError
from titan_gitops.fingerprint import hide_pointers, sensitive_stand_in
from titan_gitops.model import (
    Action,
    BaseInfo,
    Change,
    FieldChange,
    Fingerprint,
    Note,
    Plan,
    ThreeWay,
)
from titan_gitops.planfields import Fields, Malformed, check_pointer, kind_of
from titan_gitops.secrets import SecretSet
from titan_gitops.threeway import base_to_dict, threeway_to_dict

# 2: sensitive values are stood in for by `{"sensitive": true}` (1 stored a hash of the value).
FORMAT_VERSION = "2"
# The largest saved plan read: thousands of changes with their bodies fit well under it.
MAX_PLAN_BYTES = 64 * 2**20
# The most JSON values (counted by their commas and brackets) parsed: under the byte cap, a file
# of tiny values (`[{},{},...]`) would otherwise take some 25 bytes of memory per byte of text.
# A plan titan-gitops wrote has about one value per 28 bytes, so it meets the byte cap first.
MAX_PLAN_VALUES = 3_000_000
_AGAIN = "run plan again to make a new one"


def _hide(value: Any) -> Any:
    """A sensitive field's value as the stand-in; an absent one stays absent (added, removed)."""
    return None if value is None else sensitive_stand_in()


def _change_to_dict(change: Change) -> dict[str, Any]:
    hidden = change.sensitive_pointers
    return {
        "action": change.action.value,
        "name": change.name,
        "id": change.task_id,
        "previous_name": change.previous_name,
        "reason": change.reason,
        "source": change.source,
        "breaking": list(change.breaking),
        "fields": [
            {
                "path": f.path,
                "pointer": f.pointer,
                "before": _hide(f.before) if f.sensitive else f.before,
                "after": _hide(f.after) if f.sensitive else f.after,
                "sensitive": f.sensitive,
            }
            for f in change.fields
        ],
        # The live value at a sensitive pointer is as secret as the planned one.
        "before": hide_pointers(change.before, hidden),
        "after": hide_pointers(change.after, hidden),
        "request_body": hide_pointers(change.request_body, hidden),
        "sensitive_pointers": sorted(hidden),
        "ignore_fields": list(change.ignore_fields),
    }


def plan_to_dict(plan: Plan) -> dict[str, Any]:
    """The JSON-ready form of a plan."""
    counts = plan.counts()
    return {
        "format_version": FORMAT_VERSION,
        "tool": "titan-gitops",
        "tool_version": __version__,
        "target": plan.target,
        "directory": plan.directory,
        "namespace": plan.namespace,
        "managed_names": list(plan.managed_names),
        "filtered": plan.filtered,
        "filters": list(plan.filters),
        "summary": {
            **{k.replace("-", "_"): v for k, v in counts.items()},
            "has_changes": plan.has_changes,
            "breaking": sum(1 for c in plan.changes if c.breaking),
        },
        "changes": [_change_to_dict(c) for c in plan.changes],
        "notes": [{"name": n.name, "id": n.task_id, "message": n.message} for n in plan.notes],
        "warnings": list(plan.warnings),
        "fingerprints": [
            {
                "id": f.task_id,
                "name": f.name,
                "updated_at": f.updated_at,
                "digest": f.digest,
                "hidden": list(f.hidden),
            }
            for f in plan.fingerprints
        ],
        "scope_digest": plan.scope_digest,
        "change_digest": plan.change_digest,
    }


def plan_to_json_data(plan: Plan) -> dict[str, Any]:
    """The JSON-ready form of a plan, with its attribution when it was made with a base: who
    changed each field since (`attribution`), where (`base`), and on each change whether applying
    it throws away an edit made in Titan (`reverts_live_edit`). Only the base is read back."""
    data = plan_to_dict(plan)
    threeway = plan.threeway
    if threeway is None:
        return data
    reverting = {t.name for t in threeway.reverting}
    for change in data["changes"]:
        change["reverts_live_edit"] = change["name"] in reverting
    data["summary"]["reverts_live_edits"] = sum(
        1 for c in data["changes"] if c["reverts_live_edit"] and c["action"] != "no-op"
    )
    data["base"] = base_to_dict(threeway.base)
    data["attribution"] = threeway_to_dict(threeway)
    return data


def render_plan_json(plan: Plan) -> str:
    """The saved-plan format as text (`plan --out`, `plan --output json`): indented, sorted keys."""
    data = plan_to_json_data(plan)
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


# --- reading, strictly -------------------------------------------------------------------------


_CHANGE_KEYS = frozenset(_change_to_dict(Change(Action.NO_OP, "", "")))
_FIELD_KEYS = frozenset({"path", "pointer", "before", "after", "sensitive"})
_NOTE_KEYS = frozenset({"name", "id", "message"})
_FINGERPRINT_KEYS = frozenset({"id", "name", "updated_at", "digest", "hidden"})
_PLAN_KEYS = frozenset(plan_to_dict(Plan(changes=())))
_ACTIONS = {a.value: a for a in Action}


def _change_from_fields(c: Fields) -> Change:
    action = c.text("action")
    if action not in _ACTIONS:
        raise Malformed(f"{c.at('action')} must be one of {', '.join(_ACTIONS)}, not {action!r}")
    fields = []
    for f in c.objects("fields", _FIELD_KEYS):
        f.text("path")
        pointer = f.text("pointer")
        check_pointer(pointer, f.at("pointer"))
        fields.append(
            FieldChange(pointer, f.value("before"), f.value("after"), f.flag("sensitive"))
        )
    return Change(
        action=_ACTIONS[action],
        name=c.text("name"),
        reason=c.text("reason"),
        task_id=c.optional_text("id"),
        previous_name=c.optional_text("previous_name"),
        before=c.document("before"),
        after=c.document("after"),
        request_body=c.document("request_body"),
        fields=tuple(fields),
        breaking=c.texts("breaking"),
        source=c.optional_text("source"),
        sensitive_pointers=frozenset(c.pointers("sensitive_pointers")),
        ignore_fields=c.pointers("ignore_fields"),
    )


def _check_filters(d: Fields) -> tuple[str, ...]:
    filters = d.texts("filters")
    for i, item in enumerate(filters):
        kind, _, glob = item.partition(" ")
        if kind not in ("only", "exclude") or not glob:
            raise Malformed(f"filters[{i}] must read 'only GLOB' or 'exclude GLOB', not {item!r}")
    if d.flag("filtered") != bool(filters):
        raise Malformed("filtered must be true exactly when filters are listed")
    return filters


def _check_version(data: Any) -> None:
    if not isinstance(data, dict):
        raise Malformed(f"the document must be an object, not {kind_of(data)}")
    version = data.get("format_version")
    if version == FORMAT_VERSION:
        return
    if isinstance(version, str) and version.isdigit() and int(version) < int(FORMAT_VERSION):
        raise Malformed(
            f"it was written by an older titan-gitops (saved-plan format {version}; this "
            f"titan-gitops {__version__} reads format {FORMAT_VERSION})"
        )
    raise Malformed(
        f"format_version is {version!r}, which titan-gitops {__version__} does not read "
        f"(it reads {FORMAT_VERSION!r})"
    )


def _plan_from_fields(data: Any) -> Plan:
    _check_version(data)
    d = Fields(data, "", _PLAN_KEYS)
    if d.text("tool") != "titan-gitops":
        raise Malformed("tool must be 'titan-gitops': this is not a titan-gitops plan")
    d.text("tool_version")
    d.document("summary")
    directory = d.text("directory")
    if "\x00" in directory:
        raise Malformed("directory holds a NUL character")
    fingerprints = tuple(
        Fingerprint(
            f.text("id"),
            f.text("name"),
            f.optional_text("updated_at"),
            f.digest("digest"),
            tuple(f.pointers("hidden")),
        )
        for f in d.objects("fingerprints", _FINGERPRINT_KEYS)
    )
    notes = tuple(
        Note(name=n.text("name"), message=n.text("message"), task_id=n.optional_text("id"))
        for n in d.objects("notes", _NOTE_KEYS)
    )
    filters = _check_filters(d)
    return Plan(
        changes=tuple(_change_from_fields(c) for c in d.objects("changes", _CHANGE_KEYS)),
        notes=notes,
        namespace=d.optional_text("namespace"),
        filtered=bool(filters),
        filters=filters,
        fingerprints=fingerprints,
        scope_digest=d.digest("scope_digest"),
        change_digest=d.digest("change_digest"),
        target=d.text("target"),
        warnings=d.texts("warnings"),
        managed_names=d.texts("managed_names"),
        directory=directory,
    )


def plan_from_dict(data: Any, *, source: str = "the saved plan") -> Plan:
    """A Plan from its JSON form, every field's type checked.

    Raises:
        InputError: an unknown or older format version, or a malformed document; the message
            names the field (`changes[2].request_body`).
    """
    try:
        rest, base = _set_attribution_aside(_set_previews_aside(data))
        plan = _plan_from_fields(rest)
        return plan if base is None else replace(plan, threeway=ThreeWay(base))
    except Malformed as exc:
        raise InputError(f"{source} cannot be used: {exc}; {_AGAIN}") from None


def _set_previews_aside(data: Any) -> Any:
    """`plan --preview --output json` without its samples (`previews`, each change's `preview`):
    they never change what apply does, so the plan reads as if they were not there."""
    if not isinstance(data, dict) or "previews" not in data:
        return data
    rest = {key: value for key, value in data.items() if key != "previews"}
    changes = rest.get("changes")
    if isinstance(changes, list):
        rest["changes"] = [
            {k: v for k, v in c.items() if k != "preview"} if isinstance(c, dict) else c
            for c in changes
        ]
    return rest


_BASE_KEYS = frozenset(base_to_dict(BaseInfo("", "")))
_COMMIT = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


def _set_attribution_aside(data: Any) -> tuple[Any, BaseInfo | None]:
    """A plan made with a base, without its attribution (made again when the plan is derived
    afresh, never taken from a file) and with its base read strictly."""
    if not isinstance(data, dict) or "base" not in data:
        return data, None
    rest = {k: v for k, v in data.items() if k not in ("base", "attribution")}
    changes = rest.get("changes")
    if isinstance(changes, list):
        rest["changes"] = [
            {k: v for k, v in c.items() if k != "reverts_live_edit"} if isinstance(c, dict) else c
            for c in changes
        ]
    base = Fields(data["base"], "base", _BASE_KEYS)
    sha = base.text("sha")
    if not _COMMIT.fullmatch(sha):
        raise Malformed("base.sha must be a full git commit id (40 or 64 hex digits)")
    rev = base.text("rev")
    if not rev or rev.startswith("-") or not rev.isprintable():
        raise Malformed("base.rev must be a printable git revision not starting with '-'")
    return rest, BaseInfo(rev, sha, base.flag("directory_existed"))


def saved_filters(plan: Plan) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The --only and --exclude globs a saved plan was made with (its `filters`)."""
    only = tuple(f.partition(" ")[2] for f in plan.filters if f.startswith("only "))
    exclude = tuple(f.partition(" ")[2] for f in plan.filters if f.startswith("exclude "))
    return only, exclude


def _read_capped(path: Path) -> str:
    """The text of `path`, refused without parsing when it is over MAX_PLAN_BYTES."""
    cap = f"{MAX_PLAN_BYTES // 2**20} MiB"
    try:
        with path.open("rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size > MAX_PLAN_BYTES:
                raise InputError(
                    f"{path}: the saved plan is {size:,} bytes, over the {cap} cap "
                    f"({MAX_PLAN_BYTES:,} bytes): refusing to read it; {_AGAIN}"
                )
            raw = handle.read(MAX_PLAN_BYTES + 1)  # bounded: a pipe or device has no size
    except OSError as exc:
        raise InputError(f"{path}: cannot read the saved plan: {exc.strerror}") from None
    if len(raw) > MAX_PLAN_BYTES:
        raise InputError(
            f"{path}: the saved plan is over the {cap} cap: refusing to read it; {_AGAIN}"
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{path}: the saved plan is not UTF-8 (byte {exc.start}); {_AGAIN}"
        ) from None


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise Malformed(f"the key {key!r} appears twice in one object")
        out[key] = value
    return out


def _refuse_constant(name: str) -> Any:
    raise Malformed(f"{name} is not a JSON number")


def read_plan_file(path: Path) -> Plan:
    """Read a saved plan: at most MAX_PLAN_BYTES, strict JSON, every field's type checked.

    Raises:
        InputError: unreadable, too large, not JSON, or not a plan of this format; the message
            names the file and the field.
    """
    text = _read_capped(path)
    values = text.count(",") + text.count("{") + text.count("[")
    if values > MAX_PLAN_VALUES:
        raise InputError(
            f"{path}: the saved plan holds about {values:,} JSON values, over the cap of "
            f"{MAX_PLAN_VALUES:,}: refusing to parse it; {_AGAIN}"
        )
    try:
        data = json.loads(
            text, object_pairs_hook=_refuse_duplicates, parse_constant=_refuse_constant
        )
    except Malformed as exc:
        raise InputError(f"{path}: the saved plan is not valid: {exc}; {_AGAIN}") from None
    except RecursionError:
        raise InputError(f"{path}: the saved plan is nested too deeply; {_AGAIN}") from None
    except ValueError as exc:
        raise InputError(f"{path}: the saved plan is not valid JSON: {exc}; {_AGAIN}") from None
    return plan_from_dict(data, source=str(path))


def write_plan_file(path: Path, plan: Plan, *, secrets: SecretSet) -> None:
    """Save `plan` as JSON, every secret masked, atomically (a reader never sees half a file).

    The mask is applied here, where the file is written, so no caller can forget it: a live
    value that happens to equal a secret would otherwise be saved in clear in `before`.
    """
    text = secrets.mask(render_plan_json(plan))
    write_text_atomic(path, text, parents=True)
