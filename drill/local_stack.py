"""The local stack: an S3 server (moto) behind a stoppable gateway, a primary archiving
to it through WAL-G, and restored instances, each driven by the image's scripts."""

from __future__ import annotations

import json
import secrets
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import psycopg

from drill import environment, postgres
from drill.state import DrillState, InstanceState, S3State, free_port
from harness import processes
from harness.paths import REPOSITORY_ROOT
from harness.processes import HarnessError
from harness.progress import Progress
from harness.toolchain import Toolchain, toolchain
from pgpitr.container_env import recovery_environment
from pgpitr.settings import StackSettings
from pgpitr.settings.backup import BackupSettings
from pgpitr_runtime import names
from pgpitr_runtime.recovery import RecoveryOptions, RecoveryTarget

S3_START_TIMEOUT = 60.0
RECOVERY_TIMEOUT = 900.0


_PROGRESS = Progress("drill")


def log(message: str) -> None:
    """One of the drill's progress lines (harness.progress)."""
    _PROGRESS.step(message)


class LocalStack:
    """Everything `python -m drill` manages, for one state folder."""

    def __init__(self, state: DrillState, tools: Toolchain | None = None) -> None:
        self.state = state
        self.tools = tools or toolchain()
        self.settings: StackSettings = environment.stack_settings(state.stack)

    # --- paths and environments ------------------------------------------------
    @property
    def primary_base(self) -> Path:
        return self.state.path / "primary"

    def primary_env(self) -> dict[str, str]:
        pgdata = str(postgres.instance_paths(self.primary_base)["pgdata"])
        return environment.server_env(self.state, self.settings, self.tools, pgdata)

    def walg_prefix(self, instance: str = "postgres") -> str:
        return environment.location(self.state, instance).walg_prefix

    def primary_dsn(self) -> str:
        return self.state.dsn(self.state.primary)

    def s3_client(self) -> Any:
        """boto3 against the S3 server itself (not the gateway), for setup and inspection."""
        return boto3.client(
            "s3",
            endpoint_url=f"http://127.0.0.1:{self.state.s3.server_port}",
            region_name=environment.DRILL_REGION,
            aws_access_key_id=environment.DRILL_ACCESS_KEY_ID,
            aws_secret_access_key=environment.DRILL_SECRET_ACCESS_KEY,
        )

    # --- S3 ---------------------------------------------------------------------
    def start_s3_server(self) -> None:
        s3 = self.state.s3
        s3.server_pid = processes.start_background(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(s3.server_port)],
            {"PATH": "/usr/bin:/bin", "HOME": str(self.state.path)},
            self.state.path / "s3-server.log",
            container=False,
        )
        processes.wait_for(self._s3_answers, S3_START_TIMEOUT, "the S3 server to answer")

    def _s3_answers(self) -> bool:
        try:
            self.s3_client().list_buckets()
            return True
        except Exception:
            if not processes.alive(self.state.s3.server_pid):
                raise HarnessError(f"the S3 server exited; see {self.state.path / 's3-server.log'}") from None
            return False

    def create_bucket(self) -> None:
        client = self.s3_client()
        client.create_bucket(Bucket=self.state.s3.bucket)
        client.put_bucket_versioning(Bucket=self.state.s3.bucket, VersioningConfiguration={"Status": "Enabled"})

    def start_gateway(self, target: str | None = None) -> None:
        s3 = self.state.s3
        s3.gateway_pid = processes.start_background(
            [sys.executable, "-m", "drill.s3_gateway", str(s3.endpoint_port), target or str(s3.server_port)],
            {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPOSITORY_ROOT)},
            self.state.path / "s3-gateway.log",
            container=False,
        )
        processes.wait_for(self.gateway_accepts, 30, "the S3 gateway to listen")
        self.state.save()

    def gateway_accepts(self) -> bool:
        import socket

        try:
            with socket.create_connection(("127.0.0.1", self.state.s3.endpoint_port), timeout=1):
                return True
        except OSError:
            return False

    def stop_storage(self) -> None:
        """A storage outage as WAL-G sees it: the endpoint refuses connections."""
        processes.stop_pid(self.state.s3.gateway_pid)
        self.state.s3.gateway_pid = None
        self.state.save()

    def hang_storage(self) -> None:
        """Storage as WAL-G sees it when the endpoint accepts connections and never answers."""
        self.stop_storage()
        self.start_gateway("hang")
        self.state.s3.hanging = True
        self.state.save()

    def start_storage(self) -> None:
        if self.state.s3.hanging:
            self.stop_storage()
            self.state.s3.hanging = False
        if not processes.alive(self.state.s3.gateway_pid):
            self.start_gateway()

    # --- the primary ------------------------------------------------------------
    def create_primary(self) -> None:
        """The primary's first start: the image's entrypoint initialises the empty data
        directory and creates pgpitr's roles before the server accepts connections."""
        postgres.prepare_dirs(self.primary_base)
        postgres.write_conf(self.primary_base, environment.primary_conf(self.settings))
        self.start_primary()

    def bootstrap_primary(self) -> str:
        """The primary pod's init container (pgpitr-bootstrap), as Kubernetes runs it before
        every start: an empty volume initialised or restored from the archive, where it
        archives settled. Returns its log."""
        pgdata = str(postgres.instance_paths(self.primary_base)["pgdata"])
        result = processes.run(
            [str(environment.SCRIPTS_DIR / names.BOOTSTRAP_SCRIPT)],
            environment.bootstrap_env(self.state, self.settings, self.tools, pgdata),
            timeout=3600,
            what=names.BOOTSTRAP_SCRIPT,
        )
        with (self.state.path / "bootstrap.log").open("a") as bootstrap_log:
            bootstrap_log.write(result.stderr)
        return result.stderr

    def start_primary(self) -> None:
        """The primary pod's start: its init container, then PostgreSQL through the
        entrypoint; returns once it accepts connections (a restored one: once promoted)."""
        self.bootstrap_primary()
        postgres.start(self.primary_base, self.state.primary.port, self.primary_env())
        postgres.wait_until_accepting(self.primary_dsn(), self.primary_base, timeout=RECOVERY_TIMEOUT)
        if postgres.scalar(self.primary_dsn(), "SELECT pg_is_in_recovery()") == "True":
            processes.wait_for(
                lambda: postgres.scalar(self.primary_dsn(), "SELECT pg_is_in_recovery()") == "False",
                RECOVERY_TIMEOUT,
                "the primary brought back from its archive to finish recovery and promote",
                interval=0.25,
            )

    def redeploy(self, stack: str) -> None:
        """`pulumi up` of changed settings (a stack file), as the cluster lives it: the new
        settings; the keys as components.backup_encryption delivers them (a key whose Secret
        is no longer the current one stays readable as a retired key); the primary's pod
        rolled by a planned stop and a start through its init container."""
        before = self.settings.backup
        self.state.stack = str(environment.stack_file(stack)) if stack.endswith((".yaml", ".yml")) else stack
        self.settings = environment.stack_settings(self.state.stack)
        after = self.settings.backup
        if before.encryption_secret != after.encryption_secret:
            if before.encryption_secret is not None and before.encryption is not None:
                self.state.retired_keys[before.encryption_secret] = current_key_files(
                    self.state, before.encryption.method
                )
            set_current_key(self.state, after)
        self.state.save()
        environment.write_retired_keys(self.state)
        self.stop_primary()
        postgres.write_conf(self.primary_base, environment.primary_conf(self.settings))
        self.start_primary()

    def stop_primary(self) -> None:
        postgres.stop(self.tools, self.primary_base, self.primary_env())

    # --- operations -------------------------------------------------------------
    def backup(self, extra_env: dict[str, str] | None = None) -> str:
        """Runs the backup CronJob's script; returns the new backup's name. `extra_env`
        overrides the job's environment (tests evaluate retention at another time)."""
        name = self._run_backup(extra_env or {})
        if not name:
            raise HarnessError(f"{names.BACKUP_SCRIPT} took no backup")
        return name

    def catch_up_backup(self) -> str:
        """Runs the catch-up CronJob's script; the new backup's name, or "" when the
        archive's current location already had a backup of the primary's timeline."""
        return self._run_backup({names.PGPITR_BACKUP_WHEN_MISSING: "true"})

    def _run_backup(self, extra_env: dict[str, str]) -> str:
        started = time.monotonic()
        result = processes.run(
            [str(environment.SCRIPTS_DIR / names.BACKUP_SCRIPT)],
            environment.backup_env(self.state, self.settings, self.tools) | extra_env,
            timeout=3600,
            what=names.BACKUP_SCRIPT,
        )
        with (self.state.path / "backup.log").open("a") as backup_log:
            backup_log.write(result.stderr)
        lines = result.stdout.strip().splitlines()
        name = lines[-1] if lines else ""
        log(f"backup {name or '(none needed)'} took {time.monotonic() - started:.1f}s")
        return name

    def walg(self, *args: str, instance: str = "postgres", check: bool = True, prefix: str | None = None) -> str:
        """wal-g ARGS on the instance's first archive location (or on `prefix`)."""
        env = {**environment.base_env(self.tools), **environment.storage_env(self.state, self.settings, instance)}
        env[names.WALG_S3_PREFIX] = prefix or env[names.PGPITR_ARCHIVE]
        return processes.run([str(self.tools.walg), *args], env, check=check, what=f"wal-g {args[0]}").stdout

    def backups(self, prefix: str | None = None) -> list[dict[str, Any]]:
        listing = self.walg("backup-list", "--detail", "--json", prefix=prefix).strip()
        rows: list[dict[str, Any]] = json.loads(listing) if listing else []
        return rows or []

    def switch_wal_and_wait_archived(self, timeout: float = 120) -> float:
        """Forces the current segment out and waits until it is in storage; returns seconds."""
        started = time.monotonic()
        segment = postgres.scalar(self.primary_dsn(), "SELECT pg_walfile_name(pg_switch_wal())")
        postgres.wait_until_archived(self.primary_dsn(), segment, timeout)
        return time.monotonic() - started

    def restore(
        self,
        target: RecoveryTarget,
        options: RecoveryOptions,
        backup: str = "auto",
        timeout: float = RECOVERY_TIMEOUT,
        after_fetch: Callable[[], None] | None = None,
        name: str | None = None,
    ) -> InstanceState:
        """The restored instance: its init script on a new data directory, then PostgreSQL
        as its container runs it; returns when recovery has finished as `options.action` says.
        `name` as restore.name names it in a cluster (default: restored-N)."""
        name = name or f"restored-{len(self.state.restores) + 1}"
        base = self.state.path / name
        if base.exists():
            shutil.rmtree(base)
        postgres.prepare_dirs(base)
        paths = postgres.instance_paths(base)
        instance = InstanceState(
            name=name,
            port=free_port(),
            pgdata=str(paths["pgdata"]),
            log=str(paths["log"]),
            target=f"{target.kind} {target.value or ''}".strip(),
        )
        recovery = recovery_environment(target, options, backup, environment.WAL_FETCH_COMMAND)
        instance.recovery = recovery
        self.state.restores.append(instance)
        self.state.save()
        env = environment.restore_env(self.state, self.settings, self.tools, str(paths["pgdata"]), recovery, name)
        result = processes.run(
            [str(environment.SCRIPTS_DIR / names.RESTORE_SCRIPT)], env, timeout=3600, what=names.RESTORE_SCRIPT
        )
        (base / "restore.log").write_text(result.stderr)
        instance.backup = result.stdout.strip().splitlines()[-1]
        self.state.save()
        postgres.write_conf(base, environment.restored_conf(self.settings))
        if after_fetch is not None:
            after_fetch()
        postgres.start(base, instance.port, env)
        self.wait_for_recovery(instance, base, options, timeout)
        return instance

    def restart_restored(self, instance: InstanceState) -> str:
        """Restarts a restored pod: the init script runs again first, as Kubernetes does."""
        base = self.state.path / instance.name
        paths = postgres.instance_paths(base)
        env = environment.restore_env(
            self.state, self.settings, self.tools, str(paths["pgdata"]), instance.recovery, instance.name
        )
        postgres.stop(self.tools, base, env)
        result = processes.run([str(environment.SCRIPTS_DIR / names.RESTORE_SCRIPT)], env, what=names.RESTORE_SCRIPT)
        postgres.start(base, instance.port, env)
        postgres.wait_until_accepting(self.state.dsn(instance), base)
        return result.stderr

    def wait_for_recovery(self, instance: InstanceState, base: Path, options: RecoveryOptions, timeout: float) -> None:
        dsn = self.state.dsn(instance)
        deadline = time.monotonic() + timeout

        def check_alive() -> None:
            if not postgres.running(base):
                raise HarnessError(f"restored server {instance.name} stopped: {postgres.log_tail(base, 3)}")

        if options.action == "shutdown":
            processes.wait_for(lambda: not postgres.running(base), timeout, f"{instance.name} to shut down")
            if "shutdown at recovery target" not in Path(instance.log).read_text():
                raise HarnessError(f"restored server {instance.name} stopped: {postgres.log_tail(base, 3)}")
            return
        while time.monotonic() < deadline:
            check_alive()
            try:
                with postgres.connect(dsn, timeout=2) as conn:
                    row = conn.execute(
                        "SELECT pg_is_in_recovery(),"
                        " CASE WHEN pg_is_in_recovery() THEN pg_get_wal_replay_pause_state() END"
                    ).fetchone()
                    assert row is not None
                    in_recovery, pause_state = bool(row[0]), row[1]
                    if options.action == "promote" and not in_recovery:
                        conn.execute("CREATE TEMP TABLE drill_write_check (x int)")
                        return
                    if options.action == "pause" and pause_state == "paused":
                        return
            except psycopg.Error:
                pass
            time.sleep(0.25)
        raise HarnessError(f"recovery of {instance.name} did not finish in {timeout:.0f}s: {postgres.log_tail(base)}")

    def verify_restore(self, extra_env: dict[str, str] | None = None) -> dict[str, Any]:
        """Runs the restore drill CronJob's script on a scratch directory; its JSON result."""
        scratch = self.state.path / "verify"
        if scratch.exists():
            shutil.rmtree(scratch)
        scratch.mkdir()
        pgdata = scratch / "pgdata"
        env = environment.verify_env(self.state, self.settings, self.tools, str(pgdata)) | (extra_env or {})
        result = processes.run(
            [str(environment.SCRIPTS_DIR / names.VERIFY_RESTORE_SCRIPT)], env, check=False, timeout=3600
        )
        (self.state.path / "verify-restore.log").write_text(result.stderr)
        if result.returncode != 0:
            last = (result.stderr.strip().splitlines() or ["no output"])[-1]
            raise HarnessError(f"{names.VERIFY_RESTORE_SCRIPT} failed: {last}")
        report: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
        shutil.rmtree(scratch, ignore_errors=True)
        return report

    def check_wal_chain(self) -> dict[str, Any]:
        """Runs the WAL chain CronJob's script; its JSON summary (HarnessError naming the gap)."""
        env = environment.wal_chain_env(self.state, self.settings, self.tools)
        result = processes.run([str(environment.SCRIPTS_DIR / names.WAL_CHAIN_SCRIPT)], env, check=False)
        (self.state.path / "wal-chain.log").write_text(result.stderr)
        if result.returncode != 0:
            last = (result.stderr.strip().splitlines() or ["no output"])[-1]
            raise HarnessError(f"{names.WAL_CHAIN_SCRIPT} failed: {last.removeprefix('pgpitr: ')}")
        summary: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
        return summary

    def stop_restored(self, instance: InstanceState) -> None:
        base = self.state.path / instance.name
        env = {**environment.base_env(self.tools)}
        postgres.stop(self.tools, base, env)

    def remove_restored(self, instance: InstanceState) -> None:
        self.stop_restored(instance)
        shutil.rmtree(self.state.path / instance.name, ignore_errors=True)
        self.state.restores = [r for r in self.state.restores if r.name != instance.name]
        self.state.save()


