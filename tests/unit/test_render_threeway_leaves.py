"""A report made with a base shows each side's changes down to the leaf, as the plain plan does.

The audit's case, end to end: a real git repository, the emulator in process, the pipeline the
CLI runs. Apply, then edit the live `execution_plan` in Titan (a step's `max_results` → 30, a
step schema's `type` → number), then a drift report and a plan with the base; and the pending
case (the same change merged in git, not yet applied).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.scenarios.gitrepo import commit_definitions, git, new_repository
from tests.unit.test_markdown_rendered import assert_only_our_html, parse
from titan_gitops.apply import apply_plan
from titan_gitops.client import TitanClient
from titan_gitops.emulator import EmulatorConfig, create_app
from titan_gitops.pipeline import make_drift_report, make_plan
from titan_gitops.plan import PlanOptions
from titan_gitops.render.markdown import render_plan_markdown
from titan_gitops.render.text import render_plan_text

WIDTH = 120
TASK: dict[str, Any] = {
    "kind": "task",
    "name": "shop-review-digest",
    "urls": ["https://search.example/?q=espresso+machine+review"],
    "objective": "Find review pages for espresso machines and extract each verdict and score.",
    "execution_type": "single",
    "execution_plan": {
        "steps": [
            {"action_type": "search", "input_source": "static_urls", "limits": {"max_results": 20}},
            {"action_type": "crawl", "input_source": "previous_step", "payload": {"keep": "x"}},
            {
                "action_type": "scrape",
                "input_source": "previous_step",
                "output_schema": {
                    "type": "object",
                    "properties": {"verdict": {"type": "string"}, "score": {"type": "string"}},
                },
            },
        ]
    },
}
MAX_RESULTS = "execution_plan.steps[0].limits.max_results"
SCORE_TYPE = "execution_plan.steps[2].output_schema.properties.score.type"


def edited(task: dict[str, Any]) -> dict[str, Any]:
    """The task with the audit's two edits: max_results → 30, the score's type → number."""
    out = copy.deepcopy(task)
    steps = out["execution_plan"]["steps"]
    steps[0]["limits"]["max_results"] = 30
    steps[2]["output_schema"]["properties"]["score"]["type"] = "number"
    return out


def write_definitions(folder: Path, task: dict[str, Any]) -> Path:
    (folder / "tasks").mkdir(parents=True, exist_ok=True)
    (folder / "titan-gitops.yaml").write_text("namespace: shop-\n", encoding="utf-8")
    # JSON is YAML: the definition as the loader reads any other.
    (folder / "tasks" / "a.yaml").write_text(json.dumps(task, indent=2), "utf-8")
    return folder


@pytest.fixture
def client() -> Iterator[TitanClient]:
    app = create_app(EmulatorConfig(db_path=":memory:", tokens={"t": None}))
    with TitanClient("http://titan.test", "t", transport=httpx.WSGITransport(app=app)) as c:
        yield c


@pytest.fixture
def applied(tmp_path: Path, client: TitanClient, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository whose one commit is applied; the working directory is the repository."""
    repo = new_repository(tmp_path / "repo")
    commit_definitions(repo, write_definitions(tmp_path / "v1", TASK), "Apply", 1)
    monkeypatch.chdir(repo)
    assert apply_plan(make_plan(Path("definitions"), client, PlanOptions(), environ={}), client).ok
    return repo


def live_id(client: TitanClient) -> str:
    (found,) = [r.body()["id"] for r in client.list_tasks()]
    return str(found)


def reports(client: TitanClient, base: str) -> dict[str, str]:
    root = Path("definitions")
    drift = make_drift_report(root, client, environ={}, target="t", base=base)
    plan = make_plan(root, client, PlanOptions(base=base), environ={}, target="t")
    return {
        "drift.txt": render_plan_text(drift, drift=True),
        "drift.md": render_plan_markdown(drift, title="titan-gitops drift", drift=True),
        "plan.txt": render_plan_text(plan),
        "plan.md": render_plan_markdown(plan),
    }


def assert_leaf_lines(text: str, name: str, *, reverse: bool = False) -> None:
    """Both leaves changed, before → after (after → before for `reverse`: a plan undoing them),
    on one line in text, as a - and a + line in Markdown."""
    for path, old, new in ((MAX_RESULTS, "20", "30"), (SCORE_TYPE, '"string"', '"number"')):
        old, new = (new, old) if reverse else (old, new)
        assert f"{path}: {old} → {new}" in text or (
            f"- {path}: {old}" in text and f"+ {path}: {new}" in text
        ), (name, path)
    # Never the whole execution_plan on one cut-off JSON line.
    assert '{"steps": [{"action_type"' not in text, name
    assert "more characters)" not in text, name
    for line in shown_lines(text, name):
        assert len(line) <= WIDTH, (name, line)


def shown_lines(text: str, name: str) -> list[str]:
    """The lines laid out by us: every line of a text report; the lines inside the code blocks
    of a Markdown one (GitHub wraps its prose, never a code block)."""
    if not name.endswith(".md"):
        return text.splitlines()
    blocks = re.findall(r"^(`{3,})diff\n(.*?)^\1$", text, flags=re.M | re.S)
    assert blocks, name
    return [line for _fence, body in blocks for line in body.splitlines()]


def test_a_live_edit_deep_in_a_step_shows_its_leaves_in_text_and_markdown(
    applied: Path, client: TitanClient
) -> None:
    client.update_task(live_id(client), {"execution_plan": edited(TASK)["execution_plan"]})
    rendered = reports(client, "HEAD")
    for name, text in rendered.items():
        # The plan brings Titan back to git: it undoes the live edit.
        assert_leaf_lines(text, name, reverse=name.startswith("plan"))
    drift = rendered["drift.txt"]
    assert "Titan since the base" in drift
    assert "git since the base" not in drift
    # The live side holds the edits: its values are the "after" ones.
    assert drift.index("20 → 30") > drift.index("Titan since the base")
    assert_only_our_html(parse(rendered["drift.md"]), hrefs=())


def test_a_pending_change_deep_in_a_step_shows_its_leaves(
    applied: Path, client: TitanClient, tmp_path: Path
) -> None:
    base = git(applied, "rev-parse", "HEAD")
    commit_definitions(applied, write_definitions(tmp_path / "v2", edited(TASK)), "Merge", 2)
    rendered = reports(client, base)
    for name, text in rendered.items():
        assert_leaf_lines(text, name)
    drift = rendered["drift.txt"]
    assert "git since the base" in drift
    assert "Titan since the base" not in drift
    assert_only_our_html(parse(rendered["drift.md"]), hrefs=())


def test_a_conflict_shows_both_sides_each_down_to_its_own_leaves(
    applied: Path, client: TitanClient, tmp_path: Path
) -> None:
    base = git(applied, "rev-parse", "HEAD")
    client.update_task(live_id(client), {"execution_plan": edited(TASK)["execution_plan"]})
    ours = copy.deepcopy(TASK)
    ours["execution_plan"]["steps"][0]["limits"]["max_results"] = 50
    commit_definitions(applied, write_definitions(tmp_path / "v2", ours), "Merge", 2)
    text = reports(client, base)["drift.txt"]
    git_side, live_side = text.split("git since the base")[1].split("Titan since the base")
    assert f"{MAX_RESULTS}: 20 → 50" in git_side
    assert SCORE_TYPE not in git_side
    assert f"{MAX_RESULTS}: 20 → 30" in live_side
    assert f'{SCORE_TYPE}: "string" → "number"' in live_side
    for line in text.splitlines():
        assert len(line) <= WIDTH, line
