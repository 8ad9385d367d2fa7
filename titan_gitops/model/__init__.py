"""The typed core every stage shares: desired state, live state, the plan, the apply report.

Pure data: nothing here does I/O or imports a stage. Renderers import only this package.
"""

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