def current_key_files(state: DrillState, method: str) -> dict[str, str]:
    """The current key as its Secret holds it (the files a retired key's Secret mounts as)."""
    if method == "libsodium":
        return {names.LIBSODIUM_KEY_FILE: state.libsodium_key}
    passphrase = {names.PGP_PASSPHRASE_FILE: state.pgp_passphrase} if state.pgp_passphrase else {}
    return {names.PGP_KEY_FILE: state.pgp_key, **passphrase}


def set_current_key(state: DrillState, backup: BackupSettings) -> None:
    """The key of `backup`'s Secret: back from the retired ones when the stack points at
    one of them again, else a new one, as a user would put in a new Secret."""
    from drill import encryption_keys

    state.libsodium_key = state.pgp_key = state.pgp_passphrase = ""
    if backup.encryption is None or backup.encryption_secret is None:
        return
    files = state.retired_keys.pop(backup.encryption_secret, None)
    if backup.encryption.method == "libsodium":
        state.libsodium_key = files[names.LIBSODIUM_KEY_FILE] if files else encryption_keys.libsodium_key()
    elif files:
        state.pgp_key, state.pgp_passphrase = files[names.PGP_KEY_FILE], files.get(names.PGP_PASSPHRASE_FILE, "")
    else:
        state.pgp_passphrase = secrets.token_urlsafe(18)
        state.pgp_key = encryption_keys.pgp_key(state.pgp_passphrase)


