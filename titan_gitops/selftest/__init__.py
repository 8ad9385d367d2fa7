"""`titan-gitops selftest`: this tool's expectations of the Task Service, checked against a target.

Each expectation is one small check (checks_auth, checks_tasks, checks_runs, checks_previews)
with a one-line statement and where it comes from: a docs page, or the emulator's choice where
the docs are silent (every choice listed in `titan_gitops.emulator`'s docstring is checked by
exactly one expectation, named by its `choice`). They run in this order, against a throwaway
namespace that the sweeper (runner.py) empties afterwards, whatever happens:

auth-no-token, auth-bad-token, auth-x-api-key, scopes, rate-limit-headers, create, get, list-paging,
list-clamp, patch-merge, rename, unknown-field, error-envelope, run, poll, results, export-json,
export-csv, media-list, templates-list, templates-get, preview-task, preview-quota-shape, delete.
"""

from __future__ import annotations

from titan_gitops.selftest import checks_auth, checks_previews, checks_runs, checks_tasks
from titan_gitops.selftest.expectations import Expectation, SelftestContext
from titan_gitops.selftest.runner import SelftestReport, run_selftest

EXPECTATIONS: tuple[Expectation, ...] = (
    checks_auth.check_no_token,
    checks_auth.check_bad_token,
    checks_auth.check_x_api_key,
    checks_auth.check_scopes,
    checks_auth.check_rate_limit_headers,
    checks_tasks.check_create,
    checks_tasks.check_get,
    checks_tasks.check_list_paging,
    checks_tasks.check_list_clamp,
    checks_tasks.check_patch_merge,
    checks_tasks.check_rename,
    checks_auth.check_unknown_field,
    checks_auth.check_error_envelope,
    checks_runs.check_run,
    checks_runs.check_poll,
    checks_runs.check_results,
    checks_runs.check_export_json,
    checks_runs.check_export_csv,
    checks_runs.check_media_list,
    checks_runs.check_templates_list,
    checks_runs.check_templates_get,
    checks_previews.check_preview_task,
    checks_previews.check_preview_quota_shape,
    checks_tasks.check_delete,
)

__all__ = ["EXPECTATIONS", "Expectation", "SelftestContext", "SelftestReport", "run_selftest"]
