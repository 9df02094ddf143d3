"""Progress lines of the rig's commands, through stdlib logging: `<component>: <message>
(<seconds since the command began>s)` on stderr, one line per step. Each component logs
under `pgpitr.<component>`, so a caller (a test) can silence or capture it."""

from __future__ import annotations

import logging
import sys
import time

ROOT_LOGGER = "pgpitr"


class _StderrHandler(logging.Handler):
    """Writes each line to whatever sys.stderr is at the time (pytest swaps it), at once."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
            sys.stderr.flush()
        except Exception:
            self.handleError(record)


def _root() -> logging.Logger:
    logger = logging.getLogger(ROOT_LOGGER)
    if not logger.handlers:
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    return logger


class Progress:
    """One line per step, with the seconds since `started` (this object's making)."""

    def __init__(self, component: str, started: float | None = None, decimals: int = 1) -> None:
        self.component = component
        self.started = time.monotonic() if started is None else started
        self.decimals = decimals
        _root()
        self.logger = logging.getLogger(f"{ROOT_LOGGER}.{component}")

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def step(self, message: str) -> None:
        self.logger.info("%s: %s (%.*fs)", self.component, message, self.decimals, self.elapsed())
