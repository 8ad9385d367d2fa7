"""One media file of an execution, downloaded and checked against what its listing promised.

Choices where the API docs are silent:
- `checksum` is `sha256:<hex>`; a bare 64-digit hex value is read as SHA-256 too. Any other form
  is refused before downloading: a file that cannot be verified is not saved.
- The body streams into an exclusive temporary file beside the target (atomic.PendingFile),
  hashed as it arrives, and is cut off past the listed size (or MIN_ERROR_ROOM, so an error
  answer is still read whole). Only a body of exactly the listed size and checksum is renamed
  into place; on any failure no file, whole or partial, is left.
- The API token goes only to the API's own origin; a link elsewhere is fetched with its own
  query token alone. Redirects are never followed (engine.py), so nothing travels further.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import IO, cast
from urllib.parse import parse_qsl, urlsplit

from titan_gitops.atomic import PendingFile
from titan_gitops.client.engine import RequestEngine
from titan_gitops.client.limits import ReadLimitExceeded, describe_bytes
from titan_gitops.client.records import MediaRecord
from titan_gitops.errors import ApiError

# Room for an error answer when the listed size is tiny (a 0-byte file's 403 must still be read).
MIN_ERROR_ROOM = 64 * 2**10
_SHA256 = re.compile(r"^(?:sha256:)?([0-9a-fA-F]{64})$")


class MediaMismatch(ApiError):
    """A media file that does not match its listing (size or checksum), or a listing entry that
    cannot be verified or fetched safely; nothing was written."""


class _HashingSink:
    """Passes the streamed body to the current temporary file, counting and hashing it."""

    def __init__(self) -> None:
        self._handle: IO[bytes] | None = None
        self.count = 0
        self._hash = hashlib.sha256()

    def restart(self, handle: IO[bytes]) -> IO[bytes]:
        """Begin again on an empty file (each attempt of a retried download)."""
        self._handle = handle
        self.count = 0
        self._hash = hashlib.sha256()
        return cast("IO[bytes]", self)

    def write(self, data: bytes) -> int:
        assert self._handle is not None
        self._handle.write(data)
        self.count += len(data)
        self._hash.update(data)
        return len(data)

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


def read_checksum(item: MediaRecord) -> str:
    """The lower-case SHA-256 hex digest the listing gives for `item`.

    Raises:
        MediaMismatch: the checksum is in no form this client can verify.
    """
    found = _SHA256.match(item.checksum.strip())
    if found is None:
        raise MediaMismatch(
            f"media {item.id}: the listing's checksum is not sha256:<64 hex digits>; "
            "a file that cannot be verified is not downloaded"
        )
    return found.group(1).lower()


def fetch_media_item(engine: RequestEngine, origin: str, item: MediaRecord, dest: Path) -> Path:
    """Stream `item` to `dest`, verified against its listed size and checksum; returns `dest`.

    Raises:
        MediaMismatch: the listing cannot be verified, or the body does not match it.
        ApiError: the service refused the download (an expired link is a 403 AuthError).
        ConfigError: `dest` cannot be written.
    """
    path, same_origin = _check_link(item, origin)
    expected = read_checksum(item)
    where = engine.describe(path, item.download_url)
    if item.size > engine.limits.download_bytes:
        raise MediaMismatch(
            f"media {item.id} is listed at {describe_bytes(item.size)}, more than the "
            f"{describe_bytes(engine.limits.download_bytes)} one download may be; not downloaded",
            method="GET",
            path=where,
        )
    sink = _HashingSink()
    secrets = tuple(value for _, value in parse_qsl(urlsplit(item.download_url).query))
    with PendingFile(dest) as pending:
        try:
            engine.send(
                "GET",
                path,
                url=item.download_url,
                with_auth=same_origin,
                sink_factory=lambda: sink.restart(pending.start()),
                extra_secrets=secrets,
                max_bytes=max(item.size, MIN_ERROR_ROOM),
            )
        except ReadLimitExceeded as exc:
            if exc.bound not in ("body", "decoded") or not 200 <= (exc.status or 0) < 300:
                raise
            sent = f"more than {describe_bytes(max(item.size, MIN_ERROR_ROOM))}"
            raise _mismatch(item, where, dest, f"the body was {sent}") from None
        if sink.count != item.size:
            raise _mismatch(item, where, dest, f"the body was {describe_bytes(sink.count)}")
        if sink.hexdigest() != expected:
            raise MediaMismatch(
                f"media {item.id}: the body's sha256 is {sink.hexdigest()}, but the listing gave "
                f"{expected}; nothing was written to {dest}",
                method="GET",
                path=where,
            )
        pending.commit()
    return dest


def _mismatch(item: MediaRecord, where: str, dest: Path, what: str) -> MediaMismatch:
    return MediaMismatch(
        f"media {item.id}: {what}, but the listing gave {describe_bytes(item.size)}; "
        f"nothing was written to {dest}",
        method="GET",
        path=where,
    )


def _check_link(item: MediaRecord, origin: str) -> tuple[str, bool]:
    """The path of the item's link, and whether it is on the API's own origin.

    Raises:
        MediaMismatch: the link is not an http(s) URL or an absolute path on the API.
    """
    try:
        parts = urlsplit(item.download_url)
        same = _origin_of(item.download_url) == _origin_of(origin) if parts.netloc else True
    except ValueError:
        parts, same = None, False
    if (
        parts is None
        or parts.scheme not in ("", "http", "https")
        or bool(parts.scheme) != bool(parts.netloc)
        or not parts.path.startswith("/")
    ):
        raise MediaMismatch(
            f"media {item.id}: the listing's download_url is not an http(s) URL or a path on "
            "the API; not downloaded"
        )
    return parts.path, same


def _origin_of(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), parts.port or default
