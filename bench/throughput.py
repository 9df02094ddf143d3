"""Archiving throughput: pgbench as fast as the primary goes (2 clients, no rate limit)
for a while, the shipped archive_command (WAL-G alone) archiving behind it, sampled every
second: WAL written, segments archived and the `.ready` backlog. Archiving sustains the
load when the backlog does not grow; then `archive_mb_s` is the primary's WAL rate (a
lower bound of what archiving could do), otherwise it is the most archiving did.

Two loads (bench.workloads): the batched tpcb-like script (pgbench's highly compressible
rows) and rows of md5 text (about half as compressible, as realistic data tends to be)."""

from __future__ import annotations

import statistics
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import wal, workloads
from bench.primary import BenchPrimary
from bench.progress import log
from bench.stats import rate
from drill import postgres
from harness import processes
from harness.processes import HarnessError

SAMPLE_SECONDS = 1.0
GROWTH_SEGMENTS = 2.0
"""The backlog grows when its mean over the last quarter of the run exceeds its mean over
the first quarter by more than this."""
SAMPLE_QUERY = """
SELECT (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::bigint,
       (SELECT count(*) FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready'),
       archived_count
FROM pg_stat_archiver
"""


@dataclass(frozen=True)
class Sample:
    at: float
    lsn: int
    ready: int
    archived: int


@dataclass
class ArchiveSampler:
    dsn: str
    samples: list[Sample] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        with postgres.connect(self.dsn) as conn:
            while not self._stop.is_set():
                row = conn.execute(SAMPLE_QUERY).fetchone()
                assert row is not None
                self.samples.append(Sample(time.monotonic(), int(str(row[0])), int(str(row[1])), int(str(row[2]))))
                self._stop.wait(SAMPLE_SECONDS)

    def stop(self) -> None:
        self._stop.set()


def ready_count(primary: BenchPrimary) -> int:
    return int(
        postgres.scalar(primary.dsn(), "SELECT count(*) FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready'")
    )


def summarise(samples: list[Sample], segment_size: int) -> dict[str, Any]:
    if len(samples) < 4:
        raise HarnessError("too few samples for an archiving throughput: run it for longer")
    first, last = samples[0], samples[-1]
    seconds = last.at - first.at
    quarter = max(1, len(samples) // 4)
    growth = statistics.mean(s.ready for s in samples[-quarter:]) - statistics.mean(s.ready for s in samples[:quarter])
    return {
        "seconds": round(seconds, 1),
        "wal_mb_s": rate(last.lsn - first.lsn, seconds),
        "archive_mb_s": rate((last.archived - first.archived) * segment_size, seconds),
        "backlog_start": first.ready,
        "backlog_end": last.ready,
        "backlog_max": max(s.ready for s in samples),
        "backlog_growth": round(growth, 1),
        "keeps_up": growth <= GROWTH_SEGMENTS,
    }


def one_load(primary: BenchPrimary, seconds: int, pgbench_args: list[str], segment_size: int) -> dict[str, Any]:
    wal.wait_archived(primary)
    failures = wal.archive_failures(primary)
    sampler = ArchiveSampler(primary.dsn())
    thread = threading.Thread(target=sampler.run, daemon=True)
    thread.start()
    try:
        primary.pgbench("-c", "2", "-T", str(seconds), "-n", *pgbench_args, timeout=seconds + 600)
    finally:
        sampler.stop()
        thread.join(timeout=10)
    result = summarise(sampler.samples, segment_size)
    result["archive_failures"] = wal.archive_failures(primary) - failures
    # What is left is archived before the next measurement; how long that takes is telling too.
    started = time.monotonic()
    try:
        processes.wait_for(lambda: ready_count(primary) == 0, max(120, seconds), "the archive backlog to drain", 1)
        result["drain_s"] = round(time.monotonic() - started, 1)
    except HarnessError:
        result["drain_s"] = None
    return result


def measure_throughput(primary: BenchPrimary, seconds: int, work: Path) -> dict[str, Any]:
    segment_size = int(
        postgres.scalar(primary.dsn(), "SELECT setting FROM pg_settings WHERE name = 'wal_segment_size'")
    )
    log(f"archiving throughput: {seconds}s of batched tpcb-like pgbench at full speed")
    results = {"batched": one_load(primary, seconds, workloads.script(work, "batched"), segment_size)}
    with postgres.connect(primary.dsn()) as conn:
        conn.execute(f"CREATE TABLE {workloads.MD5_TABLE} (id bigserial PRIMARY KEY, payload text NOT NULL)")
    try:
        log(f"archiving throughput: {seconds}s of md5 text at full speed")
        results["md5_text"] = one_load(primary, seconds, workloads.script(work, "md5_text"), segment_size)
    finally:
        with postgres.connect(primary.dsn()) as conn:
            conn.execute(f"DROP TABLE {workloads.MD5_TABLE}")
    return results
