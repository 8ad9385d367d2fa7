"""Property: whatever sequence of edits a definitions directory goes through, a run with the
validated-definitions cache (kept from run to run) gives what a run without it gives, and the
pack it leaves holds the same lines as one written afresh for the files as they are now: a line
copied from the last pack is never one of a file edited, removed or made private since, such as
a file whose token moved behind a placeholder."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from titan_gitops.defcache import DefinitionCache, load_and_validate
from titan_gitops.errors import ValidationFailed

TOKEN = "tok-Q8v3Lr5Nz1"
ENVIRON = {"TITAN_VAR_KEY": TOKEN}
NAMES = ("a", "b", "c", "d")


def task(name: str, objective: str, extra: str = "") -> str:
    return (
        f"kind: task\nname: ns-{name}\nurls: [https://{name}.example/]\nobjective: {objective}\n"
        f"output_schema: {{type: object}}\nexecution_type: single\n{extra}"
    )


def start(root: Path) -> None:
    (root / "tasks").mkdir(parents=True)
    (root / "titan-gitops.yaml").write_text("namespace: ns-\n", encoding="utf-8")
    (root / "templates.yaml").write_text(
        "kind: template\nname: base\nobjective: Extract the title.\n", encoding="utf-8"
    )
    for name in NAMES[:3]:
        (root / "tasks" / f"{name}.yaml").write_text(task(name, "First."), encoding="utf-8")


Edit = Callable[[Path], None]


def write(name: str, text: str) -> Edit:
    def edit(root: Path) -> None:
        (root / "tasks" / f"{name}.yaml").write_text(text, encoding="utf-8")

    return edit


def remove(name: str) -> Edit:
    def edit(root: Path) -> None:
        (root / "tasks" / f"{name}.yaml").unlink(missing_ok=True)

    return edit


def template(objective: str) -> Edit:
    def edit(root: Path) -> None:
        text = f"kind: template\nname: base\nobjective: {objective}\n"
        (root / "templates.yaml").write_text(text, encoding="utf-8")

    return edit


def edits() -> st.SearchStrategy[Edit]:
    name = st.sampled_from(NAMES)
    objective = st.sampled_from(["First.", "Second.", "Third."])
    return st.one_of(
        st.builds(lambda n, o: write(n, task(n, o)), name, objective),
        # The token in the file, then behind a placeholder: the pack must let go of it.
        st.builds(lambda n: write(n, task(n, "Keyed.", f"payload: {{key: {TOKEN}}}\n")), name),
        st.builds(
            lambda n: write(n, task(n, "Keyed.", "payload: {key: '${TITAN_VAR_KEY}'}\n")), name
        ),
        st.builds(lambda n: write(n, task(n, "First.") + "# reviewed\n"), name),
        st.builds(lambda n: write(n, task(n, "First.", "extends: base\n")), name),
        st.builds(lambda n: write(n, task("a", "Twice.")), name),  # a duplicate name
        st.builds(lambda n: write(n, "kind: task\nname: [\n"), name),  # not YAML
        st.builds(remove, name),
        st.builds(template, st.sampled_from(["Extract the title.", "Extract the heading."])),
    )


def outcome(root: Path, cache: DefinitionCache | None) -> tuple[Any, ...]:
    try:
        _, state, _ = load_and_validate(root, environ=ENVIRON, cache=cache)
    except ValidationFailed as exc:
        return ("failed", tuple(exc.problems))
    return ("ok", state.tasks, state.warnings, sorted(state.secrets))


def pack_lines(cache: DefinitionCache, root: Path) -> tuple[str, list[str]] | None:
    path = cache.pack_path(root)
    if not path.exists():
        return None
    header, *files = path.read_text(encoding="ascii").splitlines()
    return header, sorted(files)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(edits(), min_size=1, max_size=8))
def test_the_cache_gives_what_a_run_without_it_gives_and_a_pack_of_the_files_as_they_are(
    steps: list[Edit],
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "defs"
        start(root)
        kept = DefinitionCache(Path(folder) / "kept")
        outcome(root, kept)
        for number, step in enumerate(steps):
            step(root)
            assert outcome(root, kept) == outcome(root, None)
            afresh = DefinitionCache(Path(folder) / f"afresh-{number}")
            outcome(root, afresh)
            fresh = pack_lines(afresh, root)
            if fresh is not None:
                assert pack_lines(kept, root) == fresh
                assert all(json.dumps(json.loads(line)) == line for line in fresh[1])
