"""Faults, nothing lost: a storage outage under load, a crash of the primary under load,
and damaged WAL in storage. Every acknowledged commit is accounted for."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from drill import postgres
from drill.deployment import DrillDeployment
from drill.scenario import Workload
from harness import processes
from harness.processes import HarnessError
from pgpitr_runtime.recovery import RecoveryOptions, RecoveryTarget
from tests.e2e.accounting import chain_intact, counts, restored_acked_ids, wait_until_archived
from tests.e2e.storage import archive_key_prefix, objects_under
from tests.support.workload import AckedWriter

pytestmark = pytest.mark.e2e
OUTAGE_SECONDS = 125


def test_storage_outage_loses_no_acknowledged_commit(stack: DrillDeployment) -> None:
    stack.backup()
    writer = AckedWriter(stack.primary_dsn())
    writer.start()
    try:
        processes.wait_for(lambda: writer.count() >= 20, 60, "the first writes")
        failed_before = archiver_failures(stack)
        stack.storage.stop()
        outage_started = time.monotonic()
        processes.wait_for(
            lambda: time.monotonic() - outage_started >= OUTAGE_SECONDS / 2, OUTAGE_SECONDS, "mid-outage"
        )
        with writer.pause():
            acknowledged_before_target = set(writer.acknowledged)
            target = postgres_now(stack)
        processes.wait_for(lambda: time.monotonic() - outage_started >= OUTAGE_SECONDS, OUTAGE_SECONDS, "outage end")
        # WAL-G retries a refused connection for about 10 s (WALG_S3_MAX_RETRIES) before
        # wal-push fails: well within the outage, PostgreSQL has seen archiving fail.
        processes.wait_for(lambda: archiver_failures(stack) > failed_before, 60, "archiving to fail", interval=2)
        written_during_outage = writer.count() - len(acknowledged_before_target)
        assert written_during_outage > 0, "PostgreSQL must keep serving writes while storage is down"
        stack.storage.start()
        processes.wait_for(
            lambda: writer.count() >= len(acknowledged_before_target) + written_during_outage + 20,
            120,
            "writes after the outage",
        )
    finally:
        writer.stop()
    assert not writer.errors, writer.errors[:3]
    wait_until_archived(stack)
    chain_intact(stack)
    instance = stack.restore(RecoveryTarget.parse("time", target), RecoveryOptions())
    restored = restored_acked_ids(stack.state.dsn(instance), writer)
    assert restored == acknowledged_before_target, (
        f"missing {sorted(acknowledged_before_target - restored)[:10]}, "
        f"unexpected {sorted(restored - acknowledged_before_target)[:10]}"
    )
    stack.remove_restored(instance)
    # And to the end of the archive: every commit acknowledged, before, during and after.
    latest = stack.restore(RecoveryTarget.parse("latest", None), RecoveryOptions())
    everything = restored_acked_ids(stack.state.dsn(latest), writer)
    acknowledged = set(writer.acknowledged)
    assert acknowledged <= everything, f"lost acknowledged commits: {sorted(acknowledged - everything)[:10]}"
    counts(
        "storage outage",
        outage_seconds=OUTAGE_SECONDS,
        acknowledged=len(acknowledged),
        during_outage=written_during_outage,
        restored_at_target=len(restored),
        restored_latest=len(everything),
        lost=len(acknowledged - everything),
    )
    stack.remove_restored(latest)


def postgres_now(stack: DrillDeployment) -> str:
    with postgres.connect(stack.primary_dsn()) as conn:
        row = conn.execute(
            "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
        ).fetchone()
    assert row is not None
    return str(row[0])


def archiver_failures(stack: DrillDeployment) -> int:
    with postgres.connect(stack.primary_dsn()) as conn:
        row = conn.execute("SELECT failed_count FROM pg_stat_archiver").fetchone()
    assert row is not None
    return int(str(row[0]))


def test_crash_of_the_primary_loses_no_acknowledged_commit(stack: DrillDeployment) -> None:
    stack.backup()
    writer = AckedWriter(stack.primary_dsn(), interval=0.01)
    writer.start()
    try:
        processes.wait_for(lambda: writer.count() >= 200, 120, "load before the crash")
        postgres.crash(stack.primary_base)
        before_restart = writer.count()
        stack.start_primary()
        processes.wait_for(lambda: writer.count() >= before_restart + 100, 120, "load after the restart")
    finally:
        writer.stop()
    wait_until_archived(stack)
    chain_intact(stack)
    instance = stack.restore(RecoveryTarget.parse("latest", None), RecoveryOptions())
    restored = restored_acked_ids(stack.state.dsn(instance), writer)
    acknowledged = set(writer.acknowledged)
    assert acknowledged <= restored, f"lost acknowledged commits: {sorted(acknowledged - restored)[:10]}"
    assert restored - acknowledged <= writer.in_flight, "rows nobody wrote"
    counts(
        "kill -9 of the primary",
        acknowledged=len(acknowledged),
        restored_latest=len(restored),
        in_flight_at_crash=len(writer.in_flight),
        lost=len(acknowledged - restored),
    )
    with postgres.connect(stack.primary_dsn()) as conn:
        row = conn.execute("SELECT failed_count FROM pg_stat_archiver").fetchone()
    assert row == (0,), "archiving a segment again after the crash must not fail (no duplicate segment error)"
    stack.remove_restored(instance)


def test_damaged_wal_makes_a_later_restore_fail_loudly(stack: DrillDeployment) -> None:
    stack.backup()
    writer = AckedWriter(stack.primary_dsn())
    writer.start()
    try:
        for _ in range(4):
            goal = writer.count() + 10
            processes.wait_for(lambda: writer.count() >= goal, 60, "writes")  # noqa: B023 - read now
            stack.switch_wal_and_wait_archived()
    finally:
        writer.stop()
    client = stack.storage.client()
    newest_backup = stack.backups()[-1]["wal_file_name"]
    segments = [
        key
        for key in objects_under(stack, f"{archive_key_prefix(stack)}/wal_005/")
        if Path(key).name.split(".")[0] > newest_backup and ".history" not in key
    ]
    assert len(segments) >= 3
    victim = segments[len(segments) // 2]
    original = client.get_object(Bucket=stack.state.s3.bucket, Key=victim)["Body"].read()
    client.put_object(Bucket=stack.state.s3.bucket, Key=victim, Body=original[: len(original) // 3])
    with pytest.raises(HarnessError, match="stopped"):
        stack.restore(RecoveryTarget.parse("latest", None), RecoveryOptions())
    instance = stack.state.restores[-1]
    log = Path(instance.log).read_text()
    assert "exit code 200" in log, "the wrapper must make PostgreSQL abort, not end recovery"
    assert not postgres.running(stack.state.path / instance.name)
    stack.remove_restored(instance)


def test_storage_that_never_answers_makes_archiving_backup_and_restore_fail_within_bounds(
    stack: DrillDeployment,
) -> None:
    """An endpoint that accepts connections and never answers (WAL-G's S3 client has no
    request timeout): archiving fails within the wal-push limit, the backup job and a
    restore fail within two minutes, each with a line saying what ran out of time, and
    nothing is left running."""
    work = Workload(stack)
    work.create_table()
    work.write_phase(501)
    stack.backup()
    failed_before = archiver_failures(stack)
    stack.storage.hang()
    try:
        work.write_phase(502)
        postgres.scalar(stack.primary_dsn(), "SELECT pg_switch_wal()")
        hung_at = time.monotonic()

        started = time.monotonic()
        with pytest.raises(HarnessError, match=r"pgpitr-backup failed.*did not finish within"):
            stack.backup()
        assert time.monotonic() - started < 120

        started = time.monotonic()
        with pytest.raises(HarnessError, match=r"pgpitr-restore failed.*did not finish within"):
            stack.restore(RecoveryTarget.parse("latest", None), RecoveryOptions())
        assert time.monotonic() - started < 120

        processes.wait_for(
            lambda: archiver_failures(stack) > failed_before, 240 - (time.monotonic() - hung_at), "archiving to fail"
        )
    finally:
        stack.storage.start()
    wait_until_archived(stack)
    chain_intact(stack)
