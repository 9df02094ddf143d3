"""The drill's deployment: what `pulumi up` makes, run as processes on this machine and
driven by the image's own scripts. Storage (drill/storage_server.py), a primary archiving
to it through WAL-G, the CronJobs' scripts run on demand, and restored instances
(drill/restores.py), for one state folder."""

from __future__ import annotations

import json
import secrets
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from drill import environment, postgres
from drill.encryption_keys import current_key_files, set_current_key
from drill.restores import RECOVERY_TIMEOUT, Restores
from drill.state import DrillState, InstanceState, S3State, free_port
from drill.storage_server import DrillStorage
from harness import processes
from harness.processes import HarnessError
from harness.progress import Progress
from harness.text import last_line
from harness.toolchain import Toolchain, toolchain
from pgpitr.settings import StackSettings
from pgpitr_runtime import names
from pgpitr_runtime.recovery import RecoveryOptions, RecoveryTarget

_PROGRESS = Progress("drill")


def log(message: str) -> None:
    """One of the drill's progress lines (harness.progress)."""
    _PROGRESS.step(message)


class DrillDeployment:
    """Everything `python -m drill` manages, for one state folder."""

    def __init__(self, state: DrillState, tools: Toolchain | None = None) -> None:
        self.state = state
        self.tools = tools or toolchain()
        self.settings: StackSettings = environment.stack_settings(state.stack)
        self.storage = DrillStorage(state)

    @property
    def restored(self) -> Restores:
        """The restored instances, with the settings deployed now."""
        return Restores(self.state, self.settings, self.tools)

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
            raise HarnessError(f"{names.VERIFY_RESTORE_SCRIPT} failed: {last_line(result.stderr)}")
        report: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
        shutil.rmtree(scratch, ignore_errors=True)
        return report

    def check_wal_chain(self) -> dict[str, Any]:
        """Runs the WAL chain CronJob's script; its JSON summary (HarnessError naming the gap)."""
        env = environment.wal_chain_env(self.state, self.settings, self.tools)
        result = processes.run([str(environment.SCRIPTS_DIR / names.WAL_CHAIN_SCRIPT)], env, check=False)
        (self.state.path / "wal-chain.log").write_text(result.stderr)
        if result.returncode != 0:
            last = last_line(result.stderr).removeprefix("pgpitr: ")
            raise HarnessError(f"{names.WAL_CHAIN_SCRIPT} failed: {last}")
        summary: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
        return summary

    # --- restored instances ------------------------------------------------------
    def restore(
        self,
        target: RecoveryTarget,
        options: RecoveryOptions,
        backup: str = "auto",
        timeout: float = RECOVERY_TIMEOUT,
        after_fetch: Callable[[], None] | None = None,
        name: str | None = None,
    ) -> InstanceState:
        """A restored instance at `target` (drill.restores.Restores.restore)."""
        return self.restored.restore(target, options, backup, timeout, after_fetch, name)

    def restart_restored(self, instance: InstanceState) -> str:
        return self.restored.restart(instance)

    def remove_restored(self, instance: InstanceState) -> None:
        self.restored.remove(instance)


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


def up(directory: Path, stack: str = "dev") -> DrillDeployment:
    """Starts (or finds running) the S3 server and the primary. Idempotent."""
    if stack.endswith((".yaml", ".yml")):
        stack = str(environment.stack_file(stack))
    tools = toolchain()  # before anything is created: a missing tool leaves nothing behind
    state = DrillState.load(directory)
    if state is None:
        state = new_state(directory, stack)
        directory.mkdir(parents=True, exist_ok=True)
        deployment = DrillDeployment(state, tools)
        log(f"starting the S3 server on 127.0.0.1:{state.s3.server_port}")
        deployment.storage.start_server()
        deployment.storage.create_bucket()
        deployment.storage.start_gateway()
        log(f"creating the primary on port {state.primary.port}")
        deployment.create_primary()
        state.save()
        return deployment
    deployment = DrillDeployment(state, tools)
    if not processes.alive(state.s3.server_pid):
        raise HarnessError(
            f"the drill's S3 server in {directory} is gone, and its data with it;"
            " run `python -m drill down` and then `up` again"
        )
    deployment.storage.start()
    if not postgres.running(deployment.primary_base):
        deployment.start_primary()
    return deployment


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
