"""The WAL every restore replays: a fixed amount written by pgbench after the backups, a
time target just past it, all of it archived; and, for the limit, the same segments copied
to local disk."""

from __future__ import annotations

from pathlib import Path

from bench import workloads
from bench.primary import BenchPrimary
from bench.stats import MIB
from drill import postgres
from harness import processes
from pgpitr_runtime import names

CHUNK_SECONDS = 2
"""pgbench runs in chunks this long until enough WAL is written (the overshoot is reported)."""
ARCHIVE_TIMEOUT = 3600.0


def lsn(primary: BenchPrimary, expression: str = "pg_current_wal_lsn()") -> int:
    return int(postgres.scalar(primary.dsn(), f"SELECT ({expression} - '0/0'::pg_lsn)::bigint"))


def write_wal(primary: BenchPrimary, megabytes: int, work: Path) -> int:
    """pgbench (2 clients, the batched tpcb-like script) until at least `megabytes` of WAL
    are written; the bytes written."""
    batched = workloads.script(work, "batched")
    start = lsn(primary)
    while lsn(primary) - start < megabytes * MIB:
        primary.pgbench("-c", "2", "-T", str(CHUNK_SECONDS), "-n", *batched)
    return lsn(primary) - start


def archive_failures(primary: BenchPrimary) -> int:
    return int(postgres.scalar(primary.dsn(), "SELECT failed_count FROM pg_stat_archiver"))


def mark_target(primary: BenchPrimary) -> tuple[str, int]:
    """The recovery target: now (RFC 3339, UTC), then a few more commits so that recovery
    stops at the target rather than at the end of the archive; everything archived.
    Returns the target and the last archived LSN."""
    target = postgres.scalar(
        primary.dsn(), "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
    )
    primary.pgbench("-c", "1", "-t", "50", "-n")
    return target, wait_archived(primary)


def wait_archived(primary: BenchPrimary, timeout: float = ARCHIVE_TIMEOUT) -> int:
    """Switches to a new segment and waits until every segment written so far is archived;
    returns the last LSN of the segment switched away from."""
    last = lsn(primary, "pg_switch_wal()") - 1
    segment = postgres.scalar(primary.dsn(), f"SELECT pg_walfile_name('0/0'::pg_lsn + {last})")
    postgres.wait_until_archived(primary.dsn(), segment, timeout)
    return last


def segment_names(timeline: str, first_lsn: int, last_lsn: int, segment_size: int) -> list[str]:
    """WAL file names from the one holding `first_lsn` to the one holding `last_lsn`."""
    per_log = 0x100000000 // segment_size
    return [
        f"{timeline}{number // per_log:08X}{number % per_log:08X}"
        for number in range(first_lsn // segment_size, last_lsn // segment_size + 1)
    ]


def copy_segments(primary: BenchPrimary, first_lsn: int, last_lsn: int, destination: Path) -> int:
    """The archived segments from `first_lsn` to `last_lsn`, fetched once into `destination`
    (not timed: the limit replays from local disk). Returns how many."""
    timeline = postgres.scalar(primary.dsn(), "SELECT pg_walfile_name(pg_current_wal_lsn())")[:8]
    size = int(postgres.scalar(primary.dsn(), "SELECT setting FROM pg_settings WHERE name = 'wal_segment_size'"))
    destination.mkdir(parents=True, exist_ok=True)
    # No prefetch: it would leave WAL-G processes and files behind.
    env = primary.walg_env() | {names.WALG_DOWNLOAD_CONCURRENCY: "1"}
    segments = segment_names(timeline, first_lsn, last_lsn, size)
    for segment in segments:
        processes.run([str(primary.tools.walg), "wal-fetch", segment, str(destination / segment)], env, timeout=300)
    return len(segments)
