"""One database per archive, and an empty volume never starts an empty database over a used
archive: a lost volume comes back from the archive with every archived commit; a second
database pointed at the archive is refused, by wal-push and by the backup job."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from drill import environment, postgres
from drill.deployment import DrillDeployment
from drill.state import free_port
from harness import processes
from harness.processes import HarnessError
from pgpitr_runtime import names
from pgpitr_runtime.archive import Manifest
from tests.e2e.accounting import chain_intact, counts, restored_acked_ids, wait_until_archived
from tests.support.workload import AckedWriter

pytestmark = pytest.mark.e2e


def manifest(stack: DrillDeployment) -> Manifest:
    """The archive's manifest, as stored."""
    archive = stack.walg_prefix()
    text = stack.walg("st", "cat", "manifest.json", prefix=f"{archive}.locations")
    return Manifest.from_json(text, archive)


def timeline(stack: DrillDeployment) -> int:
    return int(postgres.scalar(stack.primary_dsn(), "SELECT timeline_id FROM pg_control_checkpoint()"))


def test_a_lost_volume_comes_back_with_every_archived_commit(stack: DrillDeployment) -> None:
    stack.backup()
    writer = AckedWriter(stack.primary_dsn(), interval=0.01)
    writer.start()
    try:
        processes.wait_for(lambda: writer.count() >= 150, 60, "writes")
    finally:
        writer.stop()
    acknowledged = set(writer.acknowledged)
    before = timeline(stack)
    owner = manifest(stack).system_identifier
    # A planned stop archives the last WAL; then the volume is gone (a deleted PVC).
    stack.stop_primary()
    shutil.rmtree(stack.primary_base / "data")
    postgres.prepare_dirs(stack.primary_base)
    stack.start_primary()

    log = (stack.state.path / "bootstrap.log").read_text()
    assert "bringing it back with every archived commit" in log
    assert "initialising an empty data directory" not in log.split("bringing it back")[-1]
    restored = restored_acked_ids(stack.primary_dsn(), writer)
    assert acknowledged <= restored, f"lost: {sorted(acknowledged - restored)[:10]}"
    assert timeline(stack) == before + 1, "promoted onto a new timeline"
    assert postgres.scalar(stack.primary_dsn(), "SELECT system_identifier FROM pg_control_system()") == owner
    # It archives again, without conflict, and the catch-up job backs up the new timeline.
    wait_until_archived(stack)
    backup = stack.catch_up_backup()
    assert backup.startswith(f"base_{before + 1:08X}"), backup
    assert stack.catch_up_backup() == "", "a second catch-up finds the timeline backed up"
    chain_intact(stack)
    counts("lost volume", acknowledged=len(acknowledged), restored=len(restored), lost=len(acknowledged - restored))


def test_a_second_database_pointed_at_a_used_archive_is_refused(stack: DrillDeployment, tmp_path: Path) -> None:
    """Another data directory (initdb'd elsewhere: another system identifier) configured
    with this stack's archive: it starts, but archives nothing into it, and the backup job
    refuses it; both say which archive and which databases."""
    owner = manifest(stack).system_identifier
    base = tmp_path / "intruder"
    postgres.prepare_dirs(base)
    pgdata = str(postgres.instance_paths(base)["pgdata"])
    postgres.write_conf(base, environment.primary_conf(stack.settings))
    env = environment.server_env(stack.state, stack.settings, stack.tools, pgdata)
    port = free_port()
    # initdb through the entrypoint (no bootstrap: this volume was never empty for pgpitr).
    postgres.start(base, port, env)
    dsn = f"postgresql://postgres:{stack.state.superuser_password}@127.0.0.1:{port}/postgres"
    try:
        postgres.wait_until_accepting(dsn, base)
        intruder = postgres.scalar(dsn, "SELECT system_identifier FROM pg_control_system()")
        assert intruder != owner
        with postgres.connect(dsn) as conn:
            conn.execute("CREATE TABLE intruder AS SELECT 1 AS x")
        segment = postgres.scalar(dsn, "SELECT pg_walfile_name(pg_switch_wal())")
        processes.wait_for(
            lambda: int(postgres.scalar(dsn, "SELECT failed_count FROM pg_stat_archiver")) > 0,
            120,
            "the second database's archiving to be refused",
        )
        archived = postgres.scalar(
            dsn, "SELECT archived_count || ' ' || coalesce(last_archived_wal, '-') FROM pg_stat_archiver"
        )
        assert archived == "0 -", f"the second database archived {archived} (its segment {segment})"
        server_log = Path(postgres.instance_paths(base)["log"]).read_text()
        assert f"holds the archive of database {owner}, and this data directory is database {intruder}" in server_log

        backup_env = environment.backup_env(stack.state, stack.settings, stack.tools) | {names.PGPORT: str(port)}
        with pytest.raises(HarnessError, match=rf"holds the archive of database {owner}.* is database {intruder}"):
            processes.run([str(environment.SCRIPTS_DIR / names.BACKUP_SCRIPT)], backup_env, what="pgpitr-backup")
    finally:
        postgres.stop(stack.tools, base, env)
    assert manifest(stack).system_identifier == owner


def test_an_empty_volume_is_refused_when_the_setting_says_so(stack: DrillDeployment, tmp_path: Path) -> None:
    """storage.emptyVolume refuse: the init container fails with one line and leaves the
    volume empty, for a person to decide."""
    base = tmp_path / "empty"
    postgres.prepare_dirs(base)
    pgdata = postgres.instance_paths(base)["pgdata"]
    env = environment.bootstrap_env(stack.state, stack.settings, stack.tools, str(pgdata))
    env[names.PGPITR_EMPTY_VOLUME] = "refuse"
    result = processes.run([str(environment.SCRIPTS_DIR / names.BOOTSTRAP_SCRIPT)], env, check=False)
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if "ERROR" in line]
    assert len(errors) == 1 and errors[0] == result.stderr.strip().splitlines()[-1], result.stderr
    assert f"{stack.walg_prefix()} holds the archive of database" in errors[0]
    assert "storage.emptyVolume is refuse" in errors[0]
    assert not pgdata.exists() or not any(pgdata.iterdir()), "nothing may be written to the volume"
