"""Property: random edits made in Titan over random valid definition files → adopt → the files
validate, the adopted fields equal Titan's, and every line outside the edited keys is kept."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from titan_gitops.adopt import AdoptOptions, check_adopted, plan_adoption
from titan_gitops.diff import diff_states, normalise_task
from titan_gitops.model import BaseInfo, LiveState, LiveTask
from titan_gitops.pipeline import validate_directory, validate_with
from titan_gitops.secrets import SecretSet
from titan_gitops.threeway import attribute

WORDS = st.sampled_from(
    ["price", "stock", "yes", "no", "on", "010", "1:30", "#tag", "a: b", "null", "ü", "~", "'q'"]
)
TEXT = st.lists(WORDS, min_size=1, max_size=6).map(" ".join)
URL = st.integers(0, 99).map(lambda n: f"https://shop.example/p/{n}")
COMMENT = st.sampled_from(["", "  # note", "  # keep: this"])


@st.composite
def task_text(draw: st.DrawFn, name: str) -> str:
    """One task document, in a randomly chosen but valid style."""
    urls = draw(st.lists(URL, min_size=1, max_size=3, unique=True))
    lines = [f"# {name}", "kind: task", f"name: {name}{draw(COMMENT)}"]
    if draw(st.booleans()):
        lines.append("urls: [" + ", ".join(urls) + "]")
    else:
        lines.append(f"urls:{draw(COMMENT)}")
        lines.extend(f"  - {u}" for u in urls)
    objective = draw(TEXT)
    quoted = objective.replace("'", "''")
    lines.append(f"objective: '{quoted}'{draw(COMMENT)}")
    if draw(st.booleans()):
        lines.append("")
    lines += ["execution_type: single", "output_schema:", "  type: object"]
    return "\n".join(lines) + "\n"


@st.composite
def scenario(draw: st.DrawFn) -> tuple[dict[str, str], dict[str, dict[str, Any]]]:
    """Files (path → text), and the edits made in Titan (task → fields)."""
    count = draw(st.integers(1, 4))
    names = [f"shop-t{n}" for n in range(count)]
    files: dict[str, str] = {"titan-gitops.yaml": "namespace: shop-\n"}
    split = draw(st.integers(1, count))
    first = "---\n".join(draw(task_text(n)) for n in names[:split])
    files["tasks/one.yaml"] = first
    if names[split:]:
        files["tasks/two.yaml"] = "---\n".join(draw(task_text(n)) for n in names[split:])
    edits: dict[str, dict[str, Any]] = {}
    for name in draw(st.lists(st.sampled_from(names), unique=True, max_size=count)):
        fields = draw(
            st.sets(st.sampled_from(["objective", "urls", "proxy_locations"]), min_size=1)
        )
        change: dict[str, Any] = {}
        if "objective" in fields:
            change["objective"] = draw(TEXT) + draw(st.sampled_from(["", "\nsecond line"]))
        if "urls" in fields:
            change["urls"] = draw(st.lists(URL, min_size=1, max_size=4, unique=True))
        if "proxy_locations" in fields:
            change["proxy_locations"] = draw(
                st.lists(st.sampled_from(["us", "de"]), min_size=1, unique=True)
            )
        edits[name] = change
    return files, edits


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario())
def test_adopting_random_edits_keeps_every_other_line_and_matches_titan(
    case: tuple[dict[str, str], dict[str, dict[str, Any]]],
) -> None:
    files, edits = case
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder, "defs")
        for path, text in files.items():
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).write_text(text, encoding="utf-8")
        base = validate_directory(root, environ={})
        live = [
            LiveTask(f"id-{t.name}", t.name, None, {**t.body, **edits.get(t.name, {})})
            for t in base.tasks
        ]
        diffs = diff_states(base, LiveState(tuple(live)))
        threeway = attribute(BaseInfo("HEAD", "a" * 40), base, diffs, in_scope=lambda _n: True)
        report = plan_adoption(
            root, threeway, base, live, AdoptOptions(), secrets=SecretSet(), variables={}
        )
        # Every task edited in Titan is adopted, and nothing is left out.
        changed = {t.name for t in threeway.tasks}
        assert {a.name for a in report.adopted} == changed
        assert report.not_adopted == ()
        check_adopted(report, lambda texts: validate_with(root, texts, environ={}), live)
        after = validate_with(root, {e.path: e.after for e in report.edits}, environ={})
        by_name = {t.name: t for t in after.tasks}
        for task in live:
            assert normalise_task(by_name[task.name].body) == normalise_task(task.body)
        for edit in report.edits:
            # No comment, kind, name, separator or untouched key line is lost, and they stay in
            # their order (a subsequence check: difflib may pair equal lines across tasks).
            kept = iter(edit.after.splitlines())
            for line in edit.before.splitlines():
                if line.startswith(("#", "kind:", "name:", "---", "execution_type")):
                    assert any(line == other for other in kept), line
