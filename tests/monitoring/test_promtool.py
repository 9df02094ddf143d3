"""The alert rules exactly as the program renders them (extracted under mocks), checked
and unit-tested with promtool: each alert fires when it should and stays silent on a
healthy database, an idle one, and after a transient failure."""

import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.mocks.harness import kubernetes_objects, run_program
from tests.requirements import require_program


@pytest.fixture(autouse=True)
def promtool() -> str:
    return require_program("promtool", "run `make setup` (Debian package prometheus)")


PRIMARY = {"job": "database/postgres", "pgpitr_instance": "postgres", "instance": "10.1.2.3:9187"}
RESTORED = {"job": "database/postgres", "pgpitr_instance": "postgres-restored", "instance": "10.1.2.4:9187"}
HOUR = 60


def series(metric: str, labels: dict[str, str], values: str) -> dict[str, str]:
    rendered = ", ".join(f'{k}="{v}"' for k, v in labels.items())
    return {"series": f"{metric}{{{rendered}}}", "values": values}


@dataclass
class Case:
    """One promtool test: input series, and at `minutes` the alerts `alert` should have."""

    name: str
    alert: str
    minutes: int
    """Evaluation time, in `unit`s."""
    inputs: list[dict[str, str]]
    firing: list[dict[str, str]] = field(default_factory=list)
    interval: str = "1m"
    unit: str = "m"


def healthy(minutes: int) -> list[dict[str, str]]:
    return [
        series("pg_up", PRIMARY, f"1x{minutes}"),
        series("up", PRIMARY, f"1x{minutes}"),
        series("pg_stat_archiver_failed_count", PRIMARY, f"0x{minutes}"),
        series("pg_stat_archiver_archived_count", PRIMARY, f"0+1x{minutes}"),
        series("pg_wal_archive_oldest_ready_age_seconds", PRIMARY, f"0x{minutes}"),
    ]


JOBS = {"namespace": "database"}
DRILL = {"namespace": "database", "cronjob": "postgres-verify-restore"}
DAY_HOURS = 24


def jobs_of(prefix: str, failed_latest: bool, minutes: int = 10) -> list[dict[str, str]]:
    """Two Jobs of a CronJob, the older one failed; the latest failed or not."""
    older, latest = f"{prefix}-29000100", f"{prefix}-29001540"
    return [
        series("kube_job_status_start_time", {**JOBS, "job_name": older}, f"100x{minutes}"),
        series("kube_job_status_failed", {**JOBS, "job_name": older}, f"1x{minutes}"),
        series("kube_job_status_start_time", {**JOBS, "job_name": latest}, f"200x{minutes}"),
        series("kube_job_status_failed", {**JOBS, "job_name": latest}, f"{int(failed_latest)}x{minutes}"),
    ]


