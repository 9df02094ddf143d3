"""Base backups as `wal-g backup-list --detail --json` reports them, and which to restore.

Recovery only moves forward from a base backup, so a target earlier than the newest
backup needs the newest backup that *finished* at or before the target.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from pgpitr_runtime.recovery import RecoveryInputError, RecoveryTarget, format_lsn

BACKUP_NAME = re.compile(r"^base_[0-9A-F]{24}(_D_[0-9A-F]{24})?$")
AUTO: Final = "auto"
LATEST: Final = "LATEST"


class BackupChoiceError(ValueError):
    """No backup can serve the requested target."""


@dataclass(frozen=True)
class Backup:
    name: str
    start_time: datetime
    finish_time: datetime
    start_lsn: int
    finish_lsn: int
    permanent: bool = False
    wal_file_name: str = ""
    """The WAL segment the backup starts in (WAL-G's `wal_file_name`)."""
    system_identifier: str = ""
    """The database it is a backup of (WAL-G's `system_identifier`; empty if not recorded)."""

    @property
    def is_full(self) -> bool:
        return "_D_" not in self.name

    @property
    def start_segment(self) -> str:
        """The first WAL segment a restore of this backup needs; WAL-G names backups after it."""
        return self.wal_file_name or self.name.removeprefix("base_")[:24]

    @property
    def sort_key(self) -> tuple[datetime, int, str]:
        """Newest last; ties on finish time are broken by LSN, then name."""
        return (self.finish_time, self.finish_lsn, self.name)


def _time(raw: Any, field: str, name: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"backup {name}: {field} {raw!r} is not a time") from None
    if parsed.tzinfo is None:
        raise ValueError(f"backup {name}: {field} {raw!r} has no timezone")
    return parsed


def _trim_nanoseconds(raw: str) -> str:
    # Go prints up to 9 fractional digits; Python's fromisoformat takes at most 6.
    return re.sub(r"(\.\d{6})\d+", r"\1", raw)


def parse_backup_list(text: str) -> list[Backup]:
    """Backups from `wal-g backup-list --detail --json`, oldest first."""
    text = text.strip()
    if not text:
        return []
    rows = json.loads(text)
    if rows is None:
        return []
    backups = []
    for row in rows:
        name = row["backup_name"]
        backups.append(
            Backup(
                name=name,
                start_time=_time(_trim_nanoseconds(str(row["start_time"])), "start_time", name),
                finish_time=_time(_trim_nanoseconds(str(row["finish_time"])), "finish_time", name),
                start_lsn=int(row["start_lsn"]),
                finish_lsn=int(row["finish_lsn"]),
                permanent=bool(row.get("is_permanent", False)),
                wal_file_name=str(row.get("wal_file_name") or ""),
                system_identifier=str(row.get("system_identifier") or ""),
            )
        )
    return sorted(backups, key=lambda b: b.sort_key)


def check_backup_request(value: str) -> str:
    """`auto`, `LATEST` or a WAL-G backup name such as base_000000010000000000000004."""
    if value in (AUTO, LATEST) or BACKUP_NAME.match(value):
        return value
    raise RecoveryInputError(
        f"{value!r} is not a backup: use auto, LATEST or a name like base_000000010000000000000004"
    )


def choose_backup(backups: list[Backup], target: RecoveryTarget, requested: str = AUTO) -> Backup:
    """The backup to fetch for `target`.

    `auto` picks the newest backup that finished at or before a time or LSN target,
    and the newest backup otherwise (xid and restore-point positions are not known
    before replay). An explicit name must exist.
    """
    check_backup_request(requested)
    if not backups:
        raise BackupChoiceError("the archive holds no base backup")
    ordered = sorted(backups, key=lambda b: b.sort_key)
    if requested not in (AUTO, LATEST):
        for backup in ordered:
            if backup.name == requested:
                return backup
        raise BackupChoiceError(
            f"backup {requested} is not in the archive; it has {', '.join(b.name for b in ordered)}"
        )
    if requested == LATEST or target.kind not in ("time", "lsn"):
        return ordered[-1]
    if target.kind == "time":
        when = target.time
        eligible = [b for b in ordered if b.finish_time <= when]
        if not eligible:
            oldest = ordered[0]
            raise BackupChoiceError(
                f"target time {when.isoformat()} is before the oldest backup"
                f" ({oldest.name}, finished {oldest.finish_time.isoformat()})"
            )
    else:
        lsn = target.lsn
        eligible = [b for b in ordered if b.finish_lsn <= lsn]
        if not eligible:
            oldest = ordered[0]
            raise BackupChoiceError(
                f"target LSN {format_lsn(lsn)} is before the end of the oldest backup"
                f" ({oldest.name}, ends at {format_lsn(oldest.finish_lsn)})"
            )
    return eligible[-1]


def choose_across(
    listings: Mapping[int, list[Backup]], target: RecoveryTarget, requested: str = AUTO
) -> tuple[int, Backup]:
    """`choose_backup` over every location of an archive (their backups are one
    database's, in order); returns the chosen backup's location with it."""
    backups = [backup for number in sorted(listings) for backup in listings[number]]
    chosen = choose_backup(backups, target, requested)
    number = next(number for number in sorted(listings) if chosen in listings[number])
    return number, chosen
