"""pgbench scripts the benchmark writes WAL with, besides pgbench's own tpcb-like one.

`batched`: pgbench's tpcb-like transaction over 100 consecutive accounts at once (the same
statements and record types, a hundred times the rows), so that a gigabyte of WAL takes a
minute, not the half hour tpcb-like commits (each waiting for its fsync) take on a small
machine. `md5_text`: 16 rows of 1 KB of md5 hex text per transaction, below the TOAST
threshold (stored as is): about half as compressible as pgbench's rows, as real data tends
to be."""

from __future__ import annotations

from pathlib import Path

BATCHED = """\
\\set aid random(1, 100000 * :scale - 100)
\\set bid random(1, :scale)
\\set tid random(1, 10 * :scale)
\\set delta random(-5000, 5000)
BEGIN;
UPDATE pgbench_accounts SET abalance = abalance + :delta WHERE aid BETWEEN :aid AND :aid + 99;
UPDATE pgbench_tellers SET tbalance = tbalance + :delta WHERE tid = :tid;
UPDATE pgbench_branches SET bbalance = bbalance + :delta WHERE bid = :bid;
INSERT INTO pgbench_history (tid, bid, aid, delta, mtime)
  SELECT :tid, :bid, a, :delta, CURRENT_TIMESTAMP FROM generate_series(:aid, :aid + 99) a;
END;
"""
MD5_TABLE = "pgpitr_bench_md5"
MD5_TEXT = (
    f"INSERT INTO {MD5_TABLE} (payload) SELECT string_agg(md5(random()::text), '')"
    " FROM generate_series(1, 32) s, generate_series(1, 16) g GROUP BY g;\n"
)
SCRIPTS = {"batched": BATCHED, "md5_text": MD5_TEXT}


def script(directory: Path, name: str) -> list[str]:
    """pgbench arguments running script `name`, written into `directory`."""
    path = directory / f"{name}.pgbench"
    directory.mkdir(parents=True, exist_ok=True)
    path.write_text(SCRIPTS[name])
    return ["-f", str(path)]
