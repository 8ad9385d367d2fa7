"""The files of a validated-definitions cache folder, told apart: packs and verdicts."""

from __future__ import annotations

from pathlib import Path

from titan_gitops.defcache.store import VERDICT_SUFFIX


def packs_in(folder: Path) -> list[Path]:
    """The packs in a cache folder (none when it does not exist), sorted."""
    if not folder.exists():
        return []
    return sorted(p for p in folder.glob("*.json") if not p.name.endswith(VERDICT_SUFFIX))


def verdicts_in(folder: Path) -> list[Path]:
    """The verdicts in a cache folder (none when it does not exist), sorted."""
    if not folder.exists():
        return []
    return sorted(folder.glob(f"*{VERDICT_SUFFIX}"))
