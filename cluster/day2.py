"""Day-2 changes through `pulumi up` on the running stack (the scenario's `day2`): no
drift after a refresh, a parameter a reload applies, one that needs a restart, a value
PostgreSQL would refuse, a larger volume, new resources. Each change records whether the
primary restarted, how long a client polling every 100 ms could not connect, and whether
every row committed before it is still there."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

import psycopg

from cluster.archive_events import PRIMARY_POD, ArchiveEvents
from cluster.cli import Tools, program_errors
from cluster.config import STACK, STORAGE_CLASS
from cluster.pods import Pods
from cluster.state import ClusterError
from harness.processes import HarnessError, wait_for
from pgpitr import kubernetes_names as kn
from pgpitr.settings.restore import RestoreSettings
from pgpitr.settings.stack import PRIMARY_NAME

PROBE_INTERVAL: Final = 0.1
RELOAD_TIMEOUT: Final = 240.0
"""The kubelet updates a ConfigMap volume within its sync period (a minute or so), then
the config-reloader notices within seconds."""
WORK_MEM: Final = "48MB"
SHARED_BUFFERS: Final = "160MB"
GROWN_SIZE: Final = "3Gi"
GROWN_MEMORY: Final = "320Mi"
CLAIM: Final = kn.statefulset_claim(kn.DATA_VOLUME, PRIMARY_NAME)
RESTORED_NAME: Final = RestoreSettings().name
RESTORED_POD: Final = f"{RESTORED_NAME}-0"
RESTORE_READY_TIMEOUT: Final = 600.0


@dataclass
class Day2Step:
    change: str
    restarted: bool
    downtime_s: float
    rows_ok: bool
    ok: bool
    detail: str = ""


class ClientProbe:
    """A client connecting to the primary's Service every 100 ms in a thread of its own;
    `downtime_s` is the longest time it could not, from its first failed attempt to its
    next successful one."""

    def __init__(self, host: str, password: str) -> None:
        self.host, self.password = host, password
        self.longest = 0.0
        self.failing_since: float | None = None
        self.stopped = threading.Event()

    def attempt(self) -> bool:
        try:
            with psycopg.connect(
                host=self.host, user="postgres", password=self.password, dbname="postgres", connect_timeout=1
            ) as connection:
                connection.execute("SELECT 1")
            return True
        except psycopg.Error:
            return False

    def run(self) -> None:
        while not self.stopped.is_set():
            started = time.monotonic()
            if self.attempt():
                if self.failing_since is not None:
                    self.longest = max(self.longest, started - self.failing_since)
                    self.failing_since = None
            elif self.failing_since is None:
                self.failing_since = started
            self.stopped.wait(max(0.0, PROBE_INTERVAL - (time.monotonic() - started)))

    @property
    def downtime_s(self) -> float:
        still = time.monotonic() - self.failing_since if self.failing_since is not None else 0.0
        return round(max(self.longest, still), 1)


class Day2Changes:
    def __init__(self, tools: Tools, pods: Pods, events: ArchiveEvents, superuser_password: str) -> None:
        self.tools = tools
        self.pods = pods
        self.events = events
        self.password = superuser_password

    # --- helpers ----------------------------------------------------------------------
    def server_identity(self) -> tuple[str, str]:
        """The pod's UID and the postmaster's start time: both stay on a reload."""
        return self.events.uid("pod", PRIMARY_POD), self.pods.sql(PRIMARY_POD, "SELECT pg_postmaster_start_time()")

    @contextlib.contextmanager
    def probing(self) -> Iterator[ClientProbe]:
        host = self.pods.kubectl("get", "service", PRIMARY_NAME, "--output=jsonpath={.spec.clusterIP}")
        probe = ClientProbe(host, self.password)
        thread = threading.Thread(target=probe.run, daemon=True)
        thread.start()
        try:
            yield probe
        finally:
            probe.stopped.set()
            thread.join(timeout=10)

    def up(self) -> None:
        self.tools.pulumi("up", "--yes", "--skip-preview")

    def no_changes(self) -> str:
        """'' when `pulumi preview --expect-no-changes` passes, else its last line."""
        preview = self.tools.pulumi("preview", "--expect-no-changes", check=False)
        return "" if preview.returncode == 0 else f"changes left: {preview.stdout.strip().splitlines()[-1:]}"

    def refused_preview(self, marker: str) -> tuple[list[str], bool]:
        """The one-line errors a failing preview gives from `marker` on; whether it failed."""
        preview = self.tools.pulumi("preview", check=False)
        return program_errors(preview.stdout + preview.stderr, marker), preview.returncode != 0

    def change(self, key: str, value: str, expect_restart: bool) -> Day2Step:
        """`pulumi config set --path key value`, then `pulumi up` with the client probing;
        restarted at most once, as `expect_restart` says, and no row lost."""
        change = f"{key}: {value}"
        rows = self.events.rows()
        before = self.server_identity()
        with self.probing() as probe:
            self.tools.pulumi("config", "set", "--path", key, value)
            self.up()
            self.events.wait_primary()
        after = self.server_identity()
        restarted = after != before
        problems = []
        if restarted != expect_restart:
            problems.append(f"expected {'a restart' if expect_restart else 'no restart'}, got the opposite")
        rows_ok = self.events.rows() == rows
        if not rows_ok:
            problems.append(f"{rows} rows before, {self.events.rows()} after")
        return Day2Step(change, restarted, probe.downtime_s, rows_ok, not problems, "; ".join(problems))

    # --- the changes --------------------------------------------------------------------
    def no_drift(self) -> Day2Step:
        problems = [self.no_changes()]
        self.tools.pulumi("refresh", "--yes", "--skip-preview")
        problems.append(self.no_changes())
        problems = [problem for problem in problems if problem]
        return Day2Step("preview, refresh, preview: no changes", False, 0.0, True, not problems, "; ".join(problems))

    def reload_only(self) -> Day2Step:
        step = self.change("postgresql.work_mem", WORK_MEM, False)
        try:
            wait_for(lambda: self.pods.sql(PRIMARY_POD, "SHOW work_mem") == WORK_MEM, RELOAD_TIMEOUT, "work_mem", 2)
        except HarnessError as error:
            step.ok, step.detail = False, "; ".join(filter(None, [step.detail, str(error)]))
        return step

    def restart_needed(self) -> Day2Step:
        step = self.change("postgresql.shared_buffers", SHARED_BUFFERS, True)
        shown = self.pods.sql(PRIMARY_POD, "SHOW shared_buffers")
        pending = self.pods.sql(PRIMARY_POD, "SELECT count(*) FROM pg_settings WHERE pending_restart")
        if shown != SHARED_BUFFERS or pending != "0":
            step.ok = False
            step.detail = "; ".join(filter(None, [step.detail, f"shared_buffers {shown}, {pending} pending restart"]))
        return step

    def bad_value(self) -> Day2Step:
        before = self.server_identity()
        self.tools.pulumi("config", "set", "--path", "postgresql.shared_buffers", "lots")
        try:
            lines, failed = self.refused_preview("invalid stack config: pgpitr:postgresql.shared_buffers:")
        finally:
            self.tools.pulumi("config", "set", "--path", "postgresql.shared_buffers", SHARED_BUFFERS)
        problems = [] if failed and len(lines) == 1 else [f"the preview must fail in one line; got {lines}"]
        problems += [self.no_changes()]
        if self.server_identity() != before:
            problems.append("the server changed")
        problems = [problem for problem in problems if problem]
        detail = "; ".join(problems) or (lines[0] if lines else "")
        return Day2Step("postgresql.shared_buffers: lots", False, 0.0, True, not problems, detail)

    def larger_volume(self) -> Day2Step:
        """Refused while the StorageClass cannot expand; with allowVolumeExpansion, the
        claim's request grows and the pod keeps running. (The local cluster's volumes are
        directories: no provisioner here resizes them, so the capacity stays as it was.)"""
        self.tools.pulumi("config", "set", "--path", "storage.size", GROWN_SIZE)
        lines, failed = self.refused_preview("invalid stack config: pgpitr:storage.size:")
        problems = (
            [] if failed and len(lines) == 1 else [f"unexpandable class: one refusing line expected; got {lines}"]
        )
        self.tools.kubectl("patch", "storageclass", STORAGE_CLASS, "--patch", '{"allowVolumeExpansion": true}')
        step = self.change("storage.size", GROWN_SIZE, False)
        requested = self.pods.kubectl("get", "pvc", CLAIM, "--output=jsonpath={.spec.resources.requests.storage}")
        template = self.pods.kubectl(
            "get",
            "statefulset",
            PRIMARY_NAME,
            "--output=jsonpath={.spec.volumeClaimTemplates[0].spec.resources.requests.storage}",
        )
        if requested != GROWN_SIZE or template != GROWN_SIZE:
            problems.append(f"the claim requests {requested}, the StatefulSet's template {template}")
        problems += [self.no_changes()]
        problems = [problem for problem in [step.detail, *problems] if problem]
        step.ok = step.ok and not problems
        step.detail = "; ".join(problems) or (f"refused first: {lines[0]}" if lines else "")
        return step

    def replaced_statefulset(self) -> Day2Step:
        """`pulumi up --replace` of the primary's StatefulSet: made again around its pod,
        which keeps running; the state then describes objects that exist."""
        rows = self.events.rows()
        before = self.server_identity()
        parent, kind = "pgpitr:index:PostgresInstance", "kubernetes:apps/v1:StatefulSet"
        urn = f"urn:pulumi:{STACK}::pgpitr::{parent}${kind}::{PRIMARY_NAME}-statefulset"
        with self.probing() as probe:
            self.tools.pulumi("up", "--yes", "--skip-preview", "--replace", urn)
            self.events.wait_primary()
        problems = [] if self.pods.kubectl("get", "statefulset", PRIMARY_NAME, "--output=name") else ["no StatefulSet"]
        restarted = self.server_identity() != before
        if restarted:
            problems.append("the pod was restarted")
        rows_ok = self.events.rows() == rows
        problems += [self.no_changes()]
        problems = [problem for problem in problems if problem]
        return Day2Step(
            "pulumi up --replace of the StatefulSet",
            restarted,
            probe.downtime_s,
            rows_ok,
            not problems and rows_ok,
            "; ".join(problems),
        )

    def new_resources(self) -> Day2Step:
        return self.change("resources.requests.memory", GROWN_MEMORY, True)

    def restore_action(self) -> Day2Step:
        """A restored copy, then `restore.action: pause` on it: a new copy (a new claim),
        paused at the target; the primary untouched. The copy is removed afterwards."""
        before = self.server_identity()
        claim_of = "--output=jsonpath={.spec.volumeClaimTemplates[0].metadata.name}"
        # The scenario's xid target is of an earlier life of the database (destroy and up
        # started a new timeline, and a catch-up backup of it may already be newer than the
        # xid), so the copy here is made for the backup's own consistent point.
        for kind in ("time", "xid"):
            self.tools.pulumi("config", "rm", "--path", f"restore.target.{kind}", check=False)
        self.tools.pulumi("config", "set", "--path", "restore.target.immediate", "true")
        self.tools.pulumi("config", "set", "--path", "restore.enabled", "true")
        self.up()
        self.pods.wait_ready(RESTORED_POD, RESTORE_READY_TIMEOUT)
        first_claim = self.pods.kubectl("get", "statefulset", RESTORED_NAME, claim_of)
        self.tools.pulumi("config", "set", "--path", "restore.action", "pause")
        self.up()
        self.pods.wait_ready(RESTORED_POD, RESTORE_READY_TIMEOUT)
        second_claim = self.pods.kubectl("get", "statefulset", RESTORED_NAME, claim_of)
        annotation = self.pods.annotation(RESTORED_POD, kn.RESTORE_TARGET_ANNOTATION)
        paused = self.pods.sql(RESTORED_POD, "SELECT pg_is_in_recovery()") == "t"
        problems = []
        if second_claim == first_claim:
            problems.append(f"the copy kept its claim {first_claim}")
        if "action=pause" not in annotation or not paused:
            problems.append(f"the copy was made for {annotation!r}, in recovery: {paused}")
        self.tools.pulumi("config", "rm", "--path", "restore.action")
        self.tools.pulumi("config", "set", "--path", "restore.enabled", "false")
        self.up()
        restarted = self.server_identity() != before
        if restarted:
            problems.append("the primary restarted")
        self.tools.pulumi("config", "rm", "--path", "restore.target.immediate")
        detail = "; ".join(problems) or f"{first_claim} -> {second_claim}, {annotation}"
        return Day2Step("restore.action: pause on a running copy", restarted, 0.0, True, not problems, detail)

    def all(self) -> list[Day2Step]:
        steps = []
        for change in (
            self.no_drift,
            self.reload_only,
            self.restart_needed,
            self.bad_value,
            self.larger_volume,
            self.replaced_statefulset,
            self.new_resources,
            self.restore_action,
        ):
            try:
                steps.append(change())
            except (ClusterError, HarnessError) as error:
                steps.append(Day2Step(change.__name__, False, 0.0, False, False, str(error)))
        return steps
