"""Recovery point under a steady write load: for every moment sampled, how long until the
WAL segment holding that moment's commits was in storage.

Moments are sampled only while the load runs; arrivals are watched until the segment
written last is archived (archive_timeout switches it), so a segment archived just after
the load ends is seen when it arrives, not when a later one does."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from bench.primary import BenchPrimary
from bench.wal import archive_failures
from drill import postgres
from drill.postgres import segment_number
from harness.processes import HarnessError

SAMPLE_SECONDS = 0.25


@dataclass
class RpoSampler:
    primary: BenchPrimary
    samples: list[tuple[float, str]] = field(default_factory=list)
    """(wall time, WAL segment being written), while `recording`"""
    archived: dict[str, float] = field(default_factory=dict)
    """segment -> first time it was seen as the last archived one"""
    recording: threading.Event = field(default_factory=threading.Event)
    _stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        with postgres.connect(self.primary.dsn()) as conn:
            while not self._stop.is_set():
                row = conn.execute(
                    "SELECT pg_walfile_name(pg_current_wal_insert_lsn()), last_archived_wal FROM pg_stat_archiver"
                ).fetchone()
                now = time.time()
                assert row is not None
                if self.recording.is_set():
                    self.samples.append((now, str(row[0])))
                if row[1] is not None:
                    self.archived.setdefault(str(row[1]), now)
                self._stop.wait(SAMPLE_SECONDS)

    def arrived(self, segment: str) -> bool:
        return any(segment_number(name) >= segment_number(segment) for name in list(self.archived))

    def stop(self) -> None:
        self._stop.set()

    def delays(self) -> list[tuple[float, float, str]]:
        """(delay, sampled at, segment) of every sample. Segments are archived in order, so
        a segment is in storage once it or any later segment was reported archived."""
        archived = sorted(self.archived.items())
        result = []
        for when, segment in self.samples:
            arrival = min(
                (at for name, at in archived if segment_number(name) >= segment_number(segment)), default=None
            )
            if arrival is None:
                raise HarnessError(f"segment {segment} was never archived during the RPO measurement")
            result.append((arrival - when, when, segment))
        return result


def measure_rpo(primary: BenchPrimary, seconds: int, rate: int) -> dict[str, Any]:
    """Steady pgbench load at `rate` transactions/s for `seconds`: the largest
    commit-to-storage delay, and when it happened."""
    sampler = RpoSampler(primary)
    thread = threading.Thread(target=sampler.run, daemon=True)
    sampler.recording.set()
    failures = archive_failures(primary)
    started = time.time()
    thread.start()
    try:
        primary.pgbench("-c", "2", "-R", str(rate), "-T", str(seconds), "-n", timeout=seconds + 600)
        sampler.recording.clear()
        last = postgres.scalar(primary.dsn(), "SELECT pg_walfile_name(pg_current_wal_insert_lsn())")
        postgres.wait_until_archived(primary.dsn(), last, 600)
        # The sampler sees it within one sample.
        time.sleep(2 * SAMPLE_SECONDS)
        if not sampler.arrived(last):
            sampler.archived.setdefault(last, time.time())
    finally:
        sampler.stop()
        thread.join(timeout=10)
    delay, when, segment = max(sampler.delays())
    return {
        "max_s": round(delay, 2),
        "worst_at_s": round(when - started, 1),
        "worst_segment": segment,
        "samples": len(sampler.samples),
        "archive_failures": archive_failures(primary) - failures,
    }
