"""The PrometheusRule groups: alerts that page when recovery is at risk and stay quiet
otherwise (the article's two alerts could not: one used a metric nothing produces, the
other fired forever after a single archiving failure)."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import Any

from pgpitr.schedules import longest_gap_seconds
from pgpitr.settings.monitoring import MonitoringSettings
from pgpitr.settings.verify import VerifySettings

EXPORTER_JOB_SUFFIX = "postgres"
"""The PodMonitor's name; Prometheus labels its targets job="<namespace>/<name>"."""
INSTANCE_LABEL = "pgpitr_instance"
"""Added by the PodMonitor from the pod's app.kubernetes.io/instance label."""
ARCHIVE_WINDOW = "10m"


def exporter_queries() -> str:
    """The exporter's extra queries file, shipped as it is in the repository."""
    return resources.files("pgpitr.monitoring").joinpath("postgres_exporter_queries.yaml").read_text()


@dataclass(frozen=True)
class Alert:
    name: str
    expr: str
    for_: str
    severity: str
    summary: str
    description: str
    anchor: str

    def rule(self, runbook_url: str) -> dict[str, Any]:
        return {
            "alert": self.name,
            "expr": self.expr,
            "for": self.for_,
            "labels": {"severity": self.severity},
            "annotations": {
                "summary": self.summary,
                "description": self.description,
                "runbook_url": f"{runbook_url}#{self.anchor}",
            },
        }


def latest_job_failed(namespace: str, job_prefix: str) -> str:
    """The most recent Job of a CronJob (by start time, from kube-state-metrics) failed;
    an older failure followed by a success stays silent."""
    jobs = f'namespace="{namespace}", job_name=~"{job_prefix}-.*"'
    return (
        f"(max by (namespace, job_name) (kube_job_status_start_time{{{jobs}}})\n"
        f"  == on (namespace) group_left max by (namespace) (kube_job_status_start_time{{{jobs}}}))\n"
        f"and on (namespace, job_name) (kube_job_status_failed{{{jobs}}} > 0)"
    )


def alerts(
    namespace: str, primary: str, backup_job_prefix: str, catch_up_job_prefix: str, settings: MonitoringSettings
) -> list[Alert]:
    """One alert per way recovery can silently become impossible."""
    job = f'job="{namespace}/{EXPORTER_JOB_SUFFIX}"'
    on_primary = f'{job}, {INSTANCE_LABEL}="{primary}"'
    max_age = settings.backup_max_age_hours * 3600
    return [
        Alert(
            name="PgpitrWalArchivingFailing",
            expr=(
                f"increase(pg_stat_archiver_failed_count{{{job}}}[{ARCHIVE_WINDOW}]) > 0\n"
                f"and increase(pg_stat_archiver_archived_count{{{job}}}[{ARCHIVE_WINDOW}]) == 0"
            ),
            for_="5m",
            severity="critical",
            summary="WAL archiving to S3 is failing on {{ $labels.pgpitr_instance }}",
            description=(
                f"archive_command (wal-g wal-push) kept failing for {ARCHIVE_WINDOW} and archived nothing:"
                " transactions committed since cannot be recovered, and pg_wal grows."
            ),
            anchor="pgpitrwalarchivingfailing",
        ),
        Alert(
            name="PgpitrWalArchiveBacklog",
            expr=f"pg_wal_archive_oldest_ready_age_seconds{{{job}}} > {settings.archive_lag_seconds}",
            for_="5m",
            severity="warning",
            summary="WAL waits to be archived on {{ $labels.pgpitr_instance }}",
            description=(
                f"A WAL segment has waited more than {settings.archive_lag_seconds}s to be archived:"
                " it and everything after it would be lost with the volume."
            ),
            anchor="pgpitrwalarchivebacklog",
        ),
        Alert(
            name="PgpitrBaseBackupTooOld",
            expr=(
                f"time() - pgpitr_backup_last_success_timestamp_seconds{{{on_primary}}} > {max_age}\n"
                f"and time() - pgpitr_backup_tracking_since_timestamp_seconds{{{on_primary}}} > {max_age}"
            ),
            for_="15m",
            severity="critical",
            summary="No successful base backup of {{ $labels.pgpitr_instance }} for too long",
            description=(
                f"The newest successful base backup is older than {settings.backup_max_age_hours}h: "
                "restores take longer and retention may have nothing recent to keep."
            ),
            anchor="pgpitrbasebackuptooold",
        ),
        Alert(
            name="PgpitrBackupJobFailed",
            expr=latest_job_failed(namespace, backup_job_prefix),
            for_="0m",
            severity="critical",
            summary="The latest base backup Job failed",
            description="Job {{ $labels.job_name }} (the most recent backup run) failed; see its logs.",
            anchor="pgpitrbackupjobfailed",
        ),
        Alert(
            name="PgpitrCatchUpBackupFailing",
            expr=latest_job_failed(namespace, catch_up_job_prefix),
            # It runs every 5 minutes: a failure it outlives (the primary still rolling
            # onto a new archive location) is not one to wake anyone for.
            for_="15m",
            severity="critical",
            summary="The catch-up base backup keeps failing",
            description=(
                "Job {{ $labels.job_name }} could not take the base backup the archive's current location"
                " lacks (after a first deploy, an encryption change or a restore from the archive): until it"
                " succeeds, no restore can start from a backup of the primary's timeline."
            ),
            anchor="pgpitrcatchupbackupfailing",
        ),
        Alert(
            name="PgpitrPostgresDown",
            expr=f"pg_up{{{job}}} == 0",
            for_="2m",
            severity="critical",
            summary="PostgreSQL {{ $labels.pgpitr_instance }} does not answer its exporter",
            description="postgres_exporter cannot connect to PostgreSQL: the database is down or refusing logins.",
            anchor="pgpitrpostgresdown",
        ),
        Alert(
            name="PgpitrExporterDown",
            expr=f"up{{{job}}} == 0\nor absent(up{{{on_primary}}})",
            for_="5m",
            severity="critical",
            summary="The PostgreSQL metrics of {{ $labels.pgpitr_instance }} are not scraped",
            description=(
                "Prometheus cannot scrape postgres_exporter (or has no target for the primary): "
                "every other pgpitr alert is blind."
            ),
            anchor="pgpitrexporterdown",
        ),
    ]


