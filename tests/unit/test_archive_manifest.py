"""The archive's locations (pgpitr_runtime/archive.py) and the decisions made on them: where
a server archives, which backup a restore takes over every location, what retention
deletes in each, what an empty volume does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pgpitr_runtime import names
from pgpitr_runtime.archive import (
    ArchiveError,
    Encryption,
    FirstLocation,
    Location,
    Manifest,
    current_location,
    legacy_manifest,
    location_env,
    location_prefix,
    render_env,
    settle,
)
from pgpitr_runtime.backups import Backup, choose_across
from pgpitr_runtime.recovery import RecoveryTarget
from pgpitr_runtime.retention import RetentionPolicy, plan_archive_retention

ROOT = Path(__file__).resolve().parents[2]
ARCHIVE = "s3://bucket/dev/postgres"
SYSTEM = "7312345678901234567"
OTHER = "7400000000000000001"
KEY_ONE = Encryption("libsodium", "key-one")
KEY_TWO = Encryption("libsodium", "key-two")
NOW = "2026-12-04T10:00:00Z"


def manifest(*encryptions: Encryption | None) -> Manifest:
    return Manifest(
        ARCHIVE,
        SYSTEM,
        tuple(
            Location(n, location_prefix(ARCHIVE, n), e, f"2026-0{n}-01T00:00:00Z")
            for n, e in enumerate(encryptions, start=1)
        ),
    )


def test_locations_after_the_first_are_siblings_not_inside_it() -> None:
    assert location_prefix(ARCHIVE, 1) == ARCHIVE
    assert location_prefix(ARCHIVE, 2) == f"{ARCHIVE}.locations/2"
    assert not location_prefix(ARCHIVE, 2).startswith(f"{ARCHIVE}/"), "WAL-G's delete lists recursively"


def test_the_manifest_round_trips_and_refuses_what_pgpitr_did_not_write() -> None:
    written = manifest(None, KEY_ONE)
    assert Manifest.from_json(written.to_json(), ARCHIVE) == written
    with pytest.raises(ArchiveError, match="belongs to"):
        Manifest.from_json(written.to_json(), "s3://bucket/prod/postgres")
    with pytest.raises(ArchiveError, match="not one pgpitr wrote"):
        Manifest.from_json("{not json", ARCHIVE)
    with pytest.raises(ArchiveError, match="format 2"):
        Manifest.from_json(json.dumps({**json.loads(written.to_json()), "format": 2}), ARCHIVE)


def test_a_new_archive_gets_its_first_location() -> None:
    settled = settle(None, ARCHIVE, None, SYSTEM, FirstLocation(frozenset(), used=False, readable=False), NOW)
    assert settled.changed and settled.location.number == 1 and settled.location.prefix == ARCHIVE
    assert settled.manifest.system_identifier == SYSTEM


def test_the_same_settings_continue_the_current_location() -> None:
    settled = settle(manifest(None, KEY_ONE), ARCHIVE, KEY_ONE, SYSTEM, None, NOW)
    assert not settled.changed and settled.location.number == 2


@pytest.mark.parametrize(
    ("before", "after"),
    [(None, KEY_ONE), (KEY_ONE, KEY_TWO), (KEY_ONE, None), (KEY_ONE, Encryption("pgp", "key-one"))],
    ids=["turned on", "new key", "turned off", "new method"],
)
def test_an_encryption_change_opens_a_new_location(before: Encryption | None, after: Encryption | None) -> None:
    settled = settle(manifest(before), ARCHIVE, after, SYSTEM, None, NOW)
    assert settled.changed
    assert [location.encryption for location in settled.manifest.locations] == [before, after]
    assert settled.location.prefix == f"{ARCHIVE}.locations/2"


def test_returning_to_earlier_settings_opens_another_location_rather_than_reusing_one() -> None:
    settled = settle(manifest(None, KEY_ONE), ARCHIVE, None, SYSTEM, None, NOW)
    assert settled.location.number == 3, "location 1 has a gap where location 2 was written"


def test_another_databases_archive_is_refused() -> None:
    with pytest.raises(ArchiveError, match=f"database {SYSTEM}, and this data directory is database {OTHER}"):
        settle(manifest(None), ARCHIVE, None, OTHER, None, NOW)
    first = FirstLocation(frozenset({SYSTEM}), used=True, readable=True)
    with pytest.raises(ArchiveError, match="refusing to write into it"):
        settle(None, ARCHIVE, None, OTHER, first, NOW)


def test_an_archive_an_earlier_pgpitr_wrote_is_adopted_or_left_alone() -> None:
    readable = settle(None, ARCHIVE, KEY_ONE, SYSTEM, FirstLocation(frozenset({SYSTEM}), True, True), NOW)
    assert [loc.encryption for loc in readable.manifest.locations] == [KEY_ONE]
    unreadable = settle(None, ARCHIVE, KEY_ONE, SYSTEM, FirstLocation(frozenset(), True, False), NOW)
    first, new = unreadable.manifest.locations
    assert not first.known and "does not know" in first.describe()
    assert new.encryption == KEY_ONE and unreadable.location == new


def test_jobs_work_only_where_the_primary_archives_with_their_settings() -> None:
    archive = manifest(None, KEY_ONE)
    assert current_location(archive, KEY_ONE, manifest_found=True).number == 2
    with pytest.raises(ArchiveError, match="opens the new location when it restarts"):
        current_location(archive, KEY_TWO, manifest_found=True)
    with pytest.raises(ArchiveError, match="has no manifest yet"):
        current_location(legacy_manifest(ARCHIVE, None), None, manifest_found=False)


def test_location_settings_read_each_location_with_its_own_key() -> None:
    plain = location_env(manifest(None).location(1), KEY_TWO, "/keys")
    assert plain[names.WALG_S3_PREFIX] == ARCHIVE
    assert plain[names.WALG_LIBSODIUM_KEY] is None, "the configured key must not read a plain location"
    current = location_env(manifest(None, KEY_TWO).location(2), KEY_TWO, "/keys")
    assert names.WALG_LIBSODIUM_KEY not in current, "the container's own key variables are kept"
    retired = location_env(manifest(None, KEY_ONE).location(2), KEY_TWO, "/keys")
    assert retired[names.WALG_LIBSODIUM_KEY_PATH] == "/keys/key-one/libsodium-key"
    assert retired[names.WALG_LIBSODIUM_KEY] is None
    pgp = location_env(manifest(Encryption("pgp", "old-pgp")).location(1), None, "/keys")
    assert pgp[names.WALG_PGP_KEY_PATH] == "/keys/old-pgp/pgp-key"
    assert pgp[names.PGPITR_PGP_PASSPHRASE_FILE] == "/keys/old-pgp/pgp-passphrase"


def test_rendered_settings_are_quoted_for_bash() -> None:
    text = render_env({names.WALG_S3_PREFIX: "s3://b/it's here", names.WALG_PGP_KEY: None}, "a comment")
    result = subprocess.run(
        ["bash", "-c", f'{text}\nprintf "%s|%s" "$WALG_S3_PREFIX" "${{WALG_PGP_KEY-unset}}"'],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": os.environ["PATH"], "WALG_PGP_KEY": "x"},
    )
    assert result.stdout == "s3://b/it's here|unset"


def backup(name: str, days_ago: float, now: datetime) -> Backup:
    finish = now - timedelta(days=days_ago)
    return Backup(name, finish - timedelta(minutes=5), finish, 0, 0, wal_file_name=name.removeprefix("base_"))


NOW_TIME = datetime(2026, 12, 4, tzinfo=UTC)


def listings() -> dict[int, list[Backup]]:
    """Location 1: backups 50 and 40 days old; 2: 20 and 10; 3: 1."""
    return {
        1: [backup(f"base_{1:08X}{0:08X}{n:08X}", days, NOW_TIME) for n, days in ((1, 50), (2, 40))],
        2: [backup(f"base_{1:08X}{0:08X}{n:08X}", days, NOW_TIME) for n, days in ((3, 20), (4, 10))],
        3: [backup(f"base_{1:08X}{0:08X}{n:08X}", days, NOW_TIME) for n, days in ((5, 1),)],
    }


def test_a_restore_chooses_over_every_location() -> None:
    found = listings()
    number, chosen = choose_across(found, RecoveryTarget.parse("time", (NOW_TIME - timedelta(days=15)).isoformat()))
    assert (number, chosen) == (2, found[2][0])
    assert choose_across(found, RecoveryTarget.parse("latest", None))[0] == 3
    assert choose_across(found, RecoveryTarget.parse("immediate", None), found[1][1].name) == (1, found[1][1])


def test_retention_deletes_whole_locations_only_before_the_oldest_backup_kept() -> None:
    plan, deletions = plan_archive_retention(listings(), RetentionPolicy(full_backups=2, days=15), NOW_TIME)
    assert plan.keep_from is not None and plan.keep_from.name.endswith("00000003")
    assert [(d.location, d.args) for d in deletions] == [
        (1, ("everything", "--confirm")),
        (2, ("before", "FIND_FULL", plan.keep_from.name, "--confirm")),
    ]


def test_retention_keeps_a_location_with_a_permanent_backup() -> None:
    found = listings()
    found[1][0] = Backup(**{**vars(found[1][0]), "permanent": True})
    _, deletions = plan_archive_retention(found, RetentionPolicy(full_backups=1, days=5), NOW_TIME)
    assert 1 not in [d.location for d in deletions]
    assert [d.location for d in deletions] == [2], "the window reaches back into location 2"


def test_young_archives_lose_nothing() -> None:
    _, deletions = plan_archive_retention(listings(), RetentionPolicy(full_backups=7, days=30), NOW_TIME)
    assert deletions == []


def runtime(command: str, env: dict[str, str], stdin: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pgpitr_runtime", command],
        env={"PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT), **env},
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
    )


def test_an_empty_volume_is_initialised_only_over_an_unused_archive() -> None:
    env = {names.PGPITR_ARCHIVE: ARCHIVE}
    assert runtime("archive-empty-volume", env, "").stdout.strip() == "initdb"
    used = {**env, names.PGPITR_FIRST_LOCATION_USED: "true"}
    assert runtime("archive-empty-volume", used, "").stdout.strip() == "restore"
    assert runtime("archive-empty-volume", env, manifest(None).to_json()).stdout.strip() == "restore"
    refused = runtime("archive-empty-volume", {**env, names.PGPITR_EMPTY_VOLUME: "refuse"}, manifest(None).to_json())
    assert refused.returncode != 0
    assert f"holds the archive of database {SYSTEM}" in refused.stderr and "storage.emptyVolume" in refused.stderr


def test_the_catch_up_backs_up_when_the_timeline_has_no_backup() -> None:
    listing = json.dumps(
        [
            {
                "backup_name": "base_000000010000000000000004",
                "start_time": "2026-12-01T00:00:00Z",
                "finish_time": "2026-12-01T00:01:00Z",
                "start_lsn": 1,
                "finish_lsn": 2,
                "wal_file_name": "000000010000000000000004",
            }
        ]
    )
    on_one = runtime("backup-needed", {names.PGPITR_PRIMARY_TIMELINE: "1"}, listing).stdout
    assert on_one.startswith("no:")
    assert runtime("backup-needed", {names.PGPITR_PRIMARY_TIMELINE: "2"}, listing).stdout.startswith("yes:")
    assert runtime("backup-needed", {names.PGPITR_PRIMARY_TIMELINE: "1"}, "").stdout.startswith("yes:")


def test_a_restore_reads_wal_from_its_backups_location_and_every_later_one(tmp_path: Path) -> None:
    """archive-choose: the backup, its first segment (WAL-G's wal_file_name), and one WAL
    source per location from the backup's on, each with its own settings."""
    archive = manifest(None, KEY_ONE, KEY_TWO)
    listings = tmp_path / "listings"
    listings.mkdir()

    def row(name: str, segment: str, finished: str) -> dict[str, object]:
        return {
            "backup_name": name,
            "wal_file_name": segment,
            "start_time": finished,
            "finish_time": finished,
            "start_lsn": 1,
            "finish_lsn": 2,
        }

    (listings / "1.json").write_text(
        json.dumps([row("base_000000010000000000000003", "000000010000000000000003", "2026-11-01T00:00:00Z")])
    )
    (listings / "2.json").write_text(
        json.dumps([row("base_000000010000000000000009", "000000010000000000000009", "2026-11-10T00:00:00Z")])
    )
    state = tmp_path / "state"
    env = {
        names.PGPITR_SOURCE_ARCHIVE: ARCHIVE,
        names.PGPITR_ENCRYPTION_METHOD: "libsodium",
        names.PGPITR_ENCRYPTION_KEY_SOURCE: "key-two",
        names.PGPITR_KEYS_DIR: "/keys",
        names.PGPITR_LISTINGS_DIR: str(listings),
        names.PGPITR_ARCHIVE_STATE_DIR: str(state),
        names.PGPITR_RECOVERY_TARGET_KIND: "time",
        names.PGPITR_RECOVERY_TARGET_VALUE: "2026-11-05T00:00:00Z",
    }
    chosen = runtime("archive-choose", env, archive.to_json())
    assert chosen.returncode == 0, chosen.stderr
    assert chosen.stdout.split() == ["base_000000010000000000000003", "000000010000000000000003"]
    sources = sorted(path.name for path in state.glob("fetch-*.env"))
    assert sources == ["fetch-1.env", "fetch-2.env", "fetch-3.env"]
    assert f"WALG_S3_PREFIX={ARCHIVE}\n" in (state / "fetch-1.env").read_text()
    assert "/keys/key-one/libsodium-key" in (state / "fetch-2.env").read_text()
    assert "WALG_LIBSODIUM_KEY_PATH" not in (state / "fetch-3.env").read_text(), "the configured key, as it is"
