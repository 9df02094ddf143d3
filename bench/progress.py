"""One progress line per step on stderr: `bench: [elapsed] step`, elapsed since the run began."""

from __future__ import annotations

import sys
import time

_STARTED = time.monotonic()


def elapsed() -> float:
    return time.monotonic() - _STARTED


def log(message: str) -> None:
    print(f"bench: [{elapsed():7.1f}s] {message}", file=sys.stderr, flush=True)
