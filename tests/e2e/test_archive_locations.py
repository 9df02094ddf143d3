"""A change that would make the archive's objects unreadable opens a new archive location
instead of mixing: encryption turned on, then its key changed (a new Secret, the old one
kept as retired). A base backup follows each change within one catch-up run, and targets
before, between and after the changes restore exactly, including those in the minutes
between a change and its first backup (their WAL spans two locations, each read with the
key it was written with). Retention works across the locations."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from drill import encryption_keys, postgres
from drill.deployment import DrillDeployment
from drill.scenario import Workload, restored_ids
from harness import processes
from harness.toolchain import Toolchain
from pgpitr.deployed.locations import locations_output
from pgpitr.deployed.record import DeployedSettings
from pgpitr_runtime import names
from pgpitr_runtime.archive import Location, Manifest, describe_encryption
from pgpitr_runtime.recovery import RecoveryOptions, RecoveryTarget
from tests.e2e.stacks import ROOT, changed_dev_stack
from tests.e2e.storage import objects_under

pytestmark = pytest.mark.e2e
LZ4_FRAME_MAGIC = b"\x04\x22\x4d\x18"
FIRST_KEY, SECOND_KEY = "backup-key-2026", "backup-key-2027"


@pytest.fixture(scope="module")
def changing(tools: Toolchain, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DrillDeployment, Path]]:
    # Every phase redeploys the same stack file: the archive prefix (<stack>/postgres) stays.
    directory = tmp_path_factory.mktemp("locations")
    with changed_dev_stack(directory, "changing", lambda config: None) as running:
        yield running, directory


def manifest(stack: DrillDeployment) -> Manifest:
    archive = stack.walg_prefix()
    return Manifest.from_json(stack.walg("st", "cat", "manifest.json", prefix=f"{archive}.locations"), archive)


def now(work: Workload) -> str:
    return work.scalar("SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')")


def redeploy(stack: DrillDeployment, backup: dict[str, Any], record: DeployedSettings) -> DeployedSettings:
    """Deploys `backup` over the stack; the program's record of the deployment after it."""
    document_path = Path(stack.state.stack)
    document = yaml.safe_load(document_path.read_text())
    document["config"]["pgpitr:backup"] = (
        yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())["config"]["pgpitr:backup"] | backup
    )
    document_path.write_text(yaml.safe_dump(document))
    stack.redeploy(str(document_path))
    return DeployedSettings.of(stack.settings, record)


def described(location: Location) -> dict[str, Any]:
    """A location as the `archiveLocations` output describes it."""
    return {
        "number": location.number,
        "prefix": location.prefix,
        "encryption": describe_encryption(location.encryption),
    }


def plain_lz4_objects(stack: DrillDeployment, prefix: str) -> list[str]:
    client = stack.storage.client()
    found = []
    for key in objects_under(stack, prefix.removeprefix(f"s3://{stack.state.s3.bucket}/") + "/wal_005/"):
        if key.endswith(".lz4"):
            body = client.get_object(Bucket=stack.state.s3.bucket, Key=key)["Body"].read(4)
            if body == LZ4_FRAME_MAGIC:
                found.append(key)
    return found


