"""The validated-definitions cache: a task file whose text and surroundings did not change since
the last run is not parsed or validated again.

What a task file validates to depends on its own text, the project file, the templates (which
`extends` merges in) and the code doing the validating, and on nothing else once the file holds
no `${...}` placeholder (the environment) and no `$file` reference (another file). So a run keeps,
per definitions directory, one pack: the *context* (a SHA-256 of the tool, the directory as named,
the project file's text and every template file's text) and, per task file, the SHA-256 of its
text and what validating it gave (`validate.FileResult`). The next run with the same context takes
each file whose text has the same digest from the pack; every other file is loaded and validated
as usual, with the project and the templates, and the cross-file checks (duplicate names, the
namespace, previous names) run over every task, reused or not.

Trust: the pack never holds a substituted value (a file, template or project file with `${` is
never reused, and a pack whose text would hold one of the run's substituted values is not
written), nor the token. It lives in a folder only its
owner can use; a folder or pack that is not the user's own, or is writable by others, is ignored,
and a pack that does not parse into exactly the expected shape counts as empty. `apply` never
reads it: it validates the definitions afresh, so a tampered pack can at most make a plan that
apply's re-derivation refuses. Writing is best effort: a cache that cannot be written costs the
next run its speed, never this run its result.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from titan_gitops.lazy import lazy_names

# Each name is imported from its module when first asked for: `validate` checks its verdict with
# the store alone, before anything that validates is imported (bench/bench_startup.py).
if TYPE_CHECKING:
    from titan_gitops.defcache.pack import Pack
    from titan_gitops.defcache.run import load_and_validate, validate_sources
    from titan_gitops.defcache.store import (
        FOLDER_VARIABLE,
        SWITCH_VARIABLE,
        DefinitionCache,
        cache_folder,
        open_cache,
        tool_fingerprint,
    )

_MODULES = {
    "pack": ("Pack",),
    "run": ("load_and_validate", "validate_sources"),
    "store": (
        "FOLDER_VARIABLE",
        "SWITCH_VARIABLE",
        "DefinitionCache",
        "cache_folder",
        "open_cache",
        "tool_fingerprint",
    ),
}
__getattr__ = lazy_names(__name__, _MODULES)

__all__ = [
    "FOLDER_VARIABLE",
    "SWITCH_VARIABLE",
    "DefinitionCache",
    "Pack",
    "cache_folder",
    "load_and_validate",
    "open_cache",
    "tool_fingerprint",
    "validate_sources",
]