def cronjob_overdue(namespace: str, cronjob: str, seconds: int) -> str:
    """No successful run for `seconds`, counting from creation until the first success."""
    selector = f'namespace="{namespace}", cronjob="{cronjob}"'
    return (
        f"time() - max by (namespace, cronjob) (kube_cronjob_status_last_successful_time{{{selector}}}\n"
        f"  or kube_cronjob_created{{{selector}}}) > {seconds}"
    )


def verify_alerts(namespace: str, drill_job: str, chain_job: str, verify: VerifySettings) -> list[Alert]:
    """Alerts on the in-cluster recoverability checks (kube-state-metrics)."""
    found: list[Alert] = []
    if verify.drill.enabled:
        overdue = longest_gap_seconds(verify.drill.schedule) + verify.drill.margin_hours * 3600
        found += [
            Alert(
                name="PgpitrRestoreDrillFailed",
                expr=latest_job_failed(namespace, drill_job),
                for_="0m",
                severity="critical",
                summary="The scheduled restore drill failed",
                description="Job {{ $labels.job_name }} could not restore and check the latest backup: "
                "a real restore would fail the same way.",
                anchor="pgpitrrestoredrillfailed",
            ),
            Alert(
                name="PgpitrRestoreDrillOverdue",
                expr=cronjob_overdue(namespace, drill_job, overdue),
                for_="30m",
                severity="warning",
                summary="No successful restore drill for longer than its schedule allows",
                description=f"The restore drill has not succeeded for over {overdue // 3600}h "
                "(its schedule plus the margin): nobody knows whether the backups restore.",
                anchor="pgpitrrestoredrilloverdue",
            ),
        ]
    if verify.wal_chain.enabled:
        found.append(
            Alert(
                name="PgpitrWalChainBroken",
                expr=latest_job_failed(namespace, chain_job),
                for_="0m",
                severity="critical",
                summary="The WAL chain in storage has a gap",
                description="Job {{ $labels.job_name }} (wal-g wal-verify) found WAL missing between the oldest "
                "backup and now: point-in-time recovery past the gap is impossible.",
                anchor="pgpitrwalchainbroken",
            )
        )
    return found


def rule_groups(
    namespace: str,
    primary: str,
    backup_job_prefix: str,
    catch_up_job_prefix: str,
    settings: MonitoringSettings,
    verify: VerifySettings,
    drill_job: str,
    chain_job: str,
) -> list[dict[str, Any]]:
    groups = [
        {
            "name": "pgpitr.recoverability",
            "interval": "30s",
            "rules": [
                alert.rule(settings.runbook_url)
                for alert in alerts(namespace, primary, backup_job_prefix, catch_up_job_prefix, settings)
            ],
        }
    ]
    extra = verify_alerts(namespace, drill_job, chain_job, verify)
    if extra:
        groups.append(
            {"name": "pgpitr.verification", "interval": "1m", "rules": [a.rule(settings.runbook_url) for a in extra]}
        )
    return groups
