"""Render a Plan as versioned JSON (the saved-plan format, documented in the README). Pure."""

from __future__ import annotations

import json

from titan_gitops.model import Plan
from titan_gitops.planfile import plan_to_dict
from titan_gitops.render.values import mask_text


def render_plan_json(plan: Plan) -> str:
    """The plan as indented, key-sorted JSON with a trailing newline; secrets never in clear."""
    text = json.dumps(plan_to_dict(plan), indent=2, sort_keys=True, ensure_ascii=False)
    return mask_text(text, plan.secrets) + "\n"
