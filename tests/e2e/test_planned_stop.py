"""A planned stop loses no commit, even with `archiveTimeout: 3600`: every commit
acknowledged before a rollout, a drain or a restart for a setting is in the archive by
the time the server has exited (RPO 0 for planned operations)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from drill import postgres
from drill.deployment import DrillDeployment
from harness.toolchain import Toolchain
from pgpitr.container_env import STOP_GRACE_SECONDS
from tests.e2e.accounting import counts, latest_holds_every_acknowledged
from tests.e2e.stacks import changed_dev_stack
from tests.support.workload import AckedWriter

pytestmark = pytest.mark.e2e
HOUR = 3600


@pytest.fixture(scope="module")
def hourly(tools: Toolchain, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DrillDeployment]:
    """A drill stack that forces a WAL switch only once an hour."""
    with changed_dev_stack(tmp_path_factory.mktemp("hourly"), "hourly", set_hourly) as running:
        yield running


def set_hourly(config: dict[str, Any]) -> None:
    config["pgpitr:archiveTimeout"] = HOUR


def test_a_planned_stop_archives_every_acknowledged_commit(hourly: DrillDeployment) -> None:
    assert hourly.settings.archive_timeout == HOUR
    hourly.backup()
    writer = AckedWriter(hourly.primary_dsn(), interval=0.01)
    writer.start()
    try:
        goal = writer.count() + 300
        while writer.count() < goal:
            time.sleep(0.1)
    finally:
        writer.stop()
    with postgres.connect(hourly.primary_dsn()) as conn:
        row = conn.execute("SELECT last_archived_wal, pg_walfile_name(pg_current_wal_lsn()) FROM pg_stat_archiver")
        last_archived, current = row.fetchone() or ("", "")
    assert str(last_archived) < str(current), "the newest commits must still be in an unarchived segment"
    started = time.monotonic()
    hourly.stop_primary()
    stop_seconds = time.monotonic() - started
    assert not postgres.running(hourly.primary_base)
    assert stop_seconds < STOP_GRACE_SECONDS
    # Only what storage holds: the primary is down, the copy reads the archive alone.
    acknowledged, restored = latest_holds_every_acknowledged(hourly, writer)
    counts(
        "planned stop, archiveTimeout 3600",
        acknowledged=len(acknowledged),
        restored_latest=len(restored),
        stop_seconds=round(stop_seconds),
        lost=len(acknowledged - restored),
    )
    hourly.start_primary()
