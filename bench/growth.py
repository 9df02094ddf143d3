"""Backup and restore at one database size: `runs` rounds of the three backups (WAL-G,
pgBackRest, the limit), then a fixed amount of WAL, then `runs` rounds of the three
restores of the newest backups to the same time target, replaying that same WAL.

The backups of a round are taken one after the other with no load: the limit's, then
pgBackRest's, then WAL-G's. Every restore replays the same pgbench WAL; the earlier
backups' restores also replay the few, nearly empty, segments the later backups switched
away from (`wal_from_backup_mb` says how much WAL, in LSN distance, each replays): next to
nothing for the limit (local copies), a few segment fetches for pgBackRest (queued ahead
by its asynchronous archive-get)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import backups, limits, restores, wal
from bench.primary import BenchPrimary
from bench.progress import log
from bench.restores import RestoreTiming
from bench.stats import MIB, rate, summary

TOOLS = ("walg", "pgbackrest", "raw")
LABELS = {"walg": "WAL-G", "pgbackrest": "pgBackRest", "raw": "the limit"}


def measure_scale(primary: BenchPrimary, scale: int, runs: int, replay_wal_mb: int, work: Path) -> dict[str, Any]:
    log(f"scale {scale}: pgbench -i -s {scale}, archived")
    primary.pgbench("-i", "-s", str(scale), "-q")
    wal.wait_archived(primary)
    data_bytes = primary.data_bytes()

    backup_s: dict[str, list[float]] = {tool: [] for tool in TOOLS}
    started_at: dict[str, int] = {}
    raw = None
    for run in range(1, runs + 1):
        log(f"scale {scale}, run {run}/{runs}: the limit's backup")
        raw = limits.raw_backup(primary)
        started_at["raw"] = raw.start_lsn
        backup_s["raw"].append(raw.seconds)
        log(f"scale {scale}, run {run}/{runs}: pgBackRest backup")
        started_at["pgbackrest"] = wal.lsn(primary)
        backup_s["pgbackrest"].append(backups.pgbackrest_backup(primary))
        log(f"scale {scale}, run {run}/{runs}: WAL-G backup")
        started_at["walg"] = wal.lsn(primary)
        backup_s["walg"].append(backups.walg_backup(primary))
    assert raw is not None

    log(f"scale {scale}: {replay_wal_mb} MB of pgbench WAL (batched tpcb-like) to replay, archived")
    replay_wal_bytes = wal.write_wal(primary, replay_wal_mb, work)
    target, last_lsn = wal.mark_target(primary)
    local_wal = work / "local-wal"
    try:
        log(f"scale {scale}: the same WAL copied to local disk for the limit")
        wal.copy_segments(primary, raw.start_lsn, last_lsn, local_wal)
        restore_runs = restore_rounds(primary, scale, runs, work, target, local_wal)
    finally:
        shutil.rmtree(local_wal, ignore_errors=True)

    return {
        "scale": scale,
        "data_bytes": data_bytes,
        "raw_backup_bytes": raw.stored_bytes,
        "replay_wal_bytes": replay_wal_bytes,
        "wal_from_backup_mb": {tool: round((last_lsn - lsn) / MIB, 1) for tool, lsn in started_at.items()},
        "target_time": target,
        "backup_s": {tool: summary(values) for tool, values in backup_s.items()},
        "restore_s": {
            tool: {
                "fetch": summary([t.fetch_s for t in timings]),
                "replay": summary([t.replay_s for t in timings]),
                "total": summary([t.total_s for t in timings]),
            }
            for tool, timings in restore_runs.items()
        },
        "raw_backup_upload_mb_s": rate(raw.stored_bytes, summary(backup_s["raw"])["median"]),
    }


def restore_rounds(
    primary: BenchPrimary, scale: int, runs: int, work: Path, target: str, local_wal: Path
) -> dict[str, list[RestoreTiming]]:
    restore: dict[str, Callable[[Path], RestoreTiming]] = {
        "walg": lambda base: restores.walg_restore(primary, base, target),
        "pgbackrest": lambda base: restores.pgbackrest_restore(primary, base, target),
        "raw": lambda base: limits.raw_restore(primary, base, target, local_wal),
    }
    timings: dict[str, list[RestoreTiming]] = {tool: [] for tool in TOOLS}
    for run in range(1, runs + 1):
        for tool in TOOLS:
            log(f"scale {scale}, run {run}/{runs}: {LABELS[tool]}'s restore")
            base = work / f"restore-{tool}"
            shutil.rmtree(base, ignore_errors=True)
            try:
                timings[tool].append(restore[tool](base))
            finally:
                shutil.rmtree(base, ignore_errors=True)
    return timings
