"""The archive through the life of the database on the real cluster (the scenario's
`archive_events`): a restart of the primary while the S3 server is stopped, its volume
lost, `pulumi destroy` and `pulumi up` of the stack, and a namespace change. Each event
counts the rows the primary held before and finds after."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

from cluster import api as k8s
from cluster import objects
from cluster.cli import Tools, program_errors
from cluster.config import DEFAULT_NAMESPACE
from cluster.lifecycle import Cluster
from cluster.pods import Pods
from cluster.state import ClusterError, Credentials
from harness.processes import HarnessError, wait_for
from pgpitr import kubernetes_names as kn
from pgpitr.settings.stack import PRIMARY_NAME

PRIMARY_POD: Final = f"{PRIMARY_NAME}-0"
READY_TIMEOUT: Final = 600.0
"""A pod brought back from the archive: the restore in its init container, then replay."""
MOVED_NAMESPACE: Final = "database-moved"
STORAGE_PAUSE_SWITCHES: Final = 3
CLAIM_GRACE_SECONDS: Final = 30.0


@dataclass
class ArchiveEvent:
    event: str
    rows_expected: int
    rows_found: int
    seconds: float
    ok: bool
    detail: str = ""


class ArchiveEvents:
    """What happens to the archive, and to the rows, when the database's life goes on."""

    def __init__(self, cluster: Cluster, tools: Tools, pods: Pods, table: str, chain_cronjob: str) -> None:
        self.chain_cronjob = chain_cronjob
        self.cluster = cluster
        self.tools = tools
        self.pods = pods
        self.table = table

    # --- helpers ----------------------------------------------------------------------
    def rows(self) -> int:
        return int(self.pods.sql(PRIMARY_POD, f"SELECT count(*) FROM {self.table}"))

    def write_rows(self, count: int) -> None:
        self.pods.sql(PRIMARY_POD, f"INSERT INTO {self.table} (phase) SELECT 100 FROM generate_series(1, {count})")

    def switch_wal(self) -> str:
        return self.pods.sql(PRIMARY_POD, "SELECT pg_walfile_name(pg_switch_wal())")

    def ready_segments(self) -> int:
        listed = self.pods.kubectl(
            "exec", PRIMARY_POD, "--container", "postgres", "--", "sh", "-c", "ls $PGDATA/pg_wal/archive_status"
        )
        return sum(1 for name in listed.split() if name.endswith(".ready"))

    def wait_primary(self) -> None:
        """The primary's pod Ready and promoted (a database brought back from its archive
        accepts read-only connections while it replays)."""
        self.pods.wait_ready(PRIMARY_POD, READY_TIMEOUT)
        try:
            wait_for(
                lambda: self.pods.sql(PRIMARY_POD, "SELECT pg_is_in_recovery()") == "f",
                READY_TIMEOUT,
                f"{PRIMARY_POD} to finish recovery",
                2,
            )
        except HarnessError as error:
            raise ClusterError(str(error)) from None

    def wait_archived(self) -> None:
        """Everything up to now archived (the current segment switched out first)."""
        segment = self.switch_wal()
        query = f"SELECT coalesce(last_archived_wal >= '{segment}', false) FROM pg_stat_archiver"
        try:
            wait_for(lambda: self.pods.sql(PRIMARY_POD, query) == "t", 180, f"WAL segment {segment} archived", 2)
        except HarnessError as error:
            raise ClusterError(str(error)) from None

    def uid(self, kind: str, name: str) -> str:
        try:
            return self.pods.kubectl("get", kind, name, "--output=jsonpath={.metadata.uid}")
        except ClusterError:
            return ""

    def await_new_claim(self, claim: str, old_uid: str) -> None:
        """Until the StatefulSet has made its pod a new claim. A pod made while the old
        claim was still being deleted waits for it forever: it is deleted once more."""
        deadline = time.monotonic() + READY_TIMEOUT
        missing_since: float | None = None
        while time.monotonic() < deadline:
            uid = self.uid("pvc", claim)
            if uid and uid != old_uid:
                return
            if not uid:
                missing_since = missing_since or time.monotonic()
                if time.monotonic() - missing_since > CLAIM_GRACE_SECONDS:
                    self.pods.kubectl("delete", "pod", PRIMARY_POD, "--wait=true", "--timeout=300s", timeout=330)
                    missing_since = None
            time.sleep(2)
        raise ClusterError(f"the StatefulSet made no new claim {claim} within {READY_TIMEOUT:.0f}s")

    def events_with_reason(self, reason: str) -> list[str]:
        listed = self.pods.kubectl("get", "events", "--field-selector", f"reason={reason}", "--output=name")
        return listed.split()

    @contextlib.contextmanager
    def storage_stopped(self) -> Iterator[None]:
        """The S3 server frozen (SIGSTOP): connections are accepted and never answered,
        the worst case of a storage outage; always resumed after."""
        record = self.cluster.state.processes.get("s3")
        if record is None or not self.cluster.running("s3"):
            raise ClusterError("the S3 server is not running")
        os.kill(record.pid, signal.SIGSTOP)
        try:
            yield
        finally:
            os.kill(record.pid, signal.SIGCONT)

    def outcome(self, event: str, expected: int, found: int, started: float, problems: list[str]) -> ArchiveEvent:
        if found != expected:
            problems.insert(0, f"{expected - found} of {expected} rows lost")
        return ArchiveEvent(
            event=event,
            rows_expected=expected,
            rows_found=found,
            seconds=round(time.monotonic() - started, 1),
            ok=not problems,
            detail="; ".join(problems),
        )

    # --- the events -------------------------------------------------------------------
    def restart_during_outage(self) -> ArchiveEvent:
        """The primary restarted while the S3 server is stopped: the restart ends within
        the grace period, keeps every segment storage never got, and once storage is back
        the chain is whole (the WAL chain Job succeeds)."""
        started = time.monotonic()
        problems: list[str] = []
        with self.storage_stopped():
            for _ in range(STORAGE_PAUSE_SWITCHES):
                self.write_rows(50)
                self.switch_wal()
            expected = self.rows()
            waiting = self.ready_segments()
            stop_started = time.monotonic()
            self.pods.kubectl("delete", "pod", PRIMARY_POD, "--wait=true", "--timeout=300s", timeout=330)
            stop_seconds = time.monotonic() - stop_started
            self.pods.wait_ready(PRIMARY_POD, READY_TIMEOUT)
            kept = self.ready_segments()
        if kept < waiting:
            problems.append(f"{waiting} segments waited to be archived before the restart, {kept} after it")
        self.wait_archived()
        try:
            self.pods.run_job_from(self.chain_cronjob, "wal-chain-after-outage")
        except ClusterError as error:
            problems.append(str(error))
        found = self.rows()
        detail = f"{waiting} segments waiting at the restart, {kept} after; the pod stopped in {stop_seconds:.0f}s"
        result = self.outcome("restart during a storage outage", expected, found, started, problems)
        result.detail = "; ".join(filter(None, [result.detail, detail]))
        return result

    def lost_volume(self) -> ArchiveEvent:
        """The primary's PVC deleted with its pod: the new, empty volume comes back from the
        archive with every archived row, announced by an Event."""
        started = time.monotonic()
        self.write_rows(40)
        expected = self.rows()
        claim = f"{kn.DATA_VOLUME}-{PRIMARY_POD}"
        old_claim = self.uid("pvc", claim)
        self.pods.kubectl("delete", "pvc", claim, "--wait=false")
        self.pods.kubectl("delete", "pod", PRIMARY_POD, "--wait=true", "--timeout=300s", timeout=330)
        self.await_new_claim(claim, old_claim)
        self.wait_primary()
        problems = []
        if not self.events_with_reason("RestoredFromArchive"):
            problems.append("no RestoredFromArchive Event")
        return self.outcome("PVC deleted with its pod", expected, self.rows(), started, problems)

    def destroy_and_up(self) -> ArchiveEvent:
        """`pulumi destroy`, then `pulumi up` of the same stack (the bucket kept): the
        database comes back from its archive. The namespace's Secrets, which the stack
        expects to exist (Pulumi.local.yaml), are made again as `cluster up` made them."""
        started = time.monotonic()
        self.write_rows(30)
        expected = self.rows()
        self.tools.pulumi("destroy", "--yes", "--skip-preview")
        api = self.cluster.api()
        objects.ensure_volumes(api, self.cluster.work)
        credentials = Credentials.ensure(self.cluster.work)
        for manifest in objects.stack_objects(DEFAULT_NAMESPACE, credentials):
            k8s.apply(api, manifest)
        self.tools.pulumi("up", "--yes", "--skip-preview")
        self.wait_primary()
        return self.outcome("pulumi destroy, then pulumi up", expected, self.rows(), started, [])

    def namespace_change(self) -> ArchiveEvent:
        """A new `namespace` on the deployed stack: refused by the preview in one line,
        nothing changed."""
        started = time.monotonic()
        expected = self.rows()
        problems = []
        self.tools.pulumi("config", "set", "namespace", MOVED_NAMESPACE)
        try:
            preview = self.tools.pulumi("preview", check=False)
        finally:
            self.tools.pulumi("config", "set", "namespace", DEFAULT_NAMESPACE)
        marker = "invalid stack config: pgpitr:namespace: cannot change on a deployed stack"
        lines = program_errors(preview.stdout, marker)
        if preview.returncode == 0 or len(lines) != 1:
            problems.append(
                f"the preview must fail with one line naming namespace; got {lines or preview.stdout[-300:]}"
            )
        self.tools.pulumi("preview", "--expect-no-changes")
        result = self.outcome("namespace change", expected, self.rows(), started, problems)
        result.detail = "; ".join(filter(None, [result.detail, lines[0] if lines else ""]))
        return result
