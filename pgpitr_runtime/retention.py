"""Retention: keep at least N full backups *and* everything needed to recover to any
point of the last D days, and turn that into one WAL-G delete command.

`wal-g delete retain N` counts backups, not days (the article's mistake), and every
`delete` is a dry run without `--confirm`. The oldest backup to keep is the older of

* the N-th newest full backup (the count rule), and
* the newest full backup that finished at or before now - D days (the window rule:
  recovering to the first moment of the window replays from that backup).

Everything older than it, with the WAL before it, goes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pgpitr_runtime import names
from pgpitr_runtime.backups import Backup
from pgpitr_runtime.recovery import parse_time


@dataclass(frozen=True)
class RetentionPolicy:
    full_backups: int
    days: int

    def __post_init__(self) -> None:
        if self.full_backups < 1:
            raise ValueError("retention must keep at least 1 full backup")
        if self.days < 1:
            raise ValueError("retention window must be at least 1 day")


@dataclass(frozen=True)
class RetentionPlan:
    keep_from: Backup | None
    """Oldest backup kept; None when nothing can be deleted yet."""
    reason: str
    delete_args: tuple[str, ...]
    """Arguments after `wal-g delete`, empty when there is nothing to delete."""


def plan_retention(backups: list[Backup], policy: RetentionPolicy, now: datetime) -> RetentionPlan:
    fulls = sorted((b for b in backups if b.is_full), key=lambda b: b.sort_key)
    if len(fulls) <= policy.full_backups:
        return RetentionPlan(None, f"{len(fulls)} full backups, keeping at least {policy.full_backups}", ())
    count_keep = fulls[-policy.full_backups]
    cutoff = now - timedelta(days=policy.days)
    before_cutoff = [b for b in fulls if b.finish_time <= cutoff]
    if not before_cutoff:
        return RetentionPlan(
            None, f"no full backup finished before {cutoff.isoformat()}; the window needs them all", ()
        )
    window_keep = before_cutoff[-1]
    if window_keep.sort_key < count_keep.sort_key:
        keep, reason = window_keep, f"newest full backup before the {policy.days}-day window"
        args: tuple[str, ...] = ("before", "FIND_FULL", keep.name, "--confirm")
    else:
        keep, reason = count_keep, f"{policy.full_backups} newest full backups"
        args = ("retain", "FULL", str(policy.full_backups), "--confirm")
    if all(b.sort_key >= keep.sort_key for b in backups):
        return RetentionPlan(keep, reason + "; nothing older to delete", ())
    return RetentionPlan(keep, reason, args)


@dataclass(frozen=True)
class LocationDeletion:
    """One `wal-g delete` in one location of an archive (pgpitr_runtime.archive)."""

    location: int
    args: tuple[str, ...]
    reason: str


def plan_archive_retention(
    listings: Mapping[int, list[Backup]], policy: RetentionPolicy, now: datetime
) -> tuple[RetentionPlan, list[LocationDeletion]]:
    """Retention over every location of an archive, as if their backups were one list
    (they are one database's, in order): in the location of the oldest backup kept,
    everything older than it; every earlier location entirely, since what it holds is
    older still, unless it holds a permanent backup (`wal-g backup-mark`), which is kept
    with its location."""
    backups = [backup for number in sorted(listings) for backup in listings[number]]
    plan = plan_retention(backups, policy, now)
    keep = plan.keep_from
    if keep is None or not plan.delete_args:
        return plan, []
    kept_in = next(number for number in sorted(listings) if keep in listings[number])
    deletions = []
    for number in sorted(listings):
        if number < kept_in:
            pinned = [backup.name for backup in listings[number] if backup.permanent]
            if pinned:
                continue
            deletions.append(
                LocationDeletion(
                    number, ("everything", "--confirm"), f"all of it is older than {keep.name} (location {kept_in})"
                )
            )
        elif number == kept_in:
            deletions.append(LocationDeletion(number, ("before", "FIND_FULL", keep.name, "--confirm"), plan.reason))
    return plan, deletions


def evaluation_time(env: Mapping[str, str]) -> datetime:
    """Now, or PGPITR_RETENTION_AS_OF (drills and tests evaluate retention at another time)."""
    as_of = env.get(names.PGPITR_RETENTION_AS_OF)
    return parse_time(as_of) if as_of else datetime.now(UTC)
