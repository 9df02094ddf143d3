"""The in-cluster recoverability checks, run by the drill against the local stack: the
restore drill job's script and the WAL chain check pass on a healthy archive, the chain
check names a deleted segment, and the drill fails loudly on a backup it cannot fetch."""

from typing import Any

import pytest

from drill.deployment import DrillDeployment
from drill.scenario import Workload
from harness.processes import HarnessError
from tests.e2e.storage import archive_key_prefix, objects_under

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def archive(shared_stack: DrillDeployment) -> DrillDeployment:
    """A primary with a backup and thirty archived segments after it: WAL-G counts a gap
    among the newest WALG_UPLOAD_CONCURRENCY (16) segments as possibly still uploading,
    so the deleted one must be older than that to be reported lost."""
    work = Workload(shared_stack)
    work.create_table()
    work.write_phase(1)
    shared_stack.backup()
    for phase in range(2, 32):
        work.write_phase(phase)
        shared_stack.switch_wal_and_wait_archived()
    return shared_stack


def test_verify_passes_on_a_healthy_archive(archive: DrillDeployment) -> None:
    restore: dict[str, Any] = archive.verify_restore()
    assert restore["ok"] is True and restore["backup"].startswith("base_")
    assert restore["databases"] >= 2 and restore["newest_commit"]
    chain = archive.check_wal_chain()
    assert chain["ok"] is True and chain["missing"] == []


def test_verify_sql_check_must_return_true(archive: DrillDeployment) -> None:
    ok = archive.verify_restore({"PGPITR_VERIFY_SQL": "SELECT count(*) > 0 FROM pgpitr_drill_rows"})
    assert ok["ok"] is True
    with pytest.raises(HarnessError, match="returned 'f', not true"):
        archive.verify_restore({"PGPITR_VERIFY_SQL": "SELECT count(*) > 1000000 FROM pgpitr_drill_rows"})


def test_chain_check_names_a_deleted_segment(archive: DrillDeployment) -> None:
    segments = [k for k in objects_under(archive, f"{archive_key_prefix(archive)}/wal_005/") if ".history" not in k]
    victim = segments[3]
    assert len(segments) - 3 > 20
    archive.storage.client().delete_object(Bucket=archive.state.s3.bucket, Key=victim)
    name = victim.rsplit("/", 1)[1].split(".")[0]
    with pytest.raises(HarnessError, match=rf"missing .*{name}"):
        archive.check_wal_chain()


def test_chain_check_names_a_segment_deleted_just_behind_the_newest(archive: DrillDeployment) -> None:
    """WAL-G calls it "uploading" (it is among the newest); PostgreSQL archives in order,
    so a segment older than one in storage will never arrive: the check must fail."""
    archive.switch_wal_and_wait_archived()
    segments = [k for k in objects_under(archive, f"{archive_key_prefix(archive)}/wal_005/") if ".history" not in k]
    victim = segments[-2]
    archive.storage.client().delete_object(Bucket=archive.state.s3.bucket, Key=victim)
    name = victim.rsplit("/", 1)[1].split(".")[0]
    with pytest.raises(HarnessError, match=rf"missing .*{name}.*never to arrive"):
        archive.check_wal_chain()


def test_restore_drill_fails_loudly_without_its_backup(archive: DrillDeployment) -> None:
    newest = archive.backups()[-1]["backup_name"]
    base = f"{archive_key_prefix(archive)}/basebackups_005/{newest}/"
    for key in objects_under(archive, base):
        archive.storage.client().delete_object(Bucket=archive.state.s3.bucket, Key=key)
    with pytest.raises(HarnessError, match="pgpitr-verify-restore failed") as failure:
        archive.verify_restore()
    assert newest in str(failure.value), f"the failure must name the backup it could not fetch: {failure.value}"
