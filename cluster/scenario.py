"""`python -m cluster scenario` (`make cluster-test`): pgpitr deployed as its users deploy
it, with the real Pulumi CLI and Kubernetes provider, on the local Kubernetes, in pods
running pgpitr's image; restores set with `pulumi config` and checked row by row.

1. `cluster up`; `pulumi up` of the `local` stack: the primary Ready, no pod refused by
   the namespace's restricted Pod Security, WAL arriving in the S3 server.
2. Rows in phases: a base backup by a Job made from the backup CronJob, a target time
   (written with a +05:30 offset), an xid, more rows after each.
3. `restore.enabled` with the time target, `pulumi up`: the restored instance holds
   exactly the rows committed before it; then an xid target: it is replaced and holds
   exactly those.
4. The restore drill and WAL chain CronJobs, run as Jobs, succeed. The PodMonitor and
   PrometheusRule were admitted against their CRDs, and the primary's exporter sidecar
   serves every metric the alert rules select, with pg_up 1.
5. A misspelt config key: `pulumi preview` fails with one line naming it; nothing changes.
6. The archive through the database's life (cluster/archive_events.py), the restored
   instance removed first: a restart of the primary while the S3 server is stopped, then
   resumed (the WAL chain Job succeeds); its PVC deleted with its pod (back with every
   archived row); a namespace change (refused at preview); `pulumi destroy` then
   `pulumi up` (back from the archive). Each is an entry of `archive_events`.
7. Day-2 changes through `pulumi up` (cluster/day2.py), each an entry of `day2`: no drift
   after a refresh; work_mem reloaded without a restart; shared_buffers with one restart;
   a bad value refused at preview; a larger volume (refused while the StorageClass cannot
   expand, then grown in place); `pulumi up --replace` of the StatefulSet (its pod
   kept); new resources with one restart; `restore.action` on a running copy (a new
   copy). Each records the restart, a 100 ms client's longest time without a
   connection, and the rows.
8. `pulumi destroy`: no pgpitr object left; `cluster down`: the machine as it was.

The last line on stdout is one JSON object (README "A local Kubernetes").
"""

from __future__ import annotations

import datetime
import json
import shutil
import time
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Final

from cluster import s3, snapshot
from cluster.archive_events import ArchiveEvent, ArchiveEvents
from cluster.cli import Tools, program_errors
from cluster.config import BUCKET, DEFAULT_NAMESPACE, STACK, WorkDir
from cluster.day2 import Day2Changes, Day2Step
from cluster.lifecycle import Cluster
from cluster.pods import MONITORING_RESOURCES, Pods, pgpitr_objects
from cluster.state import ClusterError, Credentials, Progress
from drill.exporter import parse_exposition
from harness.paths import REPOSITORY_ROOT
from harness.processes import HarnessError, wait_for
from pgpitr import kubernetes_names as kn
from pgpitr.monitoring.rule_metrics import exporter_metric_names
from pgpitr.settings.restore import RestoreSettings
from pgpitr.settings.stack import PRIMARY_NAME
from pgpitr_runtime.archive import LOCATIONS_SUFFIX, MANIFEST_OBJECT

STACK_FILE: Final = REPOSITORY_ROOT / f"Pulumi.{STACK}.yaml"
PRIMARY_POD: Final = f"{PRIMARY_NAME}-0"
RESTORED_POD: Final = f"{RestoreSettings().name}-0"
TABLE: Final = "pgpitr_scenario"
ROWS_PER_PHASE: Final = 10
TARGET_OFFSET: Final = datetime.timezone(datetime.timedelta(hours=5, minutes=30))
"""Targets are written with an explicit offset other than UTC's."""
READY_TIMEOUT: Final = 300.0
ARCHIVE_TIMEOUT: Final = 120.0
EXPORTER_TIMEOUT: Final = 60.0
MISSPELT_KEY: Final = "backup.shedule"
ARCHIVE_EVENTS: Final = 4
DAY2_CHANGES: Final = 8


