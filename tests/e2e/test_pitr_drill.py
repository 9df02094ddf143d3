"""The drill's building blocks against real PostgreSQL, real WAL-G and a real S3 API:
every target kind restores exactly the rows committed before it."""

import subprocess
from pathlib import Path
from typing import Any

import pytest

from drill import environment, postgres
from drill.deployment import DrillDeployment
from drill.scenario import DrillReport, Workload, check_restore, restored_ids, run_drill
from drill.state import InstanceState
from harness.processes import HarnessError
from pgpitr.versions import DEFAULT_WALG_VERSION, WALG_RELEASES
from pgpitr_runtime import names
from pgpitr_runtime.recovery import RecoveryOptions, RecoveryTarget

pytestmark = pytest.mark.e2e


def test_walg_is_the_pinned_release(stack: DrillDeployment) -> None:
    release = WALG_RELEASES[DEFAULT_WALG_VERSION]
    version = subprocess.run([str(stack.tools.walg), "--version"], capture_output=True, text=True, check=True).stdout
    assert f"{release.tag}\t{release.commit}" in version


def test_full_drill_restores_every_target_kind(stack: DrillDeployment) -> None:
    report = run_drill(stack)
    kinds = {r.target.split()[0] for r in report.restores}
    assert kinds == {"time", "xid", "lsn", "name", "immediate", "latest"}
    assert all(r.ok for r in report.restores), report.table()
    by_kind = {r.target.split()[0]: r for r in report.restores}
    # The time target is earlier than the newest backup: the older backup was chosen.
    assert by_kind["time"].backup == report.backups["B1"] != report.backups["B2"]
    assert by_kind["latest"].rows_found == by_kind["latest"].rows_expected > by_kind["name"].rows_expected


def test_primary_runs_the_rendered_conf_and_the_image_scripts(stack: DrillDeployment) -> None:
    conf = postgres.instance_paths(stack.primary_base)["conf"].read_text()
    assert conf == environment.primary_conf(stack.settings)
    with postgres.connect(stack.primary_dsn()) as conn:
        rows = conn.execute(
            "SELECT name, setting FROM pg_settings WHERE name IN ('archive_mode', 'archive_command', 'wal_level')"
        ).fetchall()
        settings = {str(name): str(value) for name, value in rows}
    assert settings == {"archive_mode": "on", "archive_command": 'pgpitr-wal-push "%p"', "wal_level": "replica"}


def test_explicit_backup_name(stack: DrillDeployment) -> None:
    work = Workload(stack)
    work.create_table()
    work.write_phase(101)
    first = stack.backup()
    work.write_phase(102)
    stack.backup()
    work.write_phase(103)
    stack.switch_wal_and_wait_archived()
    report = DrillReport()
    expected = restored_ids(stack, stack.primary_dsn())
    result = check_restore(stack, report, RecoveryTarget.parse("latest", None), expected, first, first)
    assert result.ok, report.table()


def test_restored_instance_restarted_does_not_restore_again(stack: DrillDeployment) -> None:
    work = Workload(stack)
    work.create_table()
    work.write_phase(201)
    stack.backup()
    work.write_phase(202)
    stack.switch_wal_and_wait_archived()
    instance = stack.restore(RecoveryTarget.parse("latest", None), RecoveryOptions())
    dsn = stack.state.dsn(instance)
    with postgres.connect(dsn) as conn:
        conn.execute("CREATE TABLE written_after_promotion (x int)")
        conn.execute("INSERT INTO written_after_promotion VALUES (42)")
    before = restored_ids(stack, dsn)
    log = stack.restart_restored(instance)
    assert "not restoring again" in log or "starting without restoring again" in log
    with postgres.connect(dsn) as conn:
        row = conn.execute("SELECT x FROM written_after_promotion").fetchone()
    assert row == (42,)
    assert restored_ids(stack, dsn) == before
    stack.remove_restored(instance)


