"""The schema command: the JSON Schema of the definition file format, on stdout."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from titan_gitops import exit_codes

if TYPE_CHECKING:
    from titan_gitops.commands.common import Console


def print_schema(console: Console) -> int:
    """Print the JSON Schema of the definition file format (the command takes no options)."""
    from titan_gitops.spec import definition_json_schema

    console.write(json.dumps(definition_json_schema(), indent=2, sort_keys=True) + "\n")
    return exit_codes.OK
