"""The limits no tool can beat on this machine and storage.

Backup: pg_backup_start(fast => true), tar of the data directory (leaving out what
BASE_BACKUP leaves out) | lz4 -1 | one streamed upload, pg_backup_stop (not waiting for
archiving). Restore: download | lz4 -d | tar -x of that backup, then PostgreSQL replaying
the same WAL as the tools, from local disk (restore_command = cp)."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from bench.primary import BenchPrimary
from bench.recovery import replay
from bench.restores import RestoreTiming
from bench.stats import timed
from bench.storage import BUCKET
from drill import postgres
from harness.processes import HarnessError
from pgpitr_runtime.recovery import RecoveryOptions, RecoveryTarget, recovery_settings, render_settings

TAR_KEY = "bench/raw/base.tar.lz4"
LABEL_KEY = "bench/raw/backup_label"
COMPRESS = ["lz4", "-1", "-c"]
DECOMPRESS = ["lz4", "-d", "-c"]
EXCLUDED = (
    "./pg_wal/*",
    "./postmaster.pid",
    "./postmaster.opts",
    "./pg_replslot/*",
    "./pg_stat_tmp/*",
    "./pg_dynshmem/*",
    "./pg_notify/*",
    "./pg_serial/*",
    "./pg_snapshots/*",
    "./pg_subtrans/*",
    "*/pg_internal.init",
)
"""What BASE_BACKUP leaves out (the directories stay, empty)."""


@dataclass(frozen=True)
class RawBackup:
    seconds: float
    start_lsn: int
    """where replay of this backup begins (its checkpoint's redo location)"""
    stored_bytes: int


def raw_backup(primary: BenchPrimary) -> RawBackup:
    client = primary.storage.client("s3")
    primary.checkpoint()
    start = 0

    def run() -> None:
        nonlocal start
        with postgres.connect(primary.dsn()) as conn:
            row = conn.execute("SELECT (pg_backup_start('pgpitr-bench-raw', true) - '0/0'::pg_lsn)::bigint").fetchone()
            assert row is not None
            start = int(str(row[0]))
            excludes = [f"--exclude={pattern}" for pattern in EXCLUDED]
            tar = subprocess.Popen(
                ["tar", "-C", str(primary.pgdata), *excludes, "-cf", "-", "."], stdout=subprocess.PIPE
            )
            packed = subprocess.Popen(COMPRESS, stdin=tar.stdout, stdout=subprocess.PIPE)
            assert tar.stdout is not None and packed.stdout is not None
            tar.stdout.close()
            try:
                client.upload_fileobj(packed.stdout, BUCKET, TAR_KEY)
            finally:
                packed.stdout.close()  # after a failed upload: lz4 and tar end on a broken pipe
                packed_status, tar_status = packed.wait(), tar.wait()
            if packed_status != 0 or tar_status not in (0, 1):  # tar: 1 = files changed while read
                raise HarnessError("raw backup pipeline failed")
            label = conn.execute("SELECT labelfile FROM pg_backup_stop(false)").fetchone()
            assert label is not None
            client.put_object(Bucket=BUCKET, Key=LABEL_KEY, Body=str(label[0]).encode())

    seconds = timed(run)
    return RawBackup(seconds, start, primary.storage.bytes_under("bench/raw/"))


def raw_fetch(primary: BenchPrimary, pgdata: Path) -> None:
    """download | lz4 -d | tar -x, and the backup_label beside it."""
    client = primary.storage.client("s3")
    pgdata.mkdir(mode=0o700, parents=True)
    unpack = subprocess.Popen(DECOMPRESS, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    untar = subprocess.Popen(["tar", "-C", str(pgdata), "-xf", "-"], stdin=unpack.stdout)
    assert unpack.stdin is not None and unpack.stdout is not None
    unpack.stdout.close()
    try:
        client.download_fileobj(BUCKET, TAR_KEY, unpack.stdin)
    finally:
        unpack.stdin.close()
        unpack_status, untar_status = unpack.wait(), untar.wait()
    if unpack_status != 0 or untar_status != 0:
        raise HarnessError("raw restore pipeline failed")
    (pgdata / "backup_label").write_bytes(client.get_object(Bucket=BUCKET, Key=LABEL_KEY)["Body"].read())


def raw_restore(primary: BenchPrimary, base: Path, target_time: str, local_wal: Path) -> RestoreTiming:
    """The limit: fetch as above, then recovery to the same target from `local_wal`."""
    pgdata = postgres.instance_paths(base)["pgdata"]
    postgres.prepare_dirs(base)
    fetch = timed(lambda: raw_fetch(primary, pgdata))
    settings = recovery_settings(
        RecoveryTarget.parse("time", target_time), RecoveryOptions(), f'cp {local_wal}/%f "%p"'
    )
    with (pgdata / "postgresql.auto.conf").open("a") as conf:
        conf.write("# Recovery settings written by the benchmark\n" + render_settings(settings))
    (pgdata / "recovery.signal").touch()
    return RestoreTiming(fetch, replay(primary, base, primary.restored_env(pgdata)))