def test_retention_keeps_the_newest_full_backups_and_an_intact_chain(stack: DrillDeployment) -> None:
    work = Workload(stack)
    work.create_table()
    for phase in range(301, 305):
        work.write_phase(phase)
        stack.backup()
    names_before = [b["backup_name"] for b in stack.backups()]
    assert len(names_before) >= 4
    # Forty days on, a 30-day window needs only the newest backup; two full backups stay.
    later = {
        names.PGPITR_RETENTION_FULL_BACKUPS: "2",
        names.PGPITR_RETENTION_DAYS: "30",
        names.PGPITR_RETENTION_AS_OF: "2099-01-01T00:00:00Z",
    }
    newest = stack.backup(extra_env=later)
    remaining = [b["backup_name"] for b in stack.backups()]
    assert remaining[-1] == newest
    assert remaining == [*names_before[-1:], newest]
    # The WAL chain job's script (wal-g wal-verify, connected to the primary as that job is).
    chain = stack.check_wal_chain()
    assert chain["ok"] is True and chain["missing"] == [], chain


def test_backup_script_fails_when_storage_is_unreachable(stack: DrillDeployment) -> None:
    stack.storage.stop()
    try:
        with pytest.raises(HarnessError, match="pgpitr-backup failed"):
            stack.backup()
    finally:
        stack.storage.start()


def controldata(stack: DrillDeployment, pgdata: str) -> dict[str, str]:
    out = subprocess.run([stack.tools.pg("pg_controldata"), pgdata], capture_output=True, text=True, check=True).stdout
    return {key.strip(): value.strip() for key, _, value in (line.partition(":") for line in out.splitlines())}


def never_promoted(stack: DrillDeployment, instance: InstanceState) -> None:
    """No new timeline, never open for writes: what promoting a short copy would leave."""
    log = Path(instance.log).read_text()
    assert "selected new timeline ID" not in log and "ready to accept connections" not in log, log[-2000:]
    assert controldata(stack, instance.pgdata)["Latest checkpoint's TimeLineID"] == "1"
    assert not postgres.running(stack.state.path / instance.name)


def test_restore_while_storage_is_unreachable_aborts_and_never_promotes(stack: DrillDeployment) -> None:
    work = Workload(stack)
    work.create_table()
    work.write_phase(401)
    stack.backup()
    for phase in range(402, 405):
        work.write_phase(phase)
        stack.switch_wal_and_wait_archived()
    fetched: dict[str, Any] = {}

    def outage_after_fetch() -> None:
        fetched["done"] = True
        stack.storage.stop()

    try:
        with pytest.raises(HarnessError, match="stopped"):
            stack.restore(RecoveryTarget.parse("latest", None), RecoveryOptions(), after_fetch=outage_after_fetch)
    finally:
        stack.storage.start()
    assert fetched["done"]
    instance = stack.state.restores[-1]
    log = Path(instance.log).read_text()
    assert "exit code 200" in log
    never_promoted(stack, instance)
    stack.remove_restored(instance)


def test_a_cluster_made_by_an_older_pgpitr_is_brought_up_to_date_on_restart(stack: DrillDeployment) -> None:
    """The entrypoint reconciles roles on every start: a cluster created without the
    backup role's grant, without its replication line and with an old password backs up
    after one restart."""
    with postgres.connect(stack.primary_dsn()) as conn:
        conn.execute(f"REVOKE pg_read_all_settings FROM {names.BACKUP_ROLE}")
        conn.execute(f"ALTER ROLE {names.BACKUP_ROLE} PASSWORD 'from-an-older-secret'")
    hba = Path(stack.state.primary.pgdata) / "pg_hba.conf"
    hba.write_text("".join(line for line in hba.read_text().splitlines(True) if names.BACKUP_ROLE not in line))
    with postgres.connect(stack.primary_dsn()) as conn:
        conn.execute("SELECT pg_reload_conf()")
    with pytest.raises(HarnessError, match="pgpitr-backup failed"):
        stack.backup()

    stack.stop_primary()
    stack.start_primary()

    with postgres.connect(stack.primary_dsn()) as conn:
        row = conn.execute("SELECT pg_has_role(%s, 'pg_read_all_settings', 'MEMBER')", [names.BACKUP_ROLE]).fetchone()
    assert row == (True,)
    assert f"host replication {names.BACKUP_ROLE} all scram-sha-256" in hba.read_text().splitlines()
    assert stack.backup().startswith("base_")
    assert "roles and grants reconciled" in Path(stack.state.primary.log).read_text()