@dataclass
class RestoreResult:
    target: str
    rows_expected: int
    rows_found: int
    ok: bool
    seconds: float
    detail: str = ""


@dataclass
class ScenarioResult:
    ok: bool = False
    setup_s: float | None = None
    deploy_s: float | None = None
    primary_ready_s: float | None = None
    restores: list[RestoreResult] = field(default_factory=list)
    jobs: dict[str, float] = field(default_factory=dict)
    """Seconds each Job made from a CronJob took to complete."""
    monitoring: dict[str, Any] = field(default_factory=dict)
    """The PodMonitor and PrometheusRule as the API server holds them, and the exporter
    sidecar scraped: every metric the rules select present."""
    typo_preview: str = ""
    """The one line `pulumi preview` failed with on a misspelt key."""
    archive_events: list[ArchiveEvent] = field(default_factory=list)
    """Restarts, a lost volume, a namespace change, destroy and up: rows before and after."""
    day2: list[Day2Step] = field(default_factory=list)
    """Changes through `pulumi up` on the running stack: restarts, downtime, rows kept."""
    destroyed: bool = False
    machine_restored: bool = False
    machine_differences: dict[str, Any] = field(default_factory=dict)
    scenario_s: float | None = None
    error: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def timed(action: Callable[[], object]) -> float:
    started = time.monotonic()
    action()
    return round(time.monotonic() - started, 1)


