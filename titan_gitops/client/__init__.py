"""TitanClient and the wire records it returns: the one place that speaks to the Task Service."""

from titan_gitops.client.client import ExecutionTimeout, TitanClient
from titan_gitops.client.limits import ReadLimitExceeded
from titan_gitops.client.listing import Listing, ListingProblem
from titan_gitops.client.media import MediaMismatch
from titan_gitops.client.records import (
    DatasetRecord,
    ExecutionRecord,
    MediaRecord,
    Page,
    TaskRecord,
    TemplateRecord,
    WireRecord,
)

__all__ = [
    "DatasetRecord",
    "ExecutionRecord",
    "ExecutionTimeout",
    "Listing",
    "ListingProblem",
    "MediaMismatch",
    "MediaRecord",
    "Page",
    "ReadLimitExceeded",
    "TaskRecord",
    "TemplateRecord",
    "TitanClient",
    "WireRecord",
]