def test_encryption_on_then_a_new_key_open_new_locations_and_every_target_restores(
    changing: tuple[DrillDeployment, Path],
) -> None:
    stack, _ = changing
    work = Workload(stack)
    work.create_table()
    targets: list[tuple[str, str, int]] = []
    record = DeployedSettings.of(stack.settings)

    def target(label: str, phase: int) -> None:
        targets.append((label, now(work), phase))

    work.write_phase(1)
    b1 = stack.backup()
    work.write_phase(2)
    target("before encryption", 2)
    work.write_phase(3)

    # Encryption on: a new location; the minutes before its first backup are a target too.
    record = redeploy(stack, {"encryption": {"method": "libsodium", "existingSecret": FIRST_KEY}}, record)
    work.write_phase(4)
    target("encrypted, before the new location's first backup", 4)
    work.write_phase(5)
    stack.switch_wal_and_wait_archived()
    b2 = stack.catch_up_backup()
    assert b2, "the catch-up job backs up a new location at once"
    assert stack.catch_up_backup() == ""
    work.write_phase(6)
    target("encrypted, after its first backup", 6)
    work.write_phase(7)

    # A new key, in a new Secret; the first stays readable as a retired key.
    record = redeploy(
        stack,
        {
            "encryption": {"method": "libsodium", "existingSecret": SECOND_KEY},
            "retiredEncryptionSecrets": [FIRST_KEY],
        },
        record,
    )
    work.write_phase(8)
    target("new key, before its location's first backup", 8)
    work.write_phase(9)
    stack.switch_wal_and_wait_archived()
    b3 = stack.catch_up_backup()
    work.write_phase(10)
    target("new key, after its first backup", 10)
    work.write_phase(11)
    stack.switch_wal_and_wait_archived()

    locations = manifest(stack).locations
    assert [(loc.number, loc.encryption.secret if loc.encryption else None) for loc in locations] == [
        (1, None),
        (2, FIRST_KEY),
        (3, SECOND_KEY),
    ]
    # The stack's outputs name the locations the primary really opened.
    output = locations_output(stack.walg_prefix(), record.locations)
    assert [*reversed(output["earlier"]), output["current"]] == [described(location) for location in locations]
    assert output["manifest"] == f"{stack.walg_prefix()}.locations/manifest.json"
    assert plain_lz4_objects(stack, locations[0].prefix), "the first location stays as it was written"
    for location in locations[1:]:
        assert not plain_lz4_objects(stack, location.prefix), f"{location.describe()} holds plain WAL"
    assert {b["backup_name"] for b in stack.backups(locations[1].prefix)} == {b2}
    assert {b["backup_name"] for b in stack.backups(locations[2].prefix)} == {b3}

    results = []
    for label, moment, phase in [*targets, ("latest", "", 11)]:
        recovery = RecoveryTarget.parse("latest", None) if not moment else RecoveryTarget.parse("time", moment)
        instance = stack.restore(recovery, RecoveryOptions())
        found = restored_ids(stack, stack.state.dsn(instance))
        expected = work.ids_through(phase)
        results.append((label, instance.backup, found == expected))
        assert found == expected, (
            f"{label}: missing {sorted(expected - found)[:5]}, unexpected {sorted(found - expected)[:5]}"
            f" (restored {instance.backup})"
        )
        stack.remove_restored(instance)
    assert {backup for _, backup, _ in results} == {b1, b2, b3}
    print("restores across locations:", results)


def test_retention_removes_whole_locations_only_when_nothing_needs_them(changing: tuple[DrillDeployment, Path]) -> None:
    """Evaluated 40 days on: one full backup kept, a 30-day window: the newest backup's
    location keeps it and its WAL, every location before it goes entirely."""
    stack, _ = changing
    locations = manifest(stack).locations
    assert len(locations) == 3
    later = (datetime.now(UTC) + timedelta(days=40)).isoformat()
    stack.backup(
        {
            names.PGPITR_RETENTION_AS_OF: later,
            names.PGPITR_RETENTION_FULL_BACKUPS: "1",
            names.PGPITR_RETENTION_DAYS: "30",
        }
    )
    assert stack.backups(locations[0].prefix) == []
    assert stack.backups(locations[1].prefix) == []
    assert len(stack.backups(locations[2].prefix)) == 1
    bucket = f"s3://{stack.state.s3.bucket}/"
    assert objects_under(stack, locations[0].prefix.removeprefix(bucket) + "/wal_005/") == []
    assert objects_under(stack, locations[2].prefix.removeprefix(bucket) + "/wal_005/")
    latest = stack.restore(RecoveryTarget.parse("latest", None), RecoveryOptions())
    assert restored_ids(stack, stack.state.dsn(latest)), "the newest location still restores"
    stack.remove_restored(latest)


def test_a_key_changed_inside_its_secret_stops_archiving_with_one_line(changing: tuple[DrillDeployment, Path]) -> None:
    """The Secret keeps its name but holds another key: writing with it would make the
    location unreadable with either key. The restarted primary serves, but archives
    nothing, and says why; with the key put back, archiving resumes."""
    stack, _ = changing
    right_key = stack.state.libsodium_key
    stack.state.libsodium_key = encryption_keys.libsodium_key()
    stack.state.save()
    stack.stop_primary()
    stack.start_primary()
    try:
        assert "its key was changed in place" in (stack.state.path / "bootstrap.log").read_text()
        dsn = stack.primary_dsn()
        failed = int(postgres.scalar(dsn, "SELECT failed_count FROM pg_stat_archiver"))
        postgres.scalar(dsn, "SELECT pg_switch_wal()")
        processes.wait_for(
            lambda: int(postgres.scalar(dsn, "SELECT failed_count FROM pg_stat_archiver")) > failed,
            120,
            "archiving with the changed key to be refused",
        )
        assert "its key was changed in place" in Path(stack.state.primary.log).read_text()
    finally:
        stack.state.libsodium_key = right_key
        stack.state.save()
        stack.stop_primary()
        stack.start_primary()
    stack.switch_wal_and_wait_archived(timeout=180)
