"""Starting a restored copy through the image's entrypoint and timing its recovery until
it is promoted (recovery_target_action=promote)."""

from __future__ import annotations

from pathlib import Path

import psycopg

from bench.primary import BenchPrimary
from bench.stats import timed
from drill import environment, postgres
from drill.state import free_port
from harness import processes
from harness.processes import HarnessError

RECOVERY_TIMEOUT = 7200.0


def replay(primary: BenchPrimary, base: Path, env: dict[str, str]) -> float:
    """Seconds from starting the restored server to its promotion; it is stopped after."""
    postgres.write_conf(base, environment.restored_conf(primary.settings))
    port = free_port()
    dsn = f"postgresql://postgres:{primary.ready_state().superuser_password}@127.0.0.1:{port}/postgres"

    def promoted() -> bool:
        if not postgres.running(base):
            raise HarnessError(f"restored server in {base} stopped: {postgres.log_tail(base)}")
        try:
            with postgres.connect(dsn, timeout=2) as conn:
                row = conn.execute("SELECT pg_is_in_recovery()").fetchone()
                return row is not None and row[0] is False
        except psycopg.Error:
            return False

    def recover() -> None:
        postgres.start(base, port, env)
        processes.wait_for(promoted, RECOVERY_TIMEOUT, f"the restore in {base} to promote", interval=0.1)

    try:
        return timed(recover)
    finally:
        postgres.fast_shutdown(base)
