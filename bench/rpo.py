"""Recovery point under a steady write load: for every moment sampled, how long until the
WAL segment holding that moment's commits was in storage."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from bench.primary import BenchPrimary
from drill import postgres
from drill.postgres import segment_number

SAMPLE_SECONDS = 0.25


@dataclass
class RpoSampler:
    primary: BenchPrimary
    samples: list[tuple[float, str]] = field(default_factory=list)
    """(wall time, WAL segment being written)"""
    archived: dict[str, float] = field(default_factory=dict)
    """segment -> first time it was seen as the last archived one"""
    _stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        with postgres.connect(self.primary.dsn()) as conn:
            while not self._stop.is_set():
                row = conn.execute(
                    "SELECT pg_walfile_name(pg_current_wal_insert_lsn()), last_archived_wal FROM pg_stat_archiver"
                ).fetchone()
                now = time.time()
                assert row is not None
                self.samples.append((now, str(row[0])))
                if row[1] is not None:
                    self.archived.setdefault(str(row[1]), now)
                time.sleep(SAMPLE_SECONDS)

    def stop(self) -> None:
        self._stop.set()

    def worst_delay(self) -> float:
        """Segments are archived in order, so a segment is in storage once it or any later
        segment was reported archived."""
        archived = sorted(self.archived.items())
        worst = 0.0
        for when, segment in self.samples:
            arrival = min(
                (at for name, at in archived if segment_number(name) >= segment_number(segment)), default=None
            )
            if arrival is None:
                raise RuntimeError(f"segment {segment} was never archived during the measurement")
            worst = max(worst, arrival - when)
        return worst


def measure_rpo(primary: BenchPrimary, seconds: int, rate: int) -> float:
    """Steady pgbench load at `rate` transactions/s for `seconds`; the largest commit-to-storage delay."""
    sampler = RpoSampler(primary)
    thread = threading.Thread(target=sampler.run, daemon=True)
    thread.start()
    primary.pgbench("-c", "2", "-R", str(rate), "-T", str(seconds), "-n")
    sampler.stop()
    thread.join(timeout=10)
    # Only moments during the load count. The segment being written when it stopped is
    # archived by archive_timeout, as in production: wait for it, then note when it came.
    last = postgres.scalar(primary.dsn(), "SELECT pg_walfile_name(pg_current_wal_insert_lsn())")
    postgres.wait_until_archived(primary.dsn(), last, 600)
    sampler.archived.setdefault(last, time.time())
    return sampler.worst_delay()
