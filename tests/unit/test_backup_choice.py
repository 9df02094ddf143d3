"""Choosing the base backup for a recovery target from `wal-g backup-list --detail --json`."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from pgpitr_runtime.backups import Backup, BackupChoiceError, choose_backup, parse_backup_list
from pgpitr_runtime.recovery import RecoveryInputError, RecoveryTarget, parse_lsn

T0 = datetime(2026, 2, 9, 10, 0, tzinfo=UTC)


def backup_row(name: str, finish: datetime, finish_lsn: str, minutes: int = 5) -> dict[str, object]:
    """One row as WAL-G prints it (Go's RFC 3339 with nanoseconds)."""
    start = finish - timedelta(minutes=minutes)
    return {
        "backup_name": name,
        "time": finish.isoformat(),
        "wal_file_name": name.removeprefix("base_"),
        "start_time": start.strftime("%Y-%m-%dT%H:%M:%S.123456789Z"),
        "finish_time": finish.strftime("%Y-%m-%dT%H:%M:%S.987654321Z"),
        "start_lsn": parse_lsn(finish_lsn) - 0x1000000,
        "finish_lsn": parse_lsn(finish_lsn),
        "is_permanent": False,
    }


B1 = "base_000000010000000000000002"
B2 = "base_000000010000000000000009"
B3 = "base_000000010000000000000011"
LISTING = json.dumps(
    [
        backup_row(B2, T0 + timedelta(hours=1), "0/9000100"),
        backup_row(B1, T0, "0/2000100"),
        backup_row(B3, T0 + timedelta(hours=2), "0/11000100"),
    ]
)


def backups() -> list[Backup]:
    return parse_backup_list(LISTING)


def test_parse_sorts_oldest_first_and_keeps_nanosecond_times() -> None:
    parsed = backups()
    assert [b.name for b in parsed] == [B1, B2, B3]
    assert parsed[0].finish_time == datetime(2026, 2, 9, 10, 0, 0, 987654, tzinfo=UTC)


def test_empty_listing() -> None:
    assert parse_backup_list("") == [] and parse_backup_list("null") == []
    with pytest.raises(BackupChoiceError, match="no base backup"):
        choose_backup([], RecoveryTarget.parse("latest", None))


def time_target(value: str) -> RecoveryTarget:
    return RecoveryTarget.parse("time", value)


def test_time_between_backups_picks_the_newest_finished_before() -> None:
    assert choose_backup(backups(), time_target("2026-02-09T11:30:00Z")).name == B2


def test_time_in_another_zone_is_compared_as_an_instant() -> None:
    # 12:30+02:00 is 10:30Z: only B1 had finished.
    assert choose_backup(backups(), time_target("2026-02-09T12:30:00+02:00")).name == B1
    assert choose_backup(backups(), time_target("2026-02-09T05:30:00-05:00")).name == B1
    assert choose_backup(backups(), time_target("2026-02-09T07:30:00-05:00")).name == B3


def test_time_before_the_oldest_backup_is_an_error() -> None:
    with pytest.raises(BackupChoiceError, match="before the oldest backup"):
        choose_backup(backups(), time_target("2026-02-09T09:00:00Z"))


def test_time_exactly_at_a_backup_finish_uses_that_backup() -> None:
    finish = backups()[1].finish_time
    assert choose_backup(backups(), RecoveryTarget("time", finish.isoformat())).name == B2
    just_before = (finish - timedelta(microseconds=1)).isoformat()
    assert choose_backup(backups(), RecoveryTarget("time", just_before)).name == B1


def test_ties_on_finish_time_go_to_the_higher_lsn() -> None:
    same = T0 + timedelta(hours=1)
    rows = [backup_row(B1, same, "0/2000100"), backup_row(B2, same, "0/9000100")]
    chosen = choose_backup(parse_backup_list(json.dumps(rows)), time_target("2026-02-09T12:00:00Z"))
    assert chosen.name == B2


def test_lsn_target_uses_finish_lsn() -> None:
    assert choose_backup(backups(), RecoveryTarget.parse("lsn", "0/A000000")).name == B2
    assert choose_backup(backups(), RecoveryTarget.parse("lsn", "0/9000100")).name == B2
    assert choose_backup(backups(), RecoveryTarget.parse("lsn", "0/90000FF")).name == B1
    with pytest.raises(BackupChoiceError, match="before the end of the oldest backup"):
        choose_backup(backups(), RecoveryTarget.parse("lsn", "0/1000000"))


@pytest.mark.parametrize(
    ("kind", "value"), [("xid", "1234"), ("name", "before-migration"), ("latest", None), ("immediate", None)]
)
def test_other_targets_use_the_newest_backup(kind: str, value: str | None) -> None:
    assert choose_backup(backups(), RecoveryTarget.parse(kind, value)).name == B3


def test_explicit_latest_and_names() -> None:
    target = time_target("2026-02-09T10:30:00Z")
    assert choose_backup(backups(), target, "LATEST").name == B3
    assert choose_backup(backups(), target, B2).name == B2
    with pytest.raises(BackupChoiceError, match="not in the archive"):
        choose_backup(backups(), target, "base_00000001000000000000000F")
    with pytest.raises(RecoveryInputError, match="not a backup"):
        choose_backup(backups(), target, "newest")


def test_target_time_needs_an_offset() -> None:
    with pytest.raises(RecoveryInputError, match="no timezone offset"):
        time_target("2026-02-09 12:00:00")
    assert time_target("2026-02-09 12:00:00+05:30").time.utcoffset() == timedelta(hours=5, minutes=30)
    assert time_target("2026-02-09T12:00:00Z").time.tzinfo is not None
    assert time_target("2026-02-09T12:00:00Z").time == datetime(2026, 2, 9, 12, tzinfo=UTC)
