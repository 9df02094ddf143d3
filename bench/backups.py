"""Timed base backups by WAL-G (the backup job's script, shipped defaults) and pgBackRest.

All three backups (these two and the limit's, bench.limits) start with a fast (immediate)
checkpoint: WAL-G's remote mode sends BASE_BACKUP with FAST (hard-coded in WAL-G 3.0.9,
internal/databases/postgres/streaming_base_backup.go), pgBackRest runs with start-fast=y,
the limit calls pg_backup_start(fast => true). A CHECKPOINT before each (not timed) leaves
every one of them the same, small amount to flush."""

from __future__ import annotations

from bench.primary import BenchPrimary
from bench.stats import timed
from drill import environment
from harness import processes
from pgpitr_runtime import names

CHECKPOINT_MODE = "fast"
BACKUP_TIMEOUT = 7200.0


def walg_backup(primary: BenchPrimary) -> float:
    """The backup CronJob's script (remote mode, then retention and listing), as shipped."""
    primary.checkpoint()
    return timed(
        lambda: processes.run(
            [str(environment.SCRIPTS_DIR / names.BACKUP_SCRIPT)],
            primary.backup_env(),
            timeout=BACKUP_TIMEOUT,
            what="pgpitr-backup",
        )
    )


def pgbackrest_backup(primary: BenchPrimary) -> float:
    """A full backup, same compression as WAL-G, process-max=2, start-fast=y."""
    primary.checkpoint()
    return timed(lambda: primary.pgbackrest("--type=full", "backup", timeout=BACKUP_TIMEOUT))