CASES = [
    Case(
        "archiving fails and archives nothing",
        "PgpitrWalArchivingFailing",
        20,
        [
            series("pg_stat_archiver_failed_count", PRIMARY, "0+1x40"),
            series("pg_stat_archiver_archived_count", PRIMARY, "17x40"),
        ],
        [PRIMARY],
    ),
    Case("archiving healthy", "PgpitrWalArchivingFailing", 30, healthy(40)),
    Case(
        "an hour after one transient failure",
        "PgpitrWalArchivingFailing",
        70,
        [
            series("pg_stat_archiver_failed_count", PRIMARY, "0x5 1x70"),
            series("pg_stat_archiver_archived_count", PRIMARY, "0+1x75"),
        ],
    ),
    Case(
        "one failure then success, while it happens",
        "PgpitrWalArchivingFailing",
        12,
        [
            series("pg_stat_archiver_failed_count", PRIMARY, "0x5 1x20"),
            series("pg_stat_archiver_archived_count", PRIMARY, "0+1x25"),
        ],
    ),
    Case(
        "idle for hours: nothing written, nothing failing",
        "PgpitrWalArchivingFailing",
        5 * HOUR,
        [
            series("pg_stat_archiver_failed_count", PRIMARY, f"0x{5 * HOUR + 10}"),
            series("pg_stat_archiver_archived_count", PRIMARY, f"3x{5 * HOUR + 10}"),
            series("pg_stat_archiver_last_archive_age", PRIMARY, f"0+60x{5 * HOUR + 10}"),
        ],
    ),
    Case(
        "oldest ready segment keeps ageing",
        "PgpitrWalArchiveBacklog",
        20,
        [
            series("pg_wal_archive_oldest_ready_age_seconds", PRIMARY, "0+60x40"),
        ],
        [PRIMARY],
    ),
    Case(
        "backlog cleared before its for",
        "PgpitrWalArchiveBacklog",
        20,
        [
            series("pg_wal_archive_oldest_ready_age_seconds", PRIMARY, "0+60x12 0x30"),
        ],
    ),
    Case(
        "idle for hours: old last archive, no backlog",
        "PgpitrWalArchiveBacklog",
        5 * HOUR,
        [
            series("pg_wal_archive_oldest_ready_age_seconds", PRIMARY, f"0x{5 * HOUR + 10}"),
            series("pg_stat_archiver_last_archive_age", PRIMARY, f"0+60x{5 * HOUR + 10}"),
        ],
    ),
    Case(
        "never backed up, cluster 30h old",
        "PgpitrBaseBackupTooOld",
        30 * HOUR,
        [
            series("pgpitr_backup_last_success_timestamp_seconds", PRIMARY, f"0x{30 * HOUR + 5}"),
            series("pgpitr_backup_tracking_since_timestamp_seconds", PRIMARY, f"0x{30 * HOUR + 5}"),
        ],
        [PRIMARY],
    ),
    Case(
        "last backup 29h ago",
        "PgpitrBaseBackupTooOld",
        30 * HOUR,
        [
            series("pgpitr_backup_last_success_timestamp_seconds", PRIMARY, f"3600x{30 * HOUR + 5}"),
            series("pgpitr_backup_tracking_since_timestamp_seconds", PRIMARY, f"0x{30 * HOUR + 5}"),
        ],
        [PRIMARY],
    ),
    Case(
        "last backup 2h ago",
        "PgpitrBaseBackupTooOld",
        30 * HOUR,
        [
            series("pgpitr_backup_last_success_timestamp_seconds", PRIMARY, f"100800x{30 * HOUR + 5}"),
            series("pgpitr_backup_tracking_since_timestamp_seconds", PRIMARY, f"0x{30 * HOUR + 5}"),
        ],
    ),
    Case(
        "new cluster not yet due its first backup",
        "PgpitrBaseBackupTooOld",
        30 * HOUR,
        [
            series("pgpitr_backup_last_success_timestamp_seconds", PRIMARY, f"0x{30 * HOUR + 5}"),
            series("pgpitr_backup_tracking_since_timestamp_seconds", PRIMARY, f"100000x{30 * HOUR + 5}"),
        ],
    ),
    Case(
        "restored copy carries old history but is not the primary",
        "PgpitrBaseBackupTooOld",
        30 * HOUR,
        [
            series("pgpitr_backup_last_success_timestamp_seconds", RESTORED, f"3600x{30 * HOUR + 5}"),
            series("pgpitr_backup_tracking_since_timestamp_seconds", RESTORED, f"0x{30 * HOUR + 5}"),
            series("pgpitr_backup_last_success_timestamp_seconds", PRIMARY, f"100800x{30 * HOUR + 5}"),
            series("pgpitr_backup_tracking_since_timestamp_seconds", PRIMARY, f"0x{30 * HOUR + 5}"),
        ],
    ),
    Case(
        "latest backup job failed",
        "PgpitrBackupJobFailed",
        5,
        [
            series("kube_job_status_start_time", {**JOBS, "job_name": "postgres-backup-29000100"}, "100x10"),
            series("kube_job_status_failed", {**JOBS, "job_name": "postgres-backup-29000100"}, "0 0 1x8"),
            series("kube_job_status_start_time", {**JOBS, "job_name": "postgres-backup-28990000"}, "50x10"),
            series("kube_job_status_failed", {**JOBS, "job_name": "postgres-backup-28990000"}, "0x10"),
        ],
        [{**JOBS, "job_name": "postgres-backup-29000100"}],
    ),
    Case(
        "an older job failed, the latest succeeded",
        "PgpitrBackupJobFailed",
        5,
        [
            series("kube_job_status_start_time", {**JOBS, "job_name": "postgres-backup-29000100"}, "100x10"),
            series("kube_job_status_failed", {**JOBS, "job_name": "postgres-backup-29000100"}, "1x10"),
            series("kube_job_status_start_time", {**JOBS, "job_name": "postgres-backup-29001540"}, "200x10"),
            series("kube_job_status_failed", {**JOBS, "job_name": "postgres-backup-29001540"}, "0x10"),
        ],
    ),
    Case(
        "a catch-up backup succeeding after the scheduled one failed does not hide it",
        "PgpitrBackupJobFailed",
        5,
        [
            series("kube_job_status_start_time", {**JOBS, "job_name": "postgres-backup-29000100"}, "100x10"),
            series("kube_job_status_failed", {**JOBS, "job_name": "postgres-backup-29000100"}, "1x10"),
            series("kube_job_status_start_time", {**JOBS, "job_name": "postgres-catch-up-backup-29000105"}, "400x10"),
            series("kube_job_status_failed", {**JOBS, "job_name": "postgres-catch-up-backup-29000105"}, "0x10"),
        ],
        [{**JOBS, "job_name": "postgres-backup-29000100"}],
    ),
    Case(
        "the catch-up backup keeps failing",
        "PgpitrCatchUpBackupFailing",
        20,
        jobs_of("postgres-catch-up-backup", True, minutes=30),
        [{**JOBS, "job_name": "postgres-catch-up-backup-29001540"}],
    ),
    Case(
        "one catch-up run failed, the next succeeded",
        "PgpitrCatchUpBackupFailing",
        20,
        jobs_of("postgres-catch-up-backup", False, minutes=30),
    ),
    Case(
        "a failed scheduled backup is not a catch-up failure",
        "PgpitrCatchUpBackupFailing",
        20,
        jobs_of("postgres-backup", True, minutes=30),
    ),
    Case(
        "latest restore drill failed",
        "PgpitrRestoreDrillFailed",
        5,
        jobs_of("postgres-verify-restore", True),
        [{**JOBS, "job_name": "postgres-verify-restore-29001540"}],
    ),
    Case("latest restore drill passed", "PgpitrRestoreDrillFailed", 5, jobs_of("postgres-verify-restore", False)),
    Case(
        "latest chain check failed",
        "PgpitrWalChainBroken",
        5,
        jobs_of("postgres-wal-chain-check", True),
        [{**JOBS, "job_name": "postgres-wal-chain-check-29001540"}],
    ),
    Case("a backup job failing is not a chain check", "PgpitrWalChainBroken", 5, jobs_of("postgres-backup", True)),
    Case(
        "no successful drill for 33 days",
        "PgpitrRestoreDrillOverdue",
        33 * DAY_HOURS,
        [
            series("kube_cronjob_status_last_successful_time", DRILL, f"0x{34 * DAY_HOURS}"),
            series("kube_cronjob_created", DRILL, f"0x{34 * DAY_HOURS}"),
        ],
        [DRILL],
        interval="1h",
        unit="h",
    ),
    Case(
        "drill succeeded 10 days ago",
        "PgpitrRestoreDrillOverdue",
        33 * DAY_HOURS,
        [
            series("kube_cronjob_status_last_successful_time", DRILL, f"{23 * DAY_HOURS * 3600}x{34 * DAY_HOURS}"),
            series("kube_cronjob_created", DRILL, f"0x{34 * DAY_HOURS}"),
        ],
        interval="1h",
        unit="h",
    ),
    Case(
        "new CronJob never run, created 33 days ago",
        "PgpitrRestoreDrillOverdue",
        33 * DAY_HOURS,
        [
            series("kube_cronjob_created", DRILL, f"0x{34 * DAY_HOURS}"),
        ],
        [DRILL],
        interval="1h",
        unit="h",
    ),
    Case(
        "new CronJob, created 10 days ago",
        "PgpitrRestoreDrillOverdue",
        33 * DAY_HOURS,
        [
            series("kube_cronjob_created", DRILL, f"{23 * DAY_HOURS * 3600}x{34 * DAY_HOURS}"),
        ],
        interval="1h",
        unit="h",
    ),
    Case("postgres refuses the exporter", "PgpitrPostgresDown", 5, [series("pg_up", PRIMARY, "0x10")], [PRIMARY]),
    Case("postgres answers", "PgpitrPostgresDown", 5, healthy(10)),
    Case("exporter not scraped", "PgpitrExporterDown", 10, [series("up", PRIMARY, "0x20")], [PRIMARY]),
    Case(
        "no target for the primary at all",
        "PgpitrExporterDown",
        10,
        [series("up", RESTORED, "1x20")],
        [{"job": "database/postgres", "pgpitr_instance": "postgres"}],
    ),
    Case("exporter scraped", "PgpitrExporterDown", 10, healthy(20)),
]