class Scenario:
    def __init__(self, work: WorkDir, progress: Progress) -> None:
        self.work = work
        self.progress = progress
        self.cluster = Cluster(work, progress)
        self.result = ScenarioResult()
        self.config_file = work.root / STACK_FILE.name
        self.tools = Tools.with_env(self.cluster.pulumi_env(), work.bin, self.config_file)
        self.pods = Pods(self.tools, DEFAULT_NAMESPACE)
        self.stack_created = False

    def step(self, message: str) -> None:
        self.progress.step(f"scenario: {message}")

    # --- 1. deploy ----------------------------------------------------------------------
    def set_up(self) -> None:
        self.result.setup_s = timed(lambda: self.cluster.up(DEFAULT_NAMESPACE))
        shutil.copyfile(STACK_FILE, self.config_file)

    def deploy(self) -> None:
        started = time.monotonic()
        self.tools.pulumi_stack("select", "--create", STACK)
        self.stack_created = True
        self.result.deploy_s = timed(lambda: self.tools.pulumi("up", "--yes", "--skip-preview"))
        self.pods.wait_ready(PRIMARY_POD, READY_TIMEOUT)
        self.result.primary_ready_s = round(time.monotonic() - started, 1)
        self.step(f"pulumi up: {PRIMARY_POD} Ready after {self.result.primary_ready_s}s")
        self.pods.sql(PRIMARY_POD, f"CREATE TABLE {TABLE} (id serial PRIMARY KEY, phase int NOT NULL)")
        self.archived_up_to(self.pods.sql(PRIMARY_POD, "SELECT pg_switch_wal()"))
        credentials = Credentials.ensure(self.work)
        prefix = f"{STACK}/{PRIMARY_NAME}/wal_005/"
        listed = s3.client(credentials).list_objects_v2(Bucket=BUCKET, Prefix=prefix)
        if not listed.get("KeyCount"):
            raise ClusterError(f"no WAL under s3://{BUCKET}/{prefix} although PostgreSQL reports it archived")
        self.step(f"WAL arriving in the S3 server ({listed['KeyCount']} objects under {prefix})")
        self.locations_output_matches_the_manifest(s3.client(credentials))

    def locations_output_matches_the_manifest(self, client: Any) -> None:
        """`archiveLocations` names the location the primary settled in its manifest."""
        output = json.loads(self.tools.pulumi_stack("output", "archiveLocations", "--json"))
        key = f"{STACK}/{PRIMARY_NAME}{LOCATIONS_SUFFIX}/{MANIFEST_OBJECT}"
        manifest = json.loads(client.get_object(Bucket=BUCKET, Key=key)["Body"].read())
        written = [(location["number"], location["prefix"]) for location in manifest["locations"]]
        named = [
            (location["number"], location["prefix"]) for location in [*reversed(output["earlier"]), output["current"]]
        ]
        if written != named or output["manifest"] != f"s3://{BUCKET}/{key}":
            raise ClusterError(f"the archiveLocations output names {named}, the manifest {written}")
        self.step(f"archiveLocations output: {named}, as the manifest")

    def archived_up_to(self, lsn: str) -> None:
        """Waits until the segment holding `lsn` - 1 (what pg_switch_wal returns) is archived."""
        query = f"SELECT coalesce(last_archived_wal >= pg_walfile_name('{lsn}'), false) FROM pg_stat_archiver"
        try:
            wait_for(lambda: self.pods.sql(PRIMARY_POD, query) == "t", ARCHIVE_TIMEOUT, f"WAL up to {lsn} archived", 1)
        except HarnessError as error:
            raise ClusterError(str(error)) from None

    # --- 2. rows, a backup, targets -------------------------------------------------------
    def write_phase(self, phase: int) -> str:
        """ROWS_PER_PHASE rows of `phase` in one transaction; returns its xid."""
        rows = f"INSERT INTO {TABLE} (phase) SELECT {phase} FROM generate_series(1, {ROWS_PER_PHASE})"
        return self.pods.sql(PRIMARY_POD, f"{rows}; SELECT txid_current()")

    def ids_through(self, phase: int) -> list[int]:
        listed = self.pods.sql(PRIMARY_POD, f"SELECT id FROM {TABLE} WHERE phase <= {phase} ORDER BY id")
        return [int(line) for line in listed.split()]

    def target_time(self) -> str:
        utc = self.pods.sql(
            PRIMARY_POD, "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')"
        )
        moment = datetime.datetime.fromisoformat(utc).replace(tzinfo=datetime.UTC)
        return moment.astimezone(TARGET_OFFSET).isoformat()

    # --- 3. restores ----------------------------------------------------------------------
    def restore(self, kind: str, value: str, expected: list[int], replaces: str | None) -> None:
        started = time.monotonic()
        if replaces is not None:
            self.tools.pulumi("config", "rm", "--path", f"restore.target.{replaces}")
        self.tools.pulumi("config", "set", "--path", "restore.enabled", "true")
        self.tools.pulumi("config", "set", "--path", f"restore.target.{kind}", value)
        self.tools.pulumi("up", "--yes", "--skip-preview")
        self.pods.wait_ready(RESTORED_POD, READY_TIMEOUT)
        annotation = self.pods.annotation(RESTORED_POD, kn.RESTORE_TARGET_ANNOTATION)
        found = [int(line) for line in self.pods.sql(RESTORED_POD, f"SELECT id FROM {TABLE} ORDER BY id").split()]
        promoted = self.pods.sql(RESTORED_POD, "SELECT NOT pg_is_in_recovery()") == "t"
        problems = []
        if not annotation.startswith(f"{kind}={value}"):
            problems.append(f"the restored pod was made for {annotation!r}")
        if found != expected:
            problems.append(
                f"missing {sorted(set(expected) - set(found))[:5]}, unexpected {sorted(set(found) - set(expected))[:5]}"
            )
        if not promoted:
            problems.append("still in recovery")
        outcome = RestoreResult(
            target=f"{kind} {value}",
            rows_expected=len(expected),
            rows_found=len(found),
            ok=not problems,
            seconds=round(time.monotonic() - started, 1),
            detail="; ".join(problems),
        )
        self.result.restores.append(outcome)
        verdict = "ok" if outcome.ok else outcome.detail
        self.step(f"restore to {outcome.target}: {outcome.rows_found}/{outcome.rows_expected} rows, {verdict}")

    # --- monitoring -----------------------------------------------------------------------
    def monitoring(self) -> None:
        """The monitoring objects were admitted against their CRDs, and the primary's
        exporter sidecar produces every metric the alert rules select."""
        monitors, rules = (self.pods.custom_objects(resource) for resource in MONITORING_RESOURCES)
        if len(monitors) != 1 or len(rules) != 1:
            found = f"{len(monitors)} and {len(rules)}"
            raise ClusterError(f"expected one PodMonitor and one PrometheusRule, found {found}")
        wanted = exporter_metric_names(rules[0]["spec"]["groups"])
        url = f"http://{self.pods.pod_ip(PRIMARY_POD)}:{kn.EXPORTER_METRICS_PORT}/metrics"
        scraped: dict[str, float] = {}

        def scrape() -> bool:
            try:
                with urllib.request.urlopen(url, timeout=10) as response:
                    scraped.update(parse_exposition(response.read().decode()))
            except OSError:
                return False
            return scraped.get("pg_up") == 1 and wanted <= scraped.keys()

        try:
            wait_for(scrape, EXPORTER_TIMEOUT, f"the exporter at {url} to serve every metric the rules select", 2)
        except HarnessError:
            missing = sorted(wanted - scraped.keys())
            raise ClusterError(
                f"the exporter sidecar at {url}: pg_up {scraped.get('pg_up')}, missing {missing or 'nothing'}"
            ) from None
        alerts = sum(len(group["rules"]) for group in rules[0]["spec"]["groups"])
        self.result.monitoring = {
            "podmonitor": monitors[0]["metadata"]["name"],
            "prometheusrule": rules[0]["metadata"]["name"],
            "alerts": alerts,
            "exporter_metrics_checked": sorted(wanted),
            "pg_up": scraped["pg_up"],
            "archived_count": scraped.get("pg_stat_archiver_archived_count"),
        }
        self.step(
            f"monitoring: PodMonitor and PrometheusRule ({alerts} alerts) admitted; the exporter sidecar serves "
            f"all {len(wanted)} metrics the rules select"
        )

    # --- 4, 5 -----------------------------------------------------------------------------
    def run_job(self, cronjob: str, job: str) -> None:
        self.result.jobs[cronjob] = timed(lambda: self.pods.run_job_from(cronjob, job))
        self.step(f"Job {job} from CronJob {cronjob} completed in {self.result.jobs[cronjob]}s")

    def misspelt_key_preview(self) -> None:
        self.tools.pulumi("config", "set", "--path", MISSPELT_KEY, "0 3 * * *")
        try:
            preview = self.tools.pulumi("preview", check=False)
        finally:
            self.tools.pulumi("config", "rm", "--path", MISSPELT_KEY)
        errors = program_errors(preview.stdout, "invalid stack config")
        if preview.returncode == 0 or len(errors) != 1 or f"pgpitr:{MISSPELT_KEY}" not in errors[0]:
            raise ClusterError(
                f"a misspelt key must fail the preview with one line naming it; got {errors or preview.stdout[-300:]}"
            )
        self.result.typo_preview = errors[0]
        self.tools.pulumi("preview", "--expect-no-changes")
        self.step(f"pulumi preview with {MISSPELT_KEY}: {self.result.typo_preview}; without it: no changes")

    # --- 6. destroy -----------------------------------------------------------------------
    def destroy(self) -> None:
        self.tools.pulumi("destroy", "--yes", "--skip-preview")
        left = pgpitr_objects(self.tools)
        namespace_gone = not self.tools.kubectl("get", "namespaces", "--output=name").count(
            f"namespace/{DEFAULT_NAMESPACE}\n"
        )
        self.tools.pulumi_stack("rm", "--yes", "--preserve-config", STACK)
        self.result.destroyed = not left and namespace_gone
        self.step(
            f"pulumi destroy: {len(left)} pgpitr objects left, namespace {'gone' if namespace_gone else 'still there'}"
        )

    def run(self) -> ScenarioResult:
        ids: dict[int, list[int]] = {}
        self.set_up()
        self.deploy()
        self.write_phase(1)
        self.run_job(kn.backup_cronjob(PRIMARY_NAME), "backup-scenario")
        self.write_phase(2)
        ids[2] = self.ids_through(2)
        time_target = self.target_time()
        self.write_phase(3)
        xid = self.write_phase(4)
        ids[4] = self.ids_through(4)
        self.write_phase(5)
        self.archived_up_to(self.pods.sql(PRIMARY_POD, "SELECT pg_switch_wal()"))
        self.restore("time", time_target, ids[2], replaces=None)
        self.restore("xid", xid, ids[4], replaces="time")
        self.run_job(kn.drill_cronjob(PRIMARY_NAME), "verify-restore-scenario")
        self.run_job(kn.chain_cronjob(PRIMARY_NAME), "wal-chain-scenario")
        self.monitoring()
        refused = self.pods.failed_creations()
        if refused:
            raise ClusterError(f"pods refused: {refused[0]}")
        self.misspelt_key_preview()
        self.archive_life()
        self.day2_changes()
        return self.result

    # --- 6. the archive through the database's life -----------------------------------------
    def archive_life(self) -> None:
        self.tools.pulumi("config", "set", "--path", "restore.enabled", "false")
        self.tools.pulumi("up", "--yes", "--skip-preview")
        events = ArchiveEvents(self.cluster, self.tools, self.pods, TABLE, kn.chain_cronjob(PRIMARY_NAME))
        happenings: list[Callable[[], ArchiveEvent]] = [
            events.restart_during_outage,
            events.lost_volume,
            events.namespace_change,
            events.destroy_and_up,
        ]
        for happen in happenings:
            outcome = happen()
            self.result.archive_events.append(outcome)
            verdict = "ok" if outcome.ok else "FAILED"
            self.step(
                f"{outcome.event}: {outcome.rows_found}/{outcome.rows_expected} rows, {outcome.seconds}s, {verdict}"
                + (f" ({outcome.detail})" if outcome.detail else "")
            )

    # --- 7. day-2 changes through pulumi up --------------------------------------------------
    def day2_changes(self) -> None:
        events = ArchiveEvents(self.cluster, self.tools, self.pods, TABLE, kn.chain_cronjob(PRIMARY_NAME))
        password = Credentials.ensure(self.cluster.work).passwords[kn.SUPERUSER_PASSWORD_KEY]
        for step in Day2Changes(self.tools, self.pods, events, password).all():
            self.result.day2.append(step)
            verdict = "ok" if step.ok else "FAILED"
            restart = "restarted" if step.restarted else "not restarted"
            self.step(
                f"{step.change}: {restart}, {step.downtime_s}s without a connection, {verdict}"
                + (f" ({step.detail})" if step.detail else "")
            )


