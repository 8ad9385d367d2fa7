"""The schema command: the JSON Schema of the definition file format, on stdout."""

from __future__ import annotations

import json
import sys

from titan_gitops import exit_codes


def print_schema() -> int:
    """Print the JSON Schema of the definition file format (the command takes no options)."""
    from titan_gitops.spec import definition_json_schema

    sys.stdout.write(json.dumps(definition_json_schema(), indent=2, sort_keys=True) + "\n")
    return exit_codes.OK
