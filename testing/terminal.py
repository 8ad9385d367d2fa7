"""A pseudo-terminal for tests: what a program writes to a real terminal, drained by a thread."""

from __future__ import annotations

import os
import threading
from typing import TextIO


class Terminal:
    """A pseudo-terminal: hand `follower` (or `writer()`) to the program, then `received()`."""

    def __init__(self) -> None:
        self.leader, self.follower = os.openpty()
        self._follower_open = True
        self._chunks: list[bytes] = []
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    def _drain(self) -> None:
        while True:
            try:
                chunk = os.read(self.leader, 65536)
            except OSError:  # the follower side is closed
                return
            if not chunk:
                return
            self._chunks.append(chunk)

    def writer(self) -> TextIO:
        """The follower side as a text file; closing it closes the follower."""
        self._follower_open = False
        return os.fdopen(self.follower, "w")

    def received(self) -> str:
        """Everything the terminal received: the follower is closed and the drain awaited."""
        if self._follower_open:
            os.close(self.follower)
            self._follower_open = False
        self._reader.join(10)
        os.close(self.leader)
        return b"".join(self._chunks).decode("utf-8", "replace")
