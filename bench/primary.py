"""The benchmark's primary: the drill's primary (the rendered postgresql.conf, started
through the image's entrypoint), archiving every segment with WAL-G (through the shipped
pgpitr-wal-push) *and* pgBackRest so both can restore the same WAL, and a pgbench
database of the chosen scale. `use_shipped_archiving` drops pgBackRest's half again, for
the measurements of archiving itself (RPO, throughput)."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from psycopg import sql

from bench.storage import BUCKET, TlsStorage
from drill import environment, postgres
from drill.deployment import new_state
from drill.state import DrillState, S3State
from harness import processes
from harness.toolchain import Toolchain
from pgpitr.postgresql_conf import ARCHIVE_COMMAND
from pgpitr.settings import StackSettings
from pgpitr_runtime import names

STANZA = "bench"


@dataclass
class BenchPrimary:
    directory: Path
    tools: Toolchain
    storage: TlsStorage
    settings: StackSettings
    state: DrillState | None = None

    @property
    def base(self) -> Path:
        return self.directory / "primary"

    @property
    def pgdata(self) -> Path:
        return postgres.instance_paths(self.base)["pgdata"]

    @property
    def pgbackrest_conf(self) -> Path:
        return self.directory / "pgbackrest.conf"

    def ready_state(self) -> DrillState:
        assert self.state is not None, "start() first"
        return self.state

    def dsn(self) -> str:
        state = self.ready_state()
        return state.dsn(state.primary)

    def walg_env(self, prefix: str = "bench/walg", compression: str | None = None) -> dict[str, str]:
        """The shipped WAL-G environment, pointed at the benchmark's bucket and prefix."""
        state = self.ready_state()
        env = {
            **environment.base_env(self.tools),
            **environment.storage_env(state, self.settings),
            # The scripts find WAL-G's prefix from the archive (its first location);
            # the benchmark's own wal-g calls use it directly.
            names.PGPITR_ARCHIVE: f"s3://{BUCKET}/{prefix}",
            names.WALG_S3_PREFIX: f"s3://{BUCKET}/{prefix}",
        }
        if compression is not None:
            env[names.WALG_COMPRESSION_METHOD] = compression
        return env

    def server_env(self) -> dict[str, str]:
        state = self.ready_state()
        env = environment.server_env(state, self.settings, self.tools, str(self.pgdata))
        return env | self.walg_env()

    def backup_env(self) -> dict[str, str]:
        state = self.ready_state()
        return environment.backup_env(state, self.settings, self.tools) | self.walg_env()

    def restored_env(self, pgdata: Path) -> dict[str, str]:
        """What a restored copy's postgres container gets: the entrypoint's environment."""
        return environment.entrypoint_env(self.ready_state(), self.tools, str(pgdata))

    def pgbackrest(self, *args: str, config: Path | None = None, timeout: float = 7200) -> None:
        processes.run(
            ["pgbackrest", f"--config={config or self.pgbackrest_conf}", f"--stanza={STANZA}", *args],
            environment.base_env(self.tools),
            timeout=timeout,
            what=f"pgbackrest {args[-1]}",
        )

    def write_pgbackrest_conf(self, path: Path, spool: Path, async_get: bool = False) -> None:
        """The repository on the benchmark's storage, small files bundled (repo1-bundle: one
        object per file would cost pgBackRest a request each); `async_get` for a restore: archive-get
        queues segments ahead of recovery with process-max processes (pgBackRest's advice
        for fast recovery, as WAL-G prefetches by default)."""
        state = self.ready_state()
        spool.mkdir(parents=True, exist_ok=True)
        path.write_text(
            "\n".join(
                [
                    "[global]",
                    "repo1-type=s3",
                    "repo1-path=/bench/pgbackrest",
                    f"repo1-s3-bucket={BUCKET}",
                    "repo1-s3-endpoint=localhost",
                    f"repo1-storage-port={self.storage.port}",
                    "repo1-s3-region=us-east-1",
                    f"repo1-s3-key={environment.DRILL_ACCESS_KEY_ID}",
                    f"repo1-s3-key-secret={environment.DRILL_SECRET_ACCESS_KEY}",
                    "repo1-s3-uri-style=path",
                    f"repo1-storage-ca-file={self.storage.certificate}",
                    "repo1-retention-full=10",
                    "repo1-bundle=y",
                    f"compress-type={self.settings.backup.compression}",
                    "process-max=2",
                    "start-fast=y",
                    f"lock-path={spool}/lock",
                    f"log-path={spool}/log",
                    f"spool-path={spool}/spool",
                    "log-level-console=warn",
                    *(["archive-async=y"] if async_get else []),
                    "",
                    f"[{STANZA}]",
                    f"pg1-path={self.pgdata}",
                    f"pg1-port={state.primary.port}",
                    f"pg1-socket-path={postgres.instance_paths(self.base)['socket']}",
                    "pg1-user=postgres",
                    "",
                ]
            )
        )

    def start(self) -> None:
        state = new_state(self.directory, "dev")
        state.s3 = S3State(
            server_port=self.storage.port,
            endpoint_port=self.storage.port,
            bucket=BUCKET,
            scheme="https",
            ca_cert_file=str(self.storage.certificate),
        )
        self.state = state
        postgres.prepare_dirs(self.base)
        postgres.write_conf(self.base, environment.primary_conf(self.settings))
        postgres.start(self.base, state.primary.port, self.server_env())
        postgres.wait_until_accepting(self.dsn(), self.base)
        # pgBackRest reaches PostgreSQL only through its socket, as whichever user runs
        # it; the benchmark's throwaway cluster trusts that private socket.
        hba = self.pgdata / "pg_hba.conf"
        hba.write_text("local all all trust\n" + hba.read_text())
        with postgres.connect(self.dsn()) as conn:
            conn.execute("SELECT pg_reload_conf()")
        self.write_pgbackrest_conf(self.pgbackrest_conf, self.directory / "pgbackrest")
        both = f'{ARCHIVE_COMMAND} && pgbackrest --config={self.pgbackrest_conf} --stanza={STANZA} archive-push "%p"'
        with postgres.connect(self.dsn()) as conn:
            conn.execute(sql.SQL("ALTER SYSTEM SET archive_command = {}").format(sql.Literal(both)))
            conn.execute("SELECT pg_reload_conf()")
        self.pgbackrest("stanza-create")

    def use_shipped_archiving(self) -> None:
        """Back to the rendered postgresql.conf's archive_command: WAL-G alone, as shipped."""
        with postgres.connect(self.dsn()) as conn:
            conn.execute("ALTER SYSTEM RESET archive_command")
            conn.execute("SELECT pg_reload_conf()")

    def checkpoint(self) -> None:
        """Flushes what is dirty, so the next backup's own fast checkpoint finds as little
        to write as every other backup's."""
        with postgres.connect(self.dsn()) as conn:
            conn.execute("CHECKPOINT")

    def pgbench(self, *args: str, timeout: float = 7200) -> str:
        state = self.ready_state()
        result = subprocess.run(
            [
                self.tools.pg("pgbench"),
                "-h",
                "127.0.0.1",
                "-p",
                str(state.primary.port),
                "-U",
                "postgres",
                *args,
                "postgres",
            ],
            env={"PGPASSWORD": state.superuser_password, "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=True,
        )
        return result.stdout

    def data_bytes(self) -> int:
        with postgres.connect(self.dsn()) as conn:
            row = conn.execute("SELECT sum(pg_database_size(datname)) FROM pg_database").fetchone()
        assert row is not None
        return int(str(row[0]))

    def stop(self) -> None:
        postgres.fast_shutdown(self.base)
