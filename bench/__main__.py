"""python -m bench: every benchmark measurement in one run, written to --out as
results.json, results.md and results.png. Each timing is the median of --runs runs.

1. Storage: a plain multipart upload and download of a --storage-mb file.
2. Growth, at each of --scales: backups (WAL-G's backup job script with the shipped
   defaults, pgBackRest full, the limit: tar | lz4 | one upload; all with a fast
   checkpoint), then --replay-wal-mb of pgbench WAL, then restores to a time target just
   past it (WAL-G's init script + recovery through the shipped restore_command,
   pgBackRest, the limit: download | lz4 -d | untar + replay from local disk), fetch and
   replay timed apart.
3. Compression (at the largest scale): WAL-G backup and fetch with lz4, zstd, brotli, lzma.
4. RPO: --rpo-seconds of pgbench at --rpo-rate tps, the shipped archive_command and
   archiveTimeout; the worst delay between a commit and its segment in storage.
5. Archiving throughput: --throughput-seconds of pgbench at full speed, then as long of
   md5 text: the WAL rate archiving sustains without the .ready backlog growing.
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

from bench.compression import measure_compression
from bench.growth import measure_scale
from bench.primary import BenchPrimary
from bench.progress import elapsed, log
from bench.report import write
from bench.results import headline
from bench.rpo import measure_rpo
from bench.storage import STORAGE_SERVERS, storage_server
from bench.storage_speed import measure_storage
from bench.throughput import measure_throughput
from bench.wal import wait_archived
from drill import environment
from harness.paths import REPOSITORY_ROOT as ROOT
from harness.processes import HarnessError, exit_cleanly_on_sigterm
from harness.toolchain import ToolchainError, toolchain
from pgpitr.versions import DEFAULT_WALG_VERSION

CHECKPOINT = (
    "fast (immediate) for all three: WAL-G remote BASE_BACKUP sends FAST, pgBackRest start-fast=y,"
    " the limit pg_backup_start(fast => true); a CHECKPOINT (not timed) before each"
)


def run(args: argparse.Namespace, scales: list[int], work: Path) -> dict[str, Any]:
    tools = toolchain()
    settings = environment.stack_settings("dev")
    shutil.rmtree(work, ignore_errors=True)
    storage = storage_server(args.storage, work / "s3")
    primary = BenchPrimary(work, tools, storage, settings)
    try:
        log(f"starting the S3 server: {storage.name}")
        storage.start()
        storage_speed = measure_storage(storage, args.storage_mb, args.runs, work)
        log("starting the primary")
        primary.start()
        growth = [measure_scale(primary, scale, args.runs, args.replay_wal_mb, work) for scale in scales]
        compression = measure_compression(primary, args.runs, work)
        primary.use_shipped_archiving()
        wait_archived(primary)
        log(f"RPO: {args.rpo_seconds}s of pgbench at {args.rpo_rate} tps, shipped archiving")
        rpo = measure_rpo(primary, args.rpo_seconds, args.rpo_rate)
        archiving = measure_throughput(primary, args.throughput_seconds, work)
    finally:
        primary.stop()
        storage.stop()
    return {
        **headline(growth[-1]),
        "rpo_max_s": rpo["max_s"],
        "archive_timeout_s": settings.archive_timeout,
        "compression": compression,
        "archive_mb_s": archiving["batched"]["archive_mb_s"],
        "archive_md5_text_mb_s": archiving["md5_text"]["archive_mb_s"],
        "storage_upload_mb_s": storage_speed["upload_mb_s"],
        "storage_download_mb_s": storage_speed["download_mb_s"],
        "growth": growth,
        "rpo": rpo,
        "archiving": archiving,
        "storage": storage_speed,
        "storage_server": storage.name,
        "checkpoint": CHECKPOINT,
        "runs": args.runs,
        "replay_wal_mb": args.replay_wal_mb,
        "rpo_seconds": args.rpo_seconds,
        "rpo_rate_tps": args.rpo_rate,
        "walg_version": DEFAULT_WALG_VERSION,
        "machine": f"{os.cpu_count()} cores, {platform.machine()}, PostgreSQL {tools.pg_major}",
        "duration_s": round(elapsed()),
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scales", default="10,50,150", help="pgbench scales, comma-separated (50: about 750 MB)")
    parser.add_argument("--runs", type=int, default=3, help="runs of every timing; the median is reported")
    parser.add_argument("--replay-wal-mb", type=int, default=1024, help="WAL each restore replays")
    parser.add_argument("--rpo-seconds", type=int, default=180)
    parser.add_argument("--rpo-rate", type=int, default=50, help="transactions per second during the RPO run")
    parser.add_argument("--throughput-seconds", type=int, default=300, help="length of each archiving load")
    parser.add_argument(
        "--storage",
        choices=STORAGE_SERVERS,
        default=STORAGE_SERVERS[0],
        help="the S3 server: SeaweedFS (built once, cached under .tools/) or moto (slow: one Python thread)",
    )
    parser.add_argument("--storage-mb", type=int, default=1024, help="size of the storage throughput test file")
    parser.add_argument("--work", default=str(ROOT / "bench" / "work"), help="scratch directory, removed at the end")
    parser.add_argument("--keep-work", action="store_true", help="leave the scratch directory for inspection")
    parser.add_argument("--out", default=str(ROOT / "bench"))
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    exit_cleanly_on_sigterm()
    args = parse_args(argv)
    try:
        scales = sorted(int(scale) for scale in args.scales.split(","))
    except ValueError:
        print(f"bench: --scales takes whole numbers separated by commas, got {args.scales!r}", file=sys.stderr)
        return 2
    if args.runs < 1 or not scales or min(scales) < 1:
        print("bench: --runs and every scale must be at least 1", file=sys.stderr)
        return 2
    work = Path(args.work).resolve()  # PostgreSQL is given paths inside it (its socket directory)
    try:
        results = run(args, scales, work)
    except (HarnessError, ToolchainError, OSError) as error:
        print(f"bench: {error}", file=sys.stderr)
        return 1
    finally:
        if not args.keep_work:
            # Tens of GB at scale 150 (data directories, restores, WAL, the S3 server's data).
            shutil.rmtree(work, ignore_errors=True)
    write(results, Path(args.out))
    log(f"done; results in {args.out}")
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
