"""WAL-G's compression methods on the same database: a remote-mode backup-push into a
prefix of its own (stored size, time) and a backup-fetch of it into an empty directory
(time; nothing replayed), `runs` times each."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from bench.primary import BenchPrimary
from bench.progress import log
from bench.stats import summary, timed
from harness import processes

METHODS = ("lz4", "zstd", "brotli", "lzma")
TIMEOUT = 7200.0


def timed_walg(primary: BenchPrimary, env: dict[str, str], *args: str) -> float:
    argv = [str(primary.tools.walg), *args]
    return timed(lambda: processes.run(argv, env, timeout=TIMEOUT, what=f"wal-g {args[0]}"))


def measure_compression(primary: BenchPrimary, runs: int, work: Path) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for method in METHODS:
        backup_s: list[float] = []
        restore_s: list[float] = []
        stored: list[float] = []
        for run in range(1, runs + 1):
            prefix = f"bench/compression/{method}/{run}"
            env = primary.backup_env() | primary.walg_env(prefix, method)
            target = work / f"compression-{method}"
            shutil.rmtree(target, ignore_errors=True)
            try:
                log(f"compression {method}, run {run}/{runs}: backup-push")
                primary.checkpoint()
                backup_s.append(timed_walg(primary, env, "backup-push"))
                stored.append(primary.storage.bytes_under(prefix + "/"))
                log(f"compression {method}, run {run}/{runs}: backup-fetch")
                target.mkdir(mode=0o700, parents=True)
                restore_s.append(timed_walg(primary, env, "backup-fetch", str(target), "LATEST"))
            finally:
                shutil.rmtree(target, ignore_errors=True)
                primary.storage.delete_under(prefix + "/")
        results[method] = {
            "bytes": int(summary(stored)["median"]),
            "backup_s": summary(backup_s),
            "restore_s": summary(restore_s),
        }
    return results
