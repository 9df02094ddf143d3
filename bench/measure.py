"""Timed backups and restores: WAL-G (the shipped scripts), pgBackRest, and the raw limit
(tar through the same compressor into, and out of, the same storage)."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable
from datetime import UTC
from pathlib import Path

import psycopg

from bench.primary import BenchPrimary
from bench.storage import BUCKET
from drill import environment, postgres, processes
from drill.processes import DrillError
from drill.state import free_port
from pgpitr.container_env import recovery_environment
from pgpitr_runtime import names
from pgpitr_runtime.recovery import RecoveryOptions, RecoveryTarget, parse_time

COMPRESSORS = {"lz4": (["lz4", "-1", "-c"], ["lz4", "-d", "-c"])}
RAW_KEY = "bench/raw/base.tar.lz4"
RESTORE_TIMEOUT = 7200.0


def timed(action: Callable[[], object]) -> float:
    started = time.monotonic()
    action()
    return time.monotonic() - started


def walg_backup(primary: BenchPrimary) -> float:
    """The backup CronJob's script (remote mode), as shipped."""
    return timed(
        lambda: processes.run(
            [str(environment.SCRIPTS_DIR / names.BACKUP_SCRIPT)],
            primary.backup_env(),
            timeout=7200,
            what="pgpitr-backup",
        )
    )


def walg_compression_backup(primary: BenchPrimary, method: str) -> tuple[float, int]:
    """One remote-mode backup-push with `method` into its own prefix: seconds and bytes stored."""
    prefix = f"bench/compression/{method}"
    env = primary.backup_env() | primary.walg_env(prefix, method)
    seconds = timed(lambda: processes.run([str(primary.tools.walg), "backup-push"], env, timeout=7200))
    return seconds, primary.storage.bytes_under(prefix + "/")


def pgbackrest_backup(primary: BenchPrimary) -> float:
    return timed(lambda: primary.pgbackrest("--type=full", "backup"))


def raw_backup(primary: BenchPrimary) -> float:
    """The limit: tar of the data directory | lz4 | one streamed upload."""
    compress, _ = COMPRESSORS["lz4"]
    client = primary.storage.client("s3")

    def run() -> None:
        tar = subprocess.Popen(["tar", "-C", str(primary.pgdata), "-cf", "-", "."], stdout=subprocess.PIPE)
        packed = subprocess.Popen(compress, stdin=tar.stdout, stdout=subprocess.PIPE)
        assert tar.stdout is not None and packed.stdout is not None
        tar.stdout.close()
        client.upload_fileobj(packed.stdout, BUCKET, RAW_KEY)
        if packed.wait() != 0 or tar.wait() not in (0, 1):  # tar: 1 = files changed while read
            raise DrillError("raw backup pipeline failed")

    return timed(run)


def raw_restore(primary: BenchPrimary, target: Path) -> float:
    _, decompress = COMPRESSORS["lz4"]
    client = primary.storage.client("s3")

    def run() -> None:
        target.mkdir(parents=True)
        unpack = subprocess.Popen(decompress, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        untar = subprocess.Popen(["tar", "-C", str(target), "-xf", "-"], stdin=unpack.stdout)
        assert unpack.stdin is not None and unpack.stdout is not None
        unpack.stdout.close()
        client.download_fileobj(BUCKET, RAW_KEY, unpack.stdin)
        unpack.stdin.close()
        if unpack.wait() != 0 or untar.wait() != 0:
            raise DrillError("raw restore pipeline failed")

    return timed(run)


def start_and_wait_promoted(primary: BenchPrimary, base: Path, env: dict[str, str]) -> None:
    state = primary.ready_state()
    port = free_port()
    postgres.write_conf(base, environment.restored_conf(primary.settings))
    postgres.start(base, port, env)
    dsn = f"postgresql://postgres:{state.superuser_password}@127.0.0.1:{port}/postgres"

    def promoted() -> bool:
        if not postgres.running(base):
            raise DrillError(f"restored server in {base} stopped: {postgres.log_tail(base)}")
        try:
            with postgres.connect(dsn, timeout=2) as conn:
                row = conn.execute("SELECT pg_is_in_recovery()").fetchone()
                return row is not None and row[0] is False
        except psycopg.Error:
            return False

    processes.wait_for(promoted, RESTORE_TIMEOUT, f"the restore in {base} to promote", interval=0.2)
    postgres.fast_shutdown(base)


def walg_restore(primary: BenchPrimary, base: Path, target_time: str) -> float:
    """pgpitr-restore (fetch) then PostgreSQL replaying to the time target, until promoted."""
    pgdata = postgres.instance_paths(base)["pgdata"]
    postgres.prepare_dirs(base)
    recovery = recovery_environment(
        RecoveryTarget.parse("time", target_time), RecoveryOptions(), "auto", environment.WAL_FETCH_COMMAND
    )
    env = primary.walg_env() | {
        names.PGDATA: str(pgdata),
        names.PGPITR_SOURCE_WALG_PREFIX: primary.walg_env()[names.WALG_S3_PREFIX],
        **recovery,
    }

    def run() -> None:
        processes.run([str(environment.SCRIPTS_DIR / names.RESTORE_SCRIPT)], env, timeout=RESTORE_TIMEOUT)
        start_and_wait_promoted(primary, base, env)

    return timed(run)


def pgbackrest_restore(primary: BenchPrimary, base: Path, target_time: str) -> float:
    pgdata = postgres.instance_paths(base)["pgdata"]
    postgres.prepare_dirs(base)
    pgdata.mkdir(mode=0o700, exist_ok=True)

    def run() -> None:
        # pgBackRest spells times as PostgreSQL does: "2026-02-09 12:00:00.000000+00".
        when = parse_time(target_time).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f+00")
        primary.pgbackrest(
            f"--pg1-path={pgdata}", "--type=time", f"--target={when}", "--target-action=promote", "restore"
        )
        start_and_wait_promoted(primary, base, environment.base_env(primary.tools))

    return timed(run)


def wait_archived(primary: BenchPrimary, timeout: float = 600) -> None:
    """Until the segment written last is archived (by both tools: they share archive_command)."""
    segment = postgres.scalar(primary.dsn(), "SELECT pg_walfile_name(pg_current_wal_lsn() - 1)")
    postgres.wait_until_archived(primary.dsn(), segment, timeout)


def remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
