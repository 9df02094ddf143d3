"""The benchmark's progress lines (harness.progress): `bench: <step> (<seconds since the run began>s)`."""

from __future__ import annotations

from harness.progress import Progress

_PROGRESS = Progress("bench")


def elapsed() -> float:
    return _PROGRESS.elapsed()


def log(message: str) -> None:
    _PROGRESS.step(message)
