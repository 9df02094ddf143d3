"""A command stopped by SIGTERM (a CI timeout, `kill`) stops what it started: the S3
server, its gateway and PostgreSQL do not outlive `python -m drill run` or
`python -m bench`."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from bench.seaweedfs import build_weed
from harness.processes import HarnessError, started_by, wait_for
from harness.toolchain import toolchain

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
STARTED_TIMEOUT = 240.0
"""For starting the servers; what the command builds first (WAL-G, SeaweedFS, cold in a
fresh CI run: minutes) is built before it starts, so this does not depend on build time."""
STOP_TIMEOUT = 60.0


COMMANDS = {
    "drill run": (["-m", "drill", "run", "--dir", "{tmp}/drill"], "drill: backup "),
    "bench": (
        [
            "-m",
            "bench",
            "--scales",
            "1",
            "--runs",
            "1",
            "--storage-mb",
            "512",
            "--work",
            "{tmp}/work",
            "--out",
            "{tmp}",
        ],
        "bench: ",
    ),
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_sigterm_stops_everything_the_command_started(command: str, tmp_path: Path) -> None:
    arguments, started_line = COMMANDS[command]
    toolchain()
    if command == "bench":
        build_weed()
    argv = [sys.executable, *(argument.format(tmp=tmp_path) for argument in arguments)]
    process = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []

    def read() -> None:
        assert process.stderr is not None
        lines.extend(process.stderr)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        wait_for(
            lambda: sum(started_line in line for line in lines) >= 2 and bool(started_by(process.pid)),
            STARTED_TIMEOUT,
            f"{command} to start its servers",
        )
        os.kill(process.pid, signal.SIGTERM)
        status = process.wait(timeout=STOP_TIMEOUT)
        reader.join(timeout=10)
        assert status == 128 + signal.SIGTERM, "".join(lines[-5:])
        with contextlib.suppress(HarnessError):
            wait_for(lambda: not started_by(process.pid), 10, "what it started to stop")
        assert not started_by(process.pid), f"{command} left these running after SIGTERM"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for leftover in started_by(process.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(leftover, signal.SIGKILL)
