"""The typed core every stage shares: desired state, live state, the plan, the apply report.

Pure data: nothing here does I/O or imports a stage. Renderers import only this package.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from titan_gitops.lazy import lazy_names

# Each class is imported from its module when first asked for: `validate` needs only the desired
# state, not the plan, report or three-way modules (bench/bench_startup.py times the commands).
if TYPE_CHECKING:
    from titan_gitops.model.desired import DesiredState, DesiredTask, SourceDocument, SourceLocation
    from titan_gitops.model.diff import TaskDiff
    from titan_gitops.model.live import LiveState, LiveTask
    from titan_gitops.model.options import PlanOptions
    from titan_gitops.model.plan import Action, Change, FieldChange, Fingerprint, Note, Plan
    from titan_gitops.model.preview import PlanPreviews, TaskPreview
    from titan_gitops.model.report import ApplyReport, Outcome, Progress, Status
    from titan_gitops.model.threeway import (
        BaseInfo,
        CommitInfo,
        FieldAttribution,
        TaskAttribution,
        ThreeWay,
    )

_MODULES = {
    "desired": ("DesiredState", "DesiredTask", "SourceDocument", "SourceLocation"),
    "diff": ("TaskDiff",),
    "live": ("LiveState", "LiveTask"),
    "options": ("PlanOptions",),
    "plan": ("Action", "Change", "FieldChange", "Fingerprint", "Note", "Plan"),
    "preview": ("PlanPreviews", "TaskPreview"),
    "report": ("ApplyReport", "Outcome", "Progress", "Status"),
    "threeway": ("BaseInfo", "CommitInfo", "FieldAttribution", "TaskAttribution", "ThreeWay"),
}
__getattr__ = lazy_names(__name__, _MODULES)

__all__ = [
    "Action",
    "ApplyReport",
    "BaseInfo",
    "Change",
    "CommitInfo",
    "DesiredState",
    "DesiredTask",
    "FieldAttribution",
    "FieldChange",
    "Fingerprint",
    "LiveState",
    "LiveTask",
    "Note",
    "Outcome",
    "Plan",
    "PlanOptions",
    "PlanPreviews",
    "Progress",
    "SourceDocument",
    "SourceLocation",
    "Status",
    "TaskAttribution",
    "TaskDiff",
    "TaskPreview",
    "ThreeWay",
]
