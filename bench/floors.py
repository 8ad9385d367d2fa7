"""The independent floors of the plan and validate benches, as scripts run as whole processes.

Floor A loads every definition file with a bare ruamel C loader (`YAML(typ="safe", pure=False)`);
floor B with PyYAML's `yaml.CSafeLoader` (libyaml). With `--list`, each then lists every task of
the service (`TITAN_API_URL`, `TITAN_TOKEN`) with raw paged httpx GETs of 100, as a plan needs.

Floor R is what any re-plan must do, however much it keeps between runs: load the libraries the
plan uses (httpx, pydantic, jsonschema, PyYAML's libyaml loader, as bench_startup.py's floor),
read and hash every definition file (its bytes decide what can be reused: a checkout's times
cannot), and list every task, the pages after the first 4 at a time as the plan reads them.
"""

from __future__ import annotations

from pathlib import Path

import wholeproc

FLOOR = """\
import os, sys
from pathlib import Path

def load_ruamel(paths):
    from ruamel.yaml import YAML
    yaml = YAML(typ="safe", pure=False)
    assert yaml.Parser.__name__ == "CParser"
    return [doc for path in paths for doc in yaml.load_all(path.read_text(encoding="utf-8"))]

def load_libyaml(paths):
    import yaml
    return [doc for path in paths
            for doc in yaml.load_all(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)]

def hash_only(paths):
    import hashlib
    import httpx, httpcore, sqlite3
    from pydantic import BaseModel
    from jsonschema import Draft202012Validator
    from yaml import CSafeLoader
    return [hashlib.sha256(path.read_bytes()).hexdigest() for path in paths]

def list_tasks(workers):
    import httpx
    headers = {"Authorization": "Bearer " + os.environ["TITAN_TOKEN"]}
    with httpx.Client(base_url=os.environ["TITAN_API_URL"], headers=headers, timeout=60) as http:
        def page(offset):
            return http.get("/api/v1/tasks", params={"limit": 100, "offset": offset}).json()
        first = page(0)
        offsets = range(100, first["meta"]["total"], 100)
        if workers == 1:
            rest = [page(offset) for offset in offsets]
        else:
            from concurrent.futures import ThreadPoolExecutor
            with ThreadPoolExecutor(max_workers=workers) as pool:
                rest = list(pool.map(page, offsets))
    return [task for p in [first, *rest] for task in p["data"]]

LOADERS = {"ruamel": load_ruamel, "libyaml": load_libyaml, "hash": hash_only}
loader, root = sys.argv[1], Path(sys.argv[2])
paths = sorted(root.rglob("*.yaml"))
documents = LOADERS[loader](paths)
live = list_tasks(4 if loader == "hash" else 1) if "--list" in sys.argv else []
print(len(documents), "documents,", len(live), "live tasks")
"""


def replan_floor_command(folder: Path, root: Path) -> list[str]:
    """Floor R over `root` (the service named by the environment)."""
    return [*wholeproc.write_script(folder, "floor.py", FLOOR), "hash", str(root), "--list"]


def floor_commands(folder: Path, root: Path, listing: bool) -> dict[str, list[str]]:
    """Floor A (ruamel C loader) and floor B (libyaml) over `root`, with the listing or not."""
    script = wholeproc.write_script(folder, "floor.py", FLOOR)
    extra = ["--list"] if listing else []
    return {
        "A": [*script, "ruamel", str(root), *extra],
        "B": [*script, "libyaml", str(root), *extra],
    }
