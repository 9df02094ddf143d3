"""A steady write load that remembers every acknowledged commit, so a fault test can
account for each one after a restore."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import psycopg

TABLE = "pgpitr_acked_commits"


@dataclass
class AckedWriter:
    """Inserts one row per transaction in a background thread. `acknowledged` holds the
    ids whose COMMIT returned; `in_flight` the id of a transaction that was sent but not
    acknowledged when the server went away (it may or may not have committed)."""

    dsn: str
    interval: float = 0.05
    acknowledged: list[int] = field(default_factory=list)
    in_flight: set[int] = field(default_factory=set)
    errors: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _gate: threading.Lock = field(default_factory=threading.Lock)
    _thread: threading.Thread | None = None
    first_id: int = 1
    """This writer's first id: rows below it were written before it started."""

    def create_table(self) -> None:
        """The table, and ids after any a writer before this one left there."""
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            conn.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} (id bigint PRIMARY KEY, at timestamptz NOT NULL)")
            row = conn.execute(f"SELECT coalesce(max(id), 0) FROM {TABLE}").fetchone()
        self.first_id = int(str(row[0] if row else 0)) + 1

    def start(self) -> None:
        self.create_table()
        self._thread = threading.Thread(target=self._run, name="acked-writer", daemon=True)
        self._thread.start()

    def _next_id(self) -> int:
        return max([self.first_id - 1, *self.acknowledged, *self.in_flight]) + 1

    def _run(self) -> None:
        conn: psycopg.Connection[tuple[object, ...]] | None = None
        while not self._stop.is_set():
            with self._gate:
                try:
                    if conn is None or conn.closed:
                        conn = psycopg.connect(self.dsn, autocommit=True, connect_timeout=2)
                    row_id = self._next_id()
                    self.in_flight.add(row_id)
                    conn.execute(f"INSERT INTO {TABLE} VALUES (%s, clock_timestamp())", [row_id])
                    self.in_flight.discard(row_id)
                    self.acknowledged.append(row_id)
                except psycopg.Error as error:
                    self.errors.append(str(error).splitlines()[0])
                    conn = None
            time.sleep(self.interval)
        if conn is not None:
            conn.close()

    def pause(self) -> threading.Lock:
        """Holds the writer between transactions: `with writer.pause(): ...`."""
        return self._gate

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def count(self) -> int:
        return len(self.acknowledged)
