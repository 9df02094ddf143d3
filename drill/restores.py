"""Restored instances as the cluster runs them: the init script (pgpitr-restore) on a new
data directory, then PostgreSQL, waited on until recovery ends as the recovery action
says; restarted through the init script again, as a pod restarts."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import psycopg

from drill import environment, postgres
from drill.state import DrillState, InstanceState, free_port
from harness import processes
from harness.processes import HarnessError
from harness.toolchain import Toolchain
from pgpitr.container_env import recovery_environment
from pgpitr.settings import StackSettings
from pgpitr_runtime import names
from pgpitr_runtime.recovery import RecoveryOptions, RecoveryTarget

RECOVERY_TIMEOUT: Final = 900.0
RESTORE_SCRIPT_TIMEOUT: Final = 3600.0


@dataclass(frozen=True)
class Restores:
    """The restored instances of one drill state folder."""

    state: DrillState
    settings: StackSettings
    tools: Toolchain

    def base(self, name: str) -> Path:
        return self.state.path / name

    def env(self, instance: InstanceState) -> dict[str, str]:
        pgdata = str(postgres.instance_paths(self.base(instance.name))["pgdata"])
        return environment.restore_env(self.state, self.settings, self.tools, pgdata, instance.recovery, instance.name)

    def restore(
        self,
        target: RecoveryTarget,
        options: RecoveryOptions,
        backup: str = "auto",
        timeout: float = RECOVERY_TIMEOUT,
        after_fetch: Callable[[], None] | None = None,
        name: str | None = None,
    ) -> InstanceState:
        """The restored instance; returns when recovery has finished as `options.action`
        says. `name` as restore.name names it in a cluster (default: restored-N)."""
        name = name or f"restored-{len(self.state.restores) + 1}"
        base = self.base(name)
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
        instance.recovery = recovery_environment(target, options, backup, environment.WAL_FETCH_COMMAND)
        self.state.restores.append(instance)
        self.state.save()
        env = self.env(instance)
        result = processes.run(
            [str(environment.SCRIPTS_DIR / names.RESTORE_SCRIPT)],
            env,
            timeout=RESTORE_SCRIPT_TIMEOUT,
            what=names.RESTORE_SCRIPT,
        )
        (base / "restore.log").write_text(result.stderr)
        instance.backup = result.stdout.strip().splitlines()[-1]
        self.state.save()
        postgres.write_conf(base, environment.restored_conf(self.settings))
        if after_fetch is not None:
            after_fetch()
        postgres.start(base, instance.port, env)
        wait_for_recovery(self.state.dsn(instance), instance, base, options, timeout)
        return instance

    def restart(self, instance: InstanceState) -> str:
        """Restarts a restored pod: the init script runs again first, as Kubernetes does.
        Returns the script's log."""
        base = self.base(instance.name)
        env = self.env(instance)
        postgres.stop(self.tools, base, env)
        result = processes.run([str(environment.SCRIPTS_DIR / names.RESTORE_SCRIPT)], env, what=names.RESTORE_SCRIPT)
        postgres.start(base, instance.port, env)
        postgres.wait_until_accepting(self.state.dsn(instance), base)
        return result.stderr

    def stop(self, instance: InstanceState) -> None:
        postgres.stop(self.tools, self.base(instance.name), environment.base_env(self.tools))

    def remove(self, instance: InstanceState) -> None:
        self.stop(instance)
        shutil.rmtree(self.base(instance.name), ignore_errors=True)
        self.state.restores = [r for r in self.state.restores if r.name != instance.name]
        self.state.save()


def wait_for_recovery(dsn: str, instance: InstanceState, base: Path, options: RecoveryOptions, timeout: float) -> None:
    """Until the server at `dsn` has ended recovery as `options.action` says: promoted and
    writable, paused at the target, or shut down at it."""
    deadline = time.monotonic() + timeout

    def stopped() -> HarnessError:
        return HarnessError(f"restored server {instance.name} stopped: {postgres.log_tail(base, 3)}")

    if options.action == "shutdown":
        processes.wait_for(lambda: not postgres.running(base), timeout, f"{instance.name} to shut down")
        if "shutdown at recovery target" not in Path(instance.log).read_text():
            raise stopped()
        return
    while time.monotonic() < deadline:
        if not postgres.running(base):
            raise stopped()
        try:
            with postgres.connect(dsn, timeout=2) as conn:
                row = conn.execute(
                    "SELECT pg_is_in_recovery(), CASE WHEN pg_is_in_recovery() THEN pg_get_wal_replay_pause_state() END"
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
