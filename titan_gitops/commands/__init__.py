"""The CLI's commands, one module each: typed options in, an exit code out.

Each command imports its heavy machinery (pydantic, httpx, jsonschema, deepdiff) only when it runs.
"""
