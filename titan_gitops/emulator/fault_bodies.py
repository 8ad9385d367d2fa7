"""Fault answers that look right but say something else: a success body with a field left out."""

from __future__ import annotations

import json
from typing import Any


def drop_field(body: bytes, field: str) -> bytes:
    """`body` without the top-level `field` of its `data` (each item's, for a list).

    Only a success envelope is changed: an error answer, or a body that is not JSON, is returned
    as it was, so the fault imitates a service that forgets a field, not one that breaks.
    """
    try:
        payload: Any = json.loads(body)
    except ValueError:
        return body
    if not isinstance(payload, dict) or payload.get("success") is not True:
        return body
    data = payload.get("data")
    items = data if isinstance(data, list) else [data]
    for item in items:
        if isinstance(item, dict):
            item.pop(field, None)
    return json.dumps(payload).encode("utf-8")
