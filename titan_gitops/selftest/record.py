"""`--record DIR`: each selftest exchange as one JSON file, secrets masked, written atomically.

A file is `NNN-<expectation>-<METHOD>.json` holding the method, path, query, the request's headers
and body, and the answer's status, headers and body (JSON when it is JSON, else text, cut at
`BODY_LIMIT` characters). Credential headers are replaced by `***` before anything else, then the
whole text goes through `SecretSet.mask`, so no form of a secret (JSON-escaped, URL-encoded,
base64) reaches the disk. Files are written as exchanges happen: a run stopped half-way keeps
what it saw.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from titan_gitops.atomic import make_directory, write_text_atomic
from titan_gitops.secrets import SecretSet
from titan_gitops.selftest.probe import Exchange

BODY_LIMIT = 64 * 1024
# Headers that authorise on their own: never written, whatever their value.
_CREDENTIAL_HEADERS = frozenset({"authorization", "x-api-key", "cookie", "set-cookie"})
_UNSAFE_NAME = re.compile(r"[^a-z0-9-]+")


class ExchangeRecorder:
    """Writes each exchange it is given into `folder` (made on the first one)."""

    def __init__(self, folder: Path, secrets: SecretSet) -> None:
        self.folder = folder
        self._secrets = secrets
        self._count = 0

    def add_secrets(self, values: list[str]) -> None:
        """Mask these values too from now on (a token made for this run)."""
        self._secrets = self._secrets.with_values(values)

    def __call__(self, exchange: Exchange) -> None:
        if self._count == 0:
            make_directory(self.folder)
        self._count += 1
        label = _UNSAFE_NAME.sub("-", exchange.expectation.lower()).strip("-") or "setup"
        name = f"{self._count:03d}-{label}-{exchange.method.upper()}.json"
        text = json.dumps(describe_exchange(exchange), indent=2, sort_keys=True, ensure_ascii=False)
        write_text_atomic(self.folder / name, self._secrets.mask(text) + "\n", durable=False)

    @property
    def count(self) -> int:
        """Files written so far."""
        return self._count


def describe_exchange(exchange: Exchange) -> dict[str, Any]:
    """The exchange as JSON-ready data, credential headers already replaced by `***`."""
    return {
        "expectation": exchange.expectation,
        "request": {
            "method": exchange.method,
            "path": exchange.path,
            "query": dict(exchange.params),
            "headers": _masked_headers(exchange.request_headers),
            "body": exchange.request_body,
        },
        "response": {
            "status": exchange.status,
            "headers": _masked_headers(exchange.headers),
            "body": _body_of(exchange),
        },
    }


def _masked_headers(headers: Any) -> dict[str, str]:
    return {
        str(name).lower(): ("***" if str(name).lower() in _CREDENTIAL_HEADERS else str(value))
        for name, value in headers.items()
    }


def _body_of(exchange: Exchange) -> Any:
    if not exchange.content:
        return None
    value = exchange.json()
    if value is not None and len(exchange.content) <= BODY_LIMIT:
        return value
    text = exchange.content.decode("utf-8", errors="replace")
    return text if len(text) <= BODY_LIMIT else text[:BODY_LIMIT] + "…"