def run(work: WorkDir, progress: Progress) -> ScenarioResult:
    """The whole scenario; whatever fails, the stack is destroyed, the cluster stopped and
    the machine compared with how it was."""
    before = snapshot.take()
    scenario = Scenario(work, progress)
    result = scenario.result
    try:
        scenario.run()
    except (ClusterError, HarnessError) as error:
        trouble = scenario.pods.node_trouble()
        result.error = f"{error} ({trouble})" if trouble else str(error)
        scenario.step(f"failed: {result.error}")
    finally:
        if scenario.stack_created:
            try:
                scenario.destroy()
            except ClusterError as error:
                result.error = result.error or f"destroy: {error}"
        down = scenario.cluster.down()
        result.machine_differences = snapshot.differences(before, snapshot.take())
        result.machine_restored = bool(down.get("ok")) and not result.machine_differences
    result.scenario_s = round(progress.elapsed(), 1)
    result.ok = (
        not result.error
        and len(result.restores) == 2
        and all(restore.ok for restore in result.restores)
        and bool(result.monitoring)
        and len(result.archive_events) == ARCHIVE_EVENTS
        and all(event.ok for event in result.archive_events)
        and len(result.day2) == DAY2_CHANGES
        and all(step.ok for step in result.day2)
        and result.destroyed
        and result.machine_restored
    )
    return result
