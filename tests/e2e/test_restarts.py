"""Restarts lose nothing: a restart of the primary in the middle of a storage outage keeps
every segment that had not reached storage (the entrypoint's temporary server pauses
archiving instead of turning it off), the stop itself ends in bounded time although
storage hangs, and once storage is back the chain is whole and a restore to the end holds
every acknowledged commit."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from drill import postgres
from drill.deployment import DrillDeployment
from harness import processes
from pgpitr.container_env import STOP_GRACE_SECONDS
from tests.e2e.accounting import chain_intact, counts, latest_holds_every_acknowledged, wait_until_archived
from tests.support.workload import AckedWriter

pytestmark = pytest.mark.e2e
OUTAGE_SECONDS = 125
SWITCHES_DURING_OUTAGE = 3


def ready_segments(stack: DrillDeployment) -> set[str]:
    """Segments waiting in pg_wal to be archived (archive_status/*.ready)."""
    status = Path(stack.state.primary.pgdata) / "pg_wal" / "archive_status"
    return {path.name.removesuffix(".ready") for path in status.glob("*.ready")}


def test_restart_during_a_storage_outage_loses_no_acknowledged_commit(stack: DrillDeployment) -> None:
    stack.backup()
    writer = AckedWriter(stack.primary_dsn(), interval=0.02)
    writer.start()
    try:
        processes.wait_for(lambda: writer.count() >= 20, 60, "the first writes")
        stack.storage.hang()
        outage_started = time.monotonic()
        for _ in range(SWITCHES_DURING_OUTAGE):
            goal = writer.count() + 20
            processes.wait_for(lambda: writer.count() >= goal, 60, "writes during the outage")  # noqa: B023
            postgres.scalar(stack.primary_dsn(), "SELECT pg_switch_wal()")
        waiting = ready_segments(stack)
        assert len(waiting) >= SWITCHES_DURING_OUTAGE - 1, f"storage hangs, yet only {sorted(waiting)} wait"

        stop_started = time.monotonic()
        stack.stop_primary()
        stop_seconds = time.monotonic() - stop_started
        log = Path(stack.state.primary.log).read_text()
        assert stop_seconds < STOP_GRACE_SECONDS, f"a stop with storage hung took {stop_seconds:.0f}s"
        assert log.rstrip().endswith("database system is shut down"), "the server must stop cleanly, not be killed"
        assert "its time to archive is up" in log, "past the deadline wal-push must give up at once"
        after_stop = ready_segments(stack)
        stack.start_primary()
        after_start = ready_segments(stack)
        assert waiting <= after_stop <= after_start, (
            f"segments that never reached storage are gone: waiting {sorted(waiting)},"
            f" after the stop {sorted(after_stop)}, after the start {sorted(after_start)}"
        )
        processes.wait_for(
            lambda: time.monotonic() - outage_started >= OUTAGE_SECONDS, 2 * OUTAGE_SECONDS, "the outage's end"
        )
        stack.storage.start()
        goal = writer.count() + 20
        processes.wait_for(lambda: writer.count() >= goal, 120, "writes after the outage")
    finally:
        writer.stop()
    wait_until_archived(stack)
    chain_intact(stack)
    acknowledged, restored = latest_holds_every_acknowledged(stack, writer)
    counts(
        "restart during a storage outage",
        outage_seconds=round(time.monotonic() - outage_started),
        stop_seconds=round(stop_seconds),
        segments_waiting_at_stop=len(after_stop),
        acknowledged=len(acknowledged),
        restored_latest=len(restored),
        lost=len(acknowledged - restored),
    )