def new_state(directory: Path, stack: str) -> DrillState:
    state = DrillState(
        dir=str(directory),
        stack=stack,
        superuser_password=secrets.token_urlsafe(18),
        backup_password=secrets.token_urlsafe(18),
        monitor_password=secrets.token_urlsafe(18),
        s3=S3State(server_port=free_port(), endpoint_port=free_port(), bucket=environment.DRILL_BUCKET),
        primary=InstanceState(
            name="primary",
            port=free_port(),
            pgdata=str(postgres.instance_paths(directory / "primary")["pgdata"]),
            log=str(postgres.instance_paths(directory / "primary")["log"]),
        ),
    )
    # A PGP key comes with a passphrase, so the drill also exercises WALG_PGP_KEY_PASSPHRASE.
    set_current_key(state, environment.stack_settings(stack).backup)
    return state


def up(directory: Path, stack: str = "dev") -> LocalStack:
    """Starts (or finds running) the S3 server and the primary. Idempotent."""
    if stack.endswith((".yaml", ".yml")):
        stack = str(environment.stack_file(stack))
    tools = toolchain()  # before anything is created: a missing tool leaves nothing behind
    state = DrillState.load(directory)
    if state is None:
        state = new_state(directory, stack)
        directory.mkdir(parents=True, exist_ok=True)
        stack_ = LocalStack(state, tools)
        log(f"starting the S3 server on 127.0.0.1:{state.s3.server_port}")
        stack_.start_s3_server()
        stack_.create_bucket()
        stack_.start_gateway()
        log(f"creating the primary on port {state.primary.port}")
        stack_.create_primary()
        state.save()
        return stack_
    stack_ = LocalStack(state, tools)
    if not processes.alive(state.s3.server_pid):
        raise HarnessError(
            f"the drill's S3 server in {directory} is gone, and its data with it;"
            " run `python -m drill down` and then `up` again"
        )
    stack_.start_storage()
    if not postgres.running(stack_.primary_base):
        stack_.start_primary()
    return stack_


def down(directory: Path) -> None:
    """Stops everything the state folder knows of and removes the folder. Needs no
    toolchain, so it also cleans up after a broken setup."""
    state = DrillState.load(directory)
    if state is not None:
        for base in [directory / "primary", *(directory / r.name for r in state.restores)]:
            postgres.fast_shutdown(base)
        processes.stop_pid(state.s3.gateway_pid)
        processes.stop_pid(state.s3.server_pid)
    shutil.rmtree(directory, ignore_errors=True)