def rendered_rules(dev_config: dict[str, Any]) -> dict[str, Any]:
    recorded = run_program(dev_config)
    (rule,) = [o for o in kubernetes_objects(recorded) if o["kind"] == "PrometheusRule"]
    return {"groups": rule["spec"]["groups"]}


def expected_alert(rule: dict[str, Any], labels: dict[str, str]) -> dict[str, Any]:
    """The alert promtool should report: the rule's labels and its annotations rendered."""

    def render(template: str) -> str:
        return re.sub(r"\{\{ \$labels\.(\w+) \}\}", lambda m: labels.get(m.group(1), ""), template)

    return {
        "exp_labels": {**labels, **rule["labels"]},
        "exp_annotations": {key: render(value) for key, value in rule["annotations"].items()},
    }


@pytest.fixture
def rules_file(dev_config: dict[str, Any], tmp_path: Path) -> Path:
    path = tmp_path / "rules.yml"
    path.write_text(yaml.safe_dump(rendered_rules(dev_config), sort_keys=False))
    return path


def test_promtool_check_rules(rules_file: Path) -> None:
    result = subprocess.run(["promtool", "check", "rules", str(rules_file)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    count = sum(len(g["rules"]) for g in yaml.safe_load(rules_file.read_text())["groups"])
    assert count == 10
    assert f"SUCCESS: {count} rules found" in result.stdout


def test_every_alert_has_a_firing_and_a_silent_case(rules_file: Path) -> None:
    names = {r["alert"] for g in yaml.safe_load(rules_file.read_text())["groups"] for r in g["rules"]}
    assert names == {c.alert for c in CASES if c.firing} == {c.alert for c in CASES if not c.firing}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_promtool_unit_test(case: Case, rules_file: Path) -> None:
    rules = {r["alert"]: r for g in yaml.safe_load(rules_file.read_text())["groups"] for r in g["rules"]}
    test = {
        "rule_files": [rules_file.name],
        "evaluation_interval": case.interval,
        "tests": [
            {
                "interval": case.interval,
                "input_series": case.inputs,
                "alert_rule_test": [
                    {
                        "eval_time": f"{case.minutes}{case.unit}",
                        "alertname": case.alert,
                        "exp_alerts": [expected_alert(rules[case.alert], labels) for labels in case.firing],
                    }
                ],
            }
        ],
    }
    test_file = rules_file.parent / "test.yml"
    test_file.write_text(yaml.safe_dump(test, sort_keys=False))
    result = subprocess.run(["promtool", "test", "rules", str(test_file)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
