"""Recovery point under a steady write load: for every moment sampled, how long until the
WAL segment holding that moment's commits was in storage."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from bench.primary import BenchPrimary
from drill import postgres

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
            arrival = min((at for name, at in archived if name[8:] >= segment[8:]), default=None)
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
    # Only moments during the load count; what follows is waiting for the tail to arrive.
    closing = PostgresTail(primary)
    closing.flush()
    sampler.archived.setdefault(closing.last_segment, time.time())
    return sampler.worst_delay()


@dataclass
class PostgresTail:
    primary: BenchPrimary
    last_segment: str = ""

    def flush(self) -> None:
        """Archives the segment being written when the load stopped, as archive_timeout would."""
        with postgres.connect(self.primary.dsn()) as conn:
            row = conn.execute("SELECT pg_walfile_name(pg_current_wal_insert_lsn())").fetchone()
            assert row is not None
            self.last_segment = str(row[0])
        started = time.monotonic()
        while True:
            with postgres.connect(self.primary.dsn()) as conn:
                row = conn.execute("SELECT last_archived_wal FROM pg_stat_archiver").fetchone()
            if row is not None and row[0] is not None and str(row[0])[8:] >= self.last_segment[8:]:
                return
            if time.monotonic() - started > 600:
                raise RuntimeError("the last segment of the load was not archived in 10 minutes")
            time.sleep(SAMPLE_SECONDS)
