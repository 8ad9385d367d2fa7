"""From the engine's answers to values: envelopes, records, pages, whole listings, downloads.

Listing rules live in listing.py; a listing that moved while it was read is read once more from the
start, then refused, because a partial inventory would turn into duplicate creates.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any, TypeVar

from pydantic import ValidationError

from titan_gitops._http import HttpResponse
from titan_gitops.client.engine import RequestEngine
from titan_gitops.client.limits import ReadLimitExceeded
from titan_gitops.client.listing import Listing, ListingBounds, read_listing
from titan_gitops.client.records import Page, WireRecord
from titan_gitops.client.wire import parse_json, read_error, typed_error, unwrap_envelope
from titan_gitops.errors import ApiError, ConfigError

MAX_PAGE_SIZE = 100
_LIST_ATTEMPTS = 2
# Raw result routes may answer a JSON error envelope with a 2xx; bodies this small are checked.
_ENVELOPE_SNIFF_LIMIT = 1 << 20

RecordT = TypeVar("RecordT", bound=WireRecord)


class ApiCalls:
    """Typed calls over one RequestEngine: unwrap, validate, page and download."""

    def __init__(self, engine: RequestEngine) -> None:
        self._engine = engine

    def call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        extra_secrets: tuple[str, ...] = (),
    ) -> Any:
        """Send one request and return the `data` of its envelope."""
        response = self._engine.send(
            method, path, params=params, json_body=json_body, extra_secrets=extra_secrets
        )
        data, _ = self.unwrap(response, method, path, extra_secrets=extra_secrets)
        return data

    def fetch_record(
        self,
        model: type[RecordT],
        method: str,
        path: str,
        *,
        json_body: Any = None,
        extra_secrets: tuple[str, ...] = (),
    ) -> RecordT:
        """Send, unwrap and validate one record."""
        data = self.call(method, path, json_body=json_body, extra_secrets=extra_secrets)
        return self.validate_record(data, model, method, path)

    def unwrap(
        self,
        response: HttpResponse,
        method: str,
        path: str,
        *,
        require_data: bool = True,
        extra_secrets: tuple[str, ...] = (),
    ) -> tuple[Any, dict[str, Any]]:
        """The `data` and the whole envelope of a 2xx answer."""
        return unwrap_envelope(
            response.content,
            status=response.status,
            method=method,
            path=path,
            secrets=self._engine.secrets.with_values(extra_secrets),
            require_data=require_data,
        )

    def validate_record(self, data: Any, model: type[RecordT], method: str, path: str) -> RecordT:
        """`data` as a record of `model`, or an ApiError that never quotes the values."""
        if not isinstance(data, dict):
            raise ApiError(
                f"expected one object in data, got {type(data).__name__}", method=method, path=path
            )
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            # Never quote the input: a task body may hold sensitive values.
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "record"
            raise ApiError(
                f"the service returned a malformed record: {where}: {first['msg']}",
                method=method,
                path=path,
            ) from None

    def require_object(self, data: Any, method: str, path: str) -> dict[str, Any]:
        """`data`, which must be a JSON object."""
        if not isinstance(data, dict):
            raise ApiError(
                f"expected one object in data, got {type(data).__name__}", method=method, path=path
            )
        return data

    def get_page(
        self,
        path: str,
        model: type[RecordT],
        limit: int,
        offset: int,
        params: Mapping[str, str] | None = None,
    ) -> Page[RecordT]:
        """One page of a list route; `limit` is clamped to 1..100."""
        limit = max(1, min(MAX_PAGE_SIZE, int(limit)))
        offset = max(0, int(offset))
        query = {**(params or {}), "limit": str(limit), "offset": str(offset)}
        response = self._engine.send("GET", path, params=query)
        data, envelope = self.unwrap(response, "GET", path)
        if not isinstance(data, list):
            raise ApiError(
                f"expected a list in data, got {type(data).__name__}", method="GET", path=path
            )
        most = self._engine.limits.listing_items
        if len(data) > most:
            # Checked before each item is validated: that would cost far more than the parse.
            raise ReadLimitExceeded(
                f"one page of {self._engine.describe(path)} held {len(data):,} items, more than "
                f"the {most:,} a whole listing may; refusing it",
                bound="listing",
                method="GET",
                path=path,
            )
        items = tuple(self.validate_record(item, model, "GET", path) for item in data)
        meta = envelope.get("meta")
        total = None
        if isinstance(meta, dict):
            total = _int_or_none(meta.get("total"))
            limit = _int_or_none(meta.get("limit")) or limit
            offset = _int_or_none(meta.get("offset")) or offset
        return Page(items=items, total=total, limit=limit, offset=offset)

    def list_all(
        self,
        path: str,
        model: type[RecordT],
        *,
        page_size: int = MAX_PAGE_SIZE,
        params: Mapping[str, str] | None = None,
    ) -> list[RecordT]:
        """Every item of a list route, read page by page; a listing that moved is read once more."""
        problem = ""
        for _ in range(_LIST_ATTEMPTS):
            listing = self.read_listing(path, model, page_size=page_size, params=params)
            if listing.problem is None:
                return list(listing.records)
            problem = listing.problem.kind
        raise ApiError(
            f"the listing {problem} while it was read, twice; try again", method="GET", path=path
        )

    def read_listing(
        self,
        path: str,
        model: type[RecordT],
        *,
        page_size: int = MAX_PAGE_SIZE,
        params: Mapping[str, str] | None = None,
        parallelism: int = 1,
    ) -> Listing[RecordT]:
        """One read of a whole list route, with any sign that it moved (see listing.py)."""
        limits = self._engine.limits
        bounds = ListingBounds(
            limits.listing_pages, limits.listing_items, path, self._engine.describe(path)
        )
        return read_listing(
            lambda limit, offset: self.get_page(path, model, limit, offset, params),
            page_size=page_size,
            parallelism=parallelism,
            bounds=bounds,
        )

    def download(
        self,
        path: str,
        dest: Path | None,
        *,
        params: Mapping[str, str] | None = None,
        url: str | None = None,
        with_auth: bool = True,
        sniff_envelope: bool = True,
        extra_secrets: tuple[str, ...] = (),
    ) -> bytes | Path:
        """A raw body as bytes, or streamed into `dest` through a temporary file."""
        if dest is None:
            response = self._engine.send(
                "GET",
                path,
                url=url,
                params=params,
                with_auth=with_auth,
                extra_secrets=extra_secrets,
            )
            if sniff_envelope:
                self._refuse_error_envelope(response.content, path)
            return response.content
        dest = Path(dest)
        if not dest.parent.is_dir():
            raise ConfigError(f"cannot write {dest}: its directory does not exist")
        part = _PartFile(dest.with_name(f".{dest.name}.{uuid.uuid4().hex[:8]}.part"))
        try:
            self._engine.send(
                "GET",
                path,
                url=url,
                params=params,
                with_auth=with_auth,
                sink_factory=part.open,
                extra_secrets=extra_secrets,
            )
            part.close()
            size = part.path.stat().st_size if part.path.exists() else 0
            if sniff_envelope and 0 < size <= _ENVELOPE_SNIFF_LIMIT:
                self._refuse_error_envelope(part.path.read_bytes(), path)
            if not part.path.exists():
                part.path.write_bytes(b"")
            os.replace(part.path, dest)
        finally:
            part.discard()
        return dest

    def _refuse_error_envelope(self, content: bytes, path: str) -> None:
        if not content.lstrip().startswith(b"{"):
            return
        try:
            payload = parse_json(content)
        except ValueError:
            return
        if isinstance(payload, dict) and payload.get("success") is False:
            code, message = read_error(content, self._engine.secrets)
            raise typed_error(200, code, message, method="GET", path=path)


class _PartFile:
    """A temporary file beside the destination, reopened empty for each attempt; removed unless
    it was renamed into place."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle: IO[bytes] | None = None

    def open(self) -> IO[bytes]:
        self.close()
        try:
            self._handle = self.path.open("wb")
        except OSError as exc:
            raise ConfigError(f"cannot write to {self.path.parent}: {exc.strerror}") from None
        return self._handle

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def discard(self) -> None:
        self.close()
        self.path.unlink(missing_ok=True)


def _int_or_none(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value
