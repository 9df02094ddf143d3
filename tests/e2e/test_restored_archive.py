"""`restore.archive: true` with one target, then another: each copy promotes onto a new
timeline and archives into an archive of its own, so the second is not refused at its
first history file (which would leave it archiving nothing while its pg_wal grows)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from drill import environment, postgres
from drill.deployment import DrillDeployment
from drill.scenario import Workload
from harness.toolchain import Toolchain
from pgpitr_runtime import names
from pgpitr_runtime.recovery import RecoveryOptions, RecoveryTarget
from tests.e2e.stacks import changed_dev_stack
from tests.e2e.storage import objects_under

pytestmark = pytest.mark.e2e
NAME = "postgres-restored"
"""As restore.name names the copy in a cluster: the same name for both targets."""


@pytest.fixture(scope="module")
def archiving_copies(tools: Toolchain, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DrillDeployment]:
    with changed_dev_stack(tmp_path_factory.mktemp("restored-archive"), "copies", archive_copies) as running:
        yield running


def archive_copies(config: dict[str, Any]) -> None:
    config["pgpitr:restore"] = {"enabled": False, "archive": True}


def copy_archives(dsn: str) -> str:
    """Writes on the promoted copy and waits until its archiver has archived that WAL."""
    with postgres.connect(dsn) as conn:
        conn.execute("CREATE TABLE written_on_the_copy AS SELECT generate_series(1, 100) AS x")
    segment = postgres.scalar(dsn, "SELECT pg_walfile_name(pg_switch_wal())")
    postgres.wait_until_archived(dsn, segment, timeout=120)
    return postgres.scalar(dsn, "SELECT failed_count FROM pg_stat_archiver")


def test_a_second_target_gets_an_archive_of_its_own(archiving_copies: DrillDeployment) -> None:
    stack = archiving_copies
    assert stack.settings.restore.archive
    work = Workload(stack)
    work.create_table()
    work.write_phase(1)
    stack.backup()
    work.write_phase(2)
    first_target = work.scalar("SELECT clock_timestamp()::text").replace(" ", "T", 1)
    work.write_phase(3)
    second_target = work.scalar("SELECT clock_timestamp()::text").replace(" ", "T", 1)
    work.write_phase(4)
    stack.switch_wal_and_wait_archived()

    archives = []
    for moment in (first_target, second_target):
        copy = stack.restore(RecoveryTarget.parse("time", moment), RecoveryOptions(), name=NAME)
        dsn = stack.state.dsn(copy)
        assert postgres.scalar(dsn, "SELECT timeline_id FROM pg_control_checkpoint()") == "2"
        assert copy_archives(dsn) == "0", "the copy's archiving must not fail"
        env = environment.restore_env(stack.state, stack.settings, stack.tools, copy.pgdata, copy.recovery, NAME)
        archives.append(env[names.PGPITR_ARCHIVE])
        stack.remove_restored(copy)
    assert len(set(archives)) == 2, archives
    bucket = f"s3://{stack.state.s3.bucket}/"
    for archive in archives:
        keys = objects_under(stack, archive.removeprefix(bucket) + "/wal_005/")
        assert any("00000002.history" in key for key in keys), f"{archive} has no history file: {keys}"
        assert any(key.rsplit("/", 1)[1].startswith("00000002") and ".history" not in key for key in keys)
