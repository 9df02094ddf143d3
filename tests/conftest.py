"""Shared fixtures: the dev stack's config as the CLI would pass it, and the check that
the suite leaves no process running."""

import contextlib
import copy
import json
import os
import time
from collections.abc import Iterator
from typing import Any

import psutil
import pytest

from harness.processes import started_by
from tests.mocks.harness import stack_file_config


@pytest.fixture
def dev_config() -> dict[str, Any]:
    """Pulumi.dev.yaml's config, objects decoded so tests can change them."""
    decoded: dict[str, Any] = {}
    for key, value in stack_file_config().items():
        try:
            decoded[key] = json.loads(value)
        except ValueError:
            decoded[key] = value
    return copy.deepcopy(decoded)


def _leftovers(known: set[int]) -> dict[int, str]:
    """Live processes started by this test process (harness.processes marks them, and
    their children inherit the mark) that were not there when the session began."""
    return {pid: command.strip() for pid, command in started_by(os.getpid()).items() if pid not in known}


def processes_now() -> set[int]:
    return set(psutil.pids())


@pytest.fixture(scope="session", autouse=True)
def nothing_left_running() -> Iterator[None]:
    """After the whole suite, no process it started may still run: a test that leaves a
    server or a WAL-G call behind fails the run (and what it left is stopped)."""
    before = processes_now()
    yield
    deadline = time.monotonic() + 15
    leftovers = _leftovers(before)
    while leftovers and time.monotonic() < deadline:
        time.sleep(0.5)
        leftovers = _leftovers(before)
    for pid in leftovers:
        with contextlib.suppress(OSError):
            os.kill(pid, 9)
    assert not leftovers, "the tests left processes running: " + "; ".join(
        f"{pid}: {cmd}" for pid, cmd in sorted(leftovers.items())
    )
