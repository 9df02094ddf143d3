"""Timed restores to a time target by WAL-G (the restored instance's init script, then
recovery through the shipped restore_command) and pgBackRest (restore, then recovery
through its archive-get): the fetch of the base backup and the replay, separately."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC
from pathlib import Path

from bench.primary import BenchPrimary
from bench.recovery import replay
from bench.stats import timed
from drill import environment, postgres
from harness import processes
from pgpitr.container_env import recovery_environment
from pgpitr_runtime import names
from pgpitr_runtime.recovery import RecoveryOptions, RecoveryTarget, parse_time

FETCH_TIMEOUT = 7200.0


@dataclass(frozen=True)
class RestoreTiming:
    fetch_s: float
    """the base backup, into an empty data directory"""
    replay_s: float
    """from starting the server to its promotion at the target: WAL fetched and replayed"""

    @property
    def total_s(self) -> float:
        return self.fetch_s + self.replay_s


def walg_restore(primary: BenchPrimary, base: Path, target_time: str) -> RestoreTiming:
    """pgpitr-restore (the init container, backup `auto`), then the server recovering
    through pgpitr-wal-fetch, with the environment the restored StatefulSet gets."""
    pgdata = postgres.instance_paths(base)["pgdata"]
    postgres.prepare_dirs(base)
    recovery = recovery_environment(
        RecoveryTarget.parse("time", target_time), RecoveryOptions(), "auto", environment.WAL_FETCH_COMMAND
    )
    walg = primary.walg_env()
    env = {
        **primary.restored_env(pgdata),
        **walg,
        names.PGPITR_SOURCE_ARCHIVE: walg[names.PGPITR_ARCHIVE],
        **recovery,
    }
    script = str(environment.SCRIPTS_DIR / names.RESTORE_SCRIPT)
    fetch = timed(lambda: processes.run([script], env, timeout=FETCH_TIMEOUT, what="pgpitr-restore"))
    return RestoreTiming(fetch, replay(primary, base, env))


def pgbackrest_restore(primary: BenchPrimary, base: Path, target_time: str) -> RestoreTiming:
    """`pgbackrest restore --type=time` (its newest backup, process-max=2), then recovery
    through the restore_command it writes (archive-get, asynchronous: queued ahead)."""
    pgdata = postgres.instance_paths(base)["pgdata"]
    postgres.prepare_dirs(base)
    pgdata.mkdir(mode=0o700, exist_ok=True)
    config = base / "pgbackrest.conf"
    primary.write_pgbackrest_conf(config, base / "pgbackrest", async_get=True)
    # pgBackRest spells times as PostgreSQL does: "2026-02-09 12:00:00.000000+00".
    when = parse_time(target_time).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f+00")
    args = (f"--pg1-path={pgdata}", "--type=time", f"--target={when}", "--target-action=promote", "restore")
    fetch = timed(lambda: primary.pgbackrest(*args, config=config, timeout=FETCH_TIMEOUT))
    return RestoreTiming(fetch, replay(primary, base, primary.restored_env(pgdata)))
