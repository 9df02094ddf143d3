"""The in-cluster checks under mocks: the restore drill and WAL chain CronJobs, their
read-only identity, the throwaway volume, the storage alarms, and their absence when off."""

import json
from typing import Any

from tests.mocks.harness import Recorded, containers, env_of, kubernetes_objects, run_program


def cronjobs(recorded: Recorded) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in kubernetes_objects(recorded) if o["kind"] == "CronJob"}


def pod_of(cronjob: dict[str, Any]) -> dict[str, Any]:
    pod: dict[str, Any] = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return pod


def test_restore_drill_cronjob(dev_config: dict[str, Any]) -> None:
    recorded = run_program(dev_config)
    drill = cronjobs(recorded)["postgres-verify-restore"]
    assert drill["spec"]["schedule"] == "0 4 1 * *" and drill["spec"]["concurrencyPolicy"] == "Forbid"
    pod = pod_of(drill)
    verify = containers(pod)["verify"]
    assert verify["command"] == ["/usr/local/bin/pgpitr-verify-restore"]
    env = env_of(verify)
    assert env["PGDATA"].startswith("/scratch/")
    assert env["PGPITR_SOURCE_ARCHIVE"] == env["PGPITR_ARCHIVE"] == recorded.outputs["walg_s3_prefix"]
    assert "WALG_S3_PREFIX" not in env
    assert env["PGPITR_WAL_FETCH_COMMAND"] == "/usr/local/bin/pgpitr-wal-fetch"
    (scratch,) = [v for v in pod["volumes"] if v["name"] == "scratch"]
    assert scratch["emptyDir"]["sizeLimit"] == "50Gi"
    assert pod["serviceAccountName"] == "postgres-verify"
    assert drill["spec"]["jobTemplate"]["spec"]["activeDeadlineSeconds"] == 12 * 3600


def test_wal_chain_cronjob(dev_config: dict[str, Any]) -> None:
    recorded = run_program(dev_config)
    chain = cronjobs(recorded)["postgres-wal-chain-check"]
    assert chain["spec"]["schedule"] == "30 3 * * *" and chain["spec"]["concurrencyPolicy"] == "Forbid"
    container = containers(pod_of(chain))["wal-chain"]
    assert container["command"] == ["/usr/local/bin/pgpitr-wal-chain-check"]
    env = env_of(container)
    assert env["PGUSER"] == "pgpitr_monitor" and env["PGDATABASE"] == "postgres"
    assert env["PGPASSWORD"] == {"secret": "postgres-credentials", "key": "monitor-password"}
    assert pod_of(chain)["serviceAccountName"] == "postgres-verify"


def test_verify_identity_is_read_only(dev_config: dict[str, Any]) -> None:
    recorded = run_program(dev_config)
    policy = recorded.one("aws:iam/rolePolicy:RolePolicy", "dev-postgres-verify-walg-storage").json("policy")
    actions = {a for s in policy["Statement"] for a in s["Action"]}
    assert "s3:GetObject" in actions and "s3:ListBucket" in actions
    assert not {a for a in actions if a.startswith("s3:Put") or a.startswith("s3:Delete")}
    assert "kms:GenerateDataKey" not in actions
    trust = json.loads(recorded.one("aws:iam/role:Role", "dev-postgres-verify-walg").inputs["assumeRolePolicy"])
    assert "system:serviceaccount:database:postgres-verify" in json.dumps(trust)


def test_settings_change_the_jobs(dev_config: dict[str, Any]) -> None:
    dev_config["pgpitr:verify"] = {
        "drill": {"schedule": "0 5 * * 0", "sql": "SELECT count(*) > 0 FROM orders", "scratchSize": "200Gi"},
        "walChain": {"schedule": "0 * * * *"},
    }
    jobs = cronjobs(run_program(dev_config))
    assert jobs["postgres-verify-restore"]["spec"]["schedule"] == "0 5 * * 0"
    verify = containers(pod_of(jobs["postgres-verify-restore"]))["verify"]
    assert env_of(verify)["PGPITR_VERIFY_SQL"] == "SELECT count(*) > 0 FROM orders"
    scratch = [v for v in pod_of(jobs["postgres-verify-restore"])["volumes"] if v["name"] == "scratch"]
    assert scratch[0]["emptyDir"]["sizeLimit"] == "200Gi"
    assert jobs["postgres-wal-chain-check"]["spec"]["schedule"] == "0 * * * *"


def test_disabled_checks_are_left_out(dev_config: dict[str, Any]) -> None:
    dev_config["pgpitr:verify"] = {
        "drill": {"enabled": False},
        "walChain": {"enabled": False},
        "storage": {"enabled": False},
    }
    recorded = run_program(dev_config)
    assert set(cronjobs(recorded)) == {"postgres-backup", "postgres-catch-up-backup"}
    assert not recorded.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
    assert "postgres-verify" not in {o["metadata"]["name"] for o in kubernetes_objects(recorded)}
    (rule,) = [o for o in kubernetes_objects(recorded) if o["kind"] == "PrometheusRule"]
    names = {r["alert"] for g in rule["spec"]["groups"] for r in g["rules"]}
    assert not names & {"PgpitrRestoreDrillFailed", "PgpitrRestoreDrillOverdue", "PgpitrWalChainBroken"}


def test_verification_alerts_present(dev_config: dict[str, Any]) -> None:
    (rule,) = [o for o in kubernetes_objects(run_program(dev_config)) if o["kind"] == "PrometheusRule"]
    names = {r["alert"] for g in rule["spec"]["groups"] for r in g["rules"]}
    assert {"PgpitrRestoreDrillFailed", "PgpitrRestoreDrillOverdue", "PgpitrWalChainBroken"} <= names


def test_storage_alarms(dev_config: dict[str, Any]) -> None:
    dev_config["pgpitr:verify"] = {
        "storage": {
            "maxDailyGrowthGiB": 20,
            "maxSizeGiB": 500,
            "alarmActions": ["arn:aws:sns:eu-west-1:123456789012:oncall"],
        }
    }
    recorded = run_program(dev_config)
    alarms = {r.name: r.inputs for r in recorded.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")}
    growth = alarms["backup-bucket-size-daily-growth"]
    assert growth["threshold"] == 20 * 1024**3
    queries = {q["id"]: q for q in growth["metricQueries"]}
    assert queries["growth"]["expression"] == "DIFF(size)"
    metric = queries["size"]["metric"]
    assert (metric["namespace"], metric["metricName"]) == ("AWS/S3", "BucketSizeBytes")
    assert metric["dimensions"]["BucketName"] == recorded.outputs["bucket_name"]
    assert alarms["backup-bucket-size-size"]["threshold"] == 500 * 1024**3
    assert growth["alarmActions"] == ["arn:aws:sns:eu-west-1:123456789012:oncall"]
