"""python -m bench [--scale N]: one run of every measurement, written to bench/results.*

1. Backup: WAL-G (the backup job's script, shipped defaults), pgBackRest full backup
   (same compression, 2 processes), and the raw limit (tar | lz4 | one upload).
2. Restore: fetch plus replay of the same WAL to the same time target, WAL-G and
   pgBackRest; the raw limit (download | lz4 -d | untar, nothing to replay).
3. RPO: steady pgbench load; the worst delay between a commit and its segment in storage.
4. Compression: a WAL-G backup with each of lz4, zstd, brotli and lzma.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from bench import measure
from bench.primary import BenchPrimary
from bench.report import write
from bench.rpo import measure_rpo
from bench.storage import TlsStorage
from drill import environment, postgres
from drill.processes import DrillError
from drill.toolchain import ToolchainError, toolchain

ROOT = Path(__file__).resolve().parent.parent
METHODS = ("lz4", "zstd", "brotli", "lzma")


def log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def run(scale: int, work: Path, replay_transactions: int, rpo_seconds: int, rpo_rate: int) -> dict[str, Any]:
    tools = toolchain()
    settings = environment.stack_settings("dev")
    shutil.rmtree(work, ignore_errors=True)
    storage = TlsStorage(work / "s3")
    primary = BenchPrimary(work, tools, storage, settings)
    try:
        storage.start()
        primary.start()
        log(f"pgbench -i -s {scale}")
        primary.pgbench("-i", "-s", str(scale), "-q")
        results: dict[str, Any] = {
            "scale": scale,
            "data_bytes": primary.data_bytes(),
            "archive_timeout_s": settings.archive_timeout,
            "machine": f"{os.cpu_count()} cores, {platform.machine()}, PostgreSQL {tools.pg_major}",
        }
        log("backups")
        results["walg_backup_s"] = measure.walg_backup(primary)
        results["pgbackrest_backup_s"] = measure.pgbackrest_backup(primary)
        results["raw_backup_s"] = measure.raw_backup(primary)

        log(f"{replay_transactions} transactions of WAL to replay")
        primary.pgbench("-c", "2", "-t", str(replay_transactions // 2), "-n")
        with postgres.connect(primary.dsn()) as conn:
            row = conn.execute(
                "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
            ).fetchone()
        assert row is not None
        target = str(row[0])
        primary.pgbench("-c", "1", "-t", "50", "-n")
        with postgres.connect(primary.dsn()) as conn:
            conn.execute("SELECT pg_switch_wal()")
        measure.wait_archived(primary)

        log("restores")
        results["walg_restore_s"] = measure.walg_restore(primary, work / "restore-walg", target)
        measure.remove(work / "restore-walg")
        results["pgbackrest_restore_s"] = measure.pgbackrest_restore(primary, work / "restore-pgbackrest", target)
        measure.remove(work / "restore-pgbackrest")
        results["raw_restore_s"] = measure.raw_restore(primary, work / "restore-raw")
        measure.remove(work / "restore-raw")

        log(f"RPO: {rpo_seconds}s of pgbench at {rpo_rate} tps")
        results["rpo_max_s"] = measure_rpo(primary, rpo_seconds, rpo_rate)

        log("compression")
        results["compression"] = {}
        for method in METHODS:
            seconds, stored = measure.walg_compression_backup(primary, method)
            results["compression"][method] = {"seconds": round(seconds, 2), "bytes": stored}
        results["finished_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        return results
    finally:
        primary.stop()
        storage.stop()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", type=int, default=50, help="pgbench scale (50: about 750 MB)")
    parser.add_argument("--replay-transactions", type=int, default=20000)
    parser.add_argument("--rpo-seconds", type=int, default=180)
    parser.add_argument("--rpo-rate", type=int, default=50, help="transactions per second during the RPO run")
    parser.add_argument("--work", default=str(ROOT / "bench" / "work"))
    parser.add_argument("--out", default=str(ROOT / "bench"))
    args = parser.parse_args(argv)
    try:
        results = run(args.scale, Path(args.work), args.replay_transactions, args.rpo_seconds, args.rpo_rate)
    except (DrillError, ToolchainError, OSError) as error:
        print(f"bench: {error}", file=sys.stderr)
        return 1
    write(results, Path(args.out))
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
