"""How to plan: the filters and allowances a plan is made with, and how to name them. Pure."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass


@dataclass(frozen=True)
class PlanOptions:
    """How to plan: filters and the explicit allowances that lift the deletion guards."""

    only: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    allow_deletes: int | None = None
    allow_empty: bool = False
    # The git revision of the last applied definitions (`--base REV`): the plan then says who
    # changed what since (three-way). None: a two-way plan.
    base: str | None = None
    # Let apply throw away edits made in Titan since the base (`--overwrite-live-edits`).
    overwrite_live_edits: bool = False
    # Whose words a refusal uses to lift a guard: the CLI's flags, or the Action's inputs.
    action_inputs: bool = False

    def ask(self, name: str, value: str = "", *, verb: bool = False) -> str:
        """How to set option `name` (a flag or input name without dashes) to `value`: on the CLI
        `--allow-deletes 3` (with `verb`, `pass --allow-deletes 3`), in the Action
        `input allow-deletes: 3` (with `verb`, `set the input allow-deletes: 3`)."""
        if self.action_inputs:
            return f"{'set the ' * verb}input {name}: {value or 'true'}"
        return f"{'pass ' * verb}--{name}" + (f" {value}" if value else "")

    @property
    def filtered(self) -> bool:
        """True when the plan covers only some task names."""
        return bool(self.only or self.exclude)

    def selects(self, name: str) -> bool:
        """True when `name` passes the --only / --exclude globs."""
        if self.only and not any(fnmatch.fnmatchcase(name, g) for g in self.only):
            return False
        return not any(fnmatch.fnmatchcase(name, g) for g in self.exclude)
