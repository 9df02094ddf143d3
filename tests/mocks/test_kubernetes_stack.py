"""The Kubernetes side under Pulumi mocks: primary with archiving, backup CronJob,
credentials, identities, and the restored instance for each target kind."""

from typing import Any

import pytest

from pgpitr.container_env import restore_digest, restore_target_summary
from pgpitr_runtime.recovery import RecoveryTarget
from tests.mocks.harness import Recorded, all_values_secret, containers, env_of, kubernetes_objects, run_program

STATIC_KEYS = {"mode": "staticKeys", "accessKeyId": "AKIAABCDEFGHIJKLMNOP", "secretAccessKey": "wJalrXUtnFEMI/K7MDENG"}


def objects(recorded: Recorded, kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in kubernetes_objects(recorded) if o["kind"] == kind}


@pytest.fixture
def dev(dev_config: dict[str, Any]) -> Recorded:
    return run_program(dev_config)


def primary_pod(recorded: Recorded) -> dict[str, Any]:
    spec: dict[str, Any] = objects(recorded, "StatefulSet")["postgres"]["spec"]["template"]["spec"]
    return spec


def test_namespace_enforces_restricted_pod_security(dev: Recorded) -> None:
    namespace = objects(dev, "Namespace")["database"]
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_service_account_annotated_with_the_role(dev: Recorded) -> None:
    account = objects(dev, "ServiceAccount")["postgres"]
    assert account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"] == dev.outputs["role_arn"]
    assert account["automountServiceAccountToken"] is False


def test_credentials_secret_holds_generated_passwords_as_secrets(dev: Recorded) -> None:
    secret = dev.one("kubernetes:core/v1:Secret", "postgres-credentials-secret")
    assert set(secret.inputs["stringData"]) == {"superuser-password", "backup-password", "monitor-password"}
    assert len(dev.of_type("random:index/randomPassword:RandomPassword")) == 3
    assert all_values_secret(secret.raw_inputs["stringData"])
    assert all(value.startswith("generated-") for value in secret.inputs["stringData"].values())


def test_postgresql_conf_archives_through_walg(dev: Recorded) -> None:
    conf = objects(dev, "ConfigMap")["postgres-config"]["data"]["postgresql.conf"]
    lines = {line.split(" = ")[0]: line.split(" = ", 1)[1] for line in conf.splitlines() if " = " in line}
    assert lines["wal_level"] == "'replica'"
    assert lines["archive_mode"] == "'on'"
    assert lines["archive_command"] == "'pgpitr-wal-push \"%p\"'"
    assert lines["archive_timeout"] == "'60s'"
    assert lines["shared_buffers"] == "'256MB'" and lines["max_connections"] == "200"


def test_user_postgresql_parameters_override_defaults(dev_config: dict[str, Any]) -> None:
    dev_config["pgpitr:postgresql"] = {"shared_buffers": "1GB", "log_min_duration_statement": 250}
    conf = objects(run_program(dev_config), "ConfigMap")["postgres-config"]["data"]["postgresql.conf"]
    assert "shared_buffers = '1GB'" in conf and "shared_buffers = '256MB'" not in conf
    assert "log_min_duration_statement = 250" in conf


def test_services_headless_and_client(dev: Recorded) -> None:
    services = objects(dev, "Service")
    assert services["postgres-headless"]["spec"]["clusterIP"] == "None"
    assert services["postgres"]["spec"]["type"] == "ClusterIP"
    assert services["postgres"]["spec"]["ports"][0]["port"] == 5432
    statefulset = objects(dev, "StatefulSet")["postgres"]
    assert statefulset["spec"]["serviceName"] == "postgres-headless"


def test_statefulset_runs_pgpitrs_entrypoint_non_root(dev: Recorded) -> None:
    pod = primary_pod(dev)
    postgres = containers(pod)["postgres"]
    assert postgres["command"] == ["/usr/local/bin/pgpitr-entrypoint"]
    assert postgres["args"] == [
        "postgres",
        "-c",
        "config_file=/etc/postgresql/postgresql.conf",
        "-c",
        "listen_addresses=*",
    ]
    assert postgres["image"] == dev.outputs["image"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["fsGroup"] == 999 and pod["securityContext"]["runAsUser"] == 999
    context = postgres["securityContext"]
    assert context["allowPrivilegeEscalation"] is False and context["capabilities"] == {"drop": ["ALL"]}
    assert context["readOnlyRootFilesystem"] is True
    assert pod["terminationGracePeriodSeconds"] >= 60


def test_statefulset_probes_resources_and_volume(dev: Recorded) -> None:
    statefulset = objects(dev, "StatefulSet")["postgres"]
    postgres = containers(statefulset["spec"]["template"]["spec"])["postgres"]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert postgres[probe]["exec"]["command"][0] == "pg_isready"
    assert postgres["resources"] == {
        "requests": {"cpu": "500m", "memory": "1Gi"},
        "limits": {"cpu": "1000m", "memory": "2Gi"},
    }
    (claim,) = statefulset["spec"]["volumeClaimTemplates"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "50Gi"
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert statefulset["spec"]["persistentVolumeClaimRetentionPolicy"]["whenDeleted"] == "Retain"


def test_storage_class_and_resources_from_config(dev_config: dict[str, Any]) -> None:
    dev_config["pgpitr:storage"] = {"size": "200Gi", "storageClass": "gp3"}
    dev_config["pgpitr:resources"] = {
        "requests": {"cpu": "2", "memory": "8Gi"},
        "limits": {"cpu": "4", "memory": "8Gi"},
    }
    statefulset = objects(run_program(dev_config), "StatefulSet")["postgres"]
    (claim,) = statefulset["spec"]["volumeClaimTemplates"]
    assert claim["spec"]["storageClassName"] == "gp3"
    assert claim["spec"]["resources"]["requests"]["storage"] == "200Gi"
    postgres = containers(statefulset["spec"]["template"]["spec"])["postgres"]
    assert postgres["resources"]["limits"] == {"cpu": "4", "memory": "8Gi"}


def test_walg_environment_of_the_primary(dev: Recorded) -> None:
    env = env_of(containers(primary_pod(dev))["postgres"])
    assert env["PGPITR_ARCHIVE"] == dev.outputs["walg_s3_prefix"]
    # The scripts resolve WALG_S3_PREFIX from the archive's manifest; no container gets it.
    assert "WALG_S3_PREFIX" not in env
    assert env["AWS_REGION"] == "eu-west-1"
    assert env["WALG_S3_SSE"] == "aws:kms" and env["WALG_S3_SSE_KMS_ID"] == dev.outputs["kms_key_arn"]
    assert env["WALG_COMPRESSION_METHOD"] == "lz4"
    assert env["WALG_PREVENT_WAL_OVERWRITE"] == "true"
    assert env["POSTGRES_PASSWORD"] == {"secret": "postgres-credentials", "key": "superuser-password"}


def all_env(recorded: Recorded) -> list[tuple[str, Any]]:
    found = []
    for obj in kubernetes_objects(recorded):
        spec = obj.get("spec", {})
        pod = spec.get("template", {}).get("spec") or spec.get("jobTemplate", {}).get("spec", {}).get(
            "template", {}
        ).get("spec")
        if pod:
            for container in containers(pod).values():
                found += list(env_of(container).items())
    return found


def test_no_aws_key_anywhere_in_irsa_mode(dev: Recorded) -> None:
    assert not [name for name, _ in all_env(dev) if name.startswith("AWS_ACCESS") or name.startswith("AWS_SECRET")]
    assert not [o for o in objects(dev, "Secret").values() if o["metadata"]["name"] == "aws-credentials"]
    for config_map in objects(dev, "ConfigMap").values():
        assert "AKIA" not in str(config_map) and "AWS_SECRET" not in str(config_map)


def test_static_keys_only_through_a_secret(dev_config: dict[str, Any]) -> None:
    dev_config["pgpitr:identity"] = STATIC_KEYS
    recorded = run_program(dev_config, secret_keys=["pgpitr:identity"])
    keys = [(name, value) for name, value in all_env(recorded) if name.startswith("AWS_") and "KEY" in name]
    assert keys and all(isinstance(value, dict) and value["secret"] == "aws-credentials" for _, value in keys)
    secret = recorded.one("kubernetes:core/v1:Secret", "postgres-credentials-aws-keys")
    assert all_values_secret(secret.raw_inputs["stringData"])
    assert secret.inputs["stringData"]["secret-access-key"] == STATIC_KEYS["secretAccessKey"]
    for config_map in objects(recorded, "ConfigMap").values():
        assert STATIC_KEYS["secretAccessKey"] not in str(config_map)
    assert "eks.amazonaws.com/role-arn" not in str(objects(recorded, "ServiceAccount"))


def test_pod_identity_has_no_irsa_annotation(dev_config: dict[str, Any]) -> None:
    dev_config["pgpitr:identity"] = {"mode": "podIdentity", "clusterName": "prod"}
    recorded = run_program(dev_config)
    account = objects(recorded, "ServiceAccount")["postgres"]
    assert "annotations" not in account["metadata"]
    association = recorded.one("aws:eks/podIdentityAssociation:PodIdentityAssociation", "dev-postgres-walg-postgres")
    assert association.inputs["serviceAccount"] == "postgres"


def test_backup_cronjob_remote_mode_on_schedule(dev: Recorded) -> None:
    cronjob = objects(dev, "CronJob")["postgres-backup"]
    spec = cronjob["spec"]
    assert spec["schedule"] == "0 2 * * *" and spec["timeZone"] == "Etc/UTC"
    assert spec["concurrencyPolicy"] == "Forbid"
    assert spec["successfulJobsHistoryLimit"] >= 1 and spec["failedJobsHistoryLimit"] >= 1
    pod = spec["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    (backup,) = pod["containers"]
    assert backup["command"] == ["/usr/local/bin/pgpitr-backup"]
    # Remote mode: no data volume; the primary is reached over the network.
    assert "persistentVolumeClaim" not in str(pod.get("volumes"))
    env = env_of(backup)
    assert env["PGHOST"] == dev.outputs["primary_host"]
    assert env["PGUSER"] == "pgpitr_backup" and env["PGDATABASE"] == "postgres"
    assert env["PGPASSWORD"] == {"secret": "postgres-credentials", "key": "backup-password"}
    assert (env["PGPITR_RETENTION_FULL_BACKUPS"], env["PGPITR_RETENTION_DAYS"]) == ("7", "30")
    assert env["PGPITR_ARCHIVE"] == dev.outputs["walg_s3_prefix"] and "WALG_S3_PREFIX" not in env
    assert pod["serviceAccountName"] == "postgres"
    assert backup["securityContext"]["runAsNonRoot"] is True


def test_no_restored_instance_when_disabled(dev: Recorded) -> None:
    assert set(objects(dev, "StatefulSet")) == {"postgres"}
    assert dev.outputs["restored_host"] is None


TARGETS = [
    ({"time": "2026-02-09T12:00:00+01:00"}, "time", "2026-02-09T12:00:00+01:00"),
    ({"xid": 123456}, "xid", "123456"),
    ({"lsn": "16/b374d848"}, "lsn", "16/B374D848"),
    ({"name": "before-migration"}, "name", "before-migration"),
    ({"latest": True}, "latest", ""),
    ({"immediate": True}, "immediate", ""),
]


@pytest.mark.parametrize(("target", "kind", "value"), TARGETS, ids=[t[1] for t in TARGETS])
def test_restored_instance_carries_its_target(
    dev_config: dict[str, Any], target: dict[str, Any], kind: str, value: str
) -> None:
    dev_config["pgpitr:restore"] = {"enabled": True, "target": target}
    recorded = run_program(dev_config)
    statefulsets = objects(recorded, "StatefulSet")
    assert set(statefulsets) == {"postgres", "postgres-restored"}
    pod = statefulsets["postgres-restored"]["spec"]["template"]["spec"]
    restore = containers(pod)["restore"]
    assert restore["command"] == ["/usr/local/bin/pgpitr-restore"]
    env = env_of(restore)
    assert env["PGPITR_RECOVERY_TARGET_KIND"] == kind
    assert env["PGPITR_RECOVERY_TARGET_VALUE"] == value
    assert env["PGPITR_RECOVERY_BACKUP"] == "auto"
    assert env["PGPITR_RECOVERY_ACTION"] == "promote"
    assert env["PGPITR_SOURCE_ARCHIVE"] == recorded.outputs["walg_s3_prefix"]
    # It archives (if at all) to its own prefix, never the source's.
    assert env["PGPITR_ARCHIVE"] == recorded.outputs["restored_walg_s3_prefix"] != recorded.outputs["walg_s3_prefix"]
    assert "WALG_S3_PREFIX" not in env
    server = env_of(containers(pod)["postgres"])
    assert server["PGPITR_SOURCE_ARCHIVE"] == recorded.outputs["walg_s3_prefix"]
    assert server["PGPITR_ARCHIVE"] == env["PGPITR_ARCHIVE"]
    # A restored copy has its restore init container, not the primary's bootstrap.
    assert set(containers(pod)) == {"restore", "postgres", "config-reloader", "exporter"}
    assert pod["serviceAccountName"] == "postgres-restored"
    assert "postgres-restored" in objects(recorded, "Service")


def test_restored_instance_does_not_archive_by_default(dev_config: dict[str, Any]) -> None:
    dev_config["pgpitr:restore"] = {"enabled": True, "target": {"latest": True}}
    conf = objects(run_program(dev_config), "ConfigMap")["postgres-restored-config"]["data"]["postgresql.conf"]
    assert "archive_mode = 'off'" in conf and "archive_command" not in conf


def test_restored_instance_archives_to_its_own_prefix_when_asked(dev_config: dict[str, Any]) -> None:
    dev_config["pgpitr:restore"] = {"enabled": True, "archive": True, "target": {"latest": True}}
    recorded = run_program(dev_config)
    conf = objects(recorded, "ConfigMap")["postgres-restored-config"]["data"]["postgresql.conf"]
    assert "archive_mode = 'on'" in conf
    # An archive per target, named by the digest that names the target's volume claim.
    digest = restore_digest(restore_target_summary(RecoveryTarget("latest"), "auto"))
    assert recorded.outputs["restored_walg_s3_prefix"].endswith(f"/dev/postgres-restored/{digest}")
    (claim,) = objects(recorded, "StatefulSet")["postgres-restored"]["spec"]["volumeClaimTemplates"]
    assert claim["metadata"]["name"] == f"data-{digest}"


def test_new_target_gets_a_new_volume(dev_config: dict[str, Any]) -> None:
    claims = []
    for when in ("2026-02-09T12:00:00Z", "2026-02-09T13:00:00Z"):
        dev_config["pgpitr:restore"] = {"enabled": True, "target": {"time": when}}
        statefulset = objects(run_program(dev_config), "StatefulSet")["postgres-restored"]
        (claim,) = statefulset["spec"]["volumeClaimTemplates"]
        claims.append(claim["metadata"]["name"])
        assert statefulset["spec"]["persistentVolumeClaimRetentionPolicy"]["whenDeleted"] == "Delete"
    assert claims[0] != claims[1]


def test_restored_instance_has_its_own_read_only_role(dev_config: dict[str, Any]) -> None:
    dev_config["pgpitr:restore"] = {"enabled": True, "target": {"latest": True}}
    recorded = run_program(dev_config)
    policy = recorded.one("aws:iam/rolePolicy:RolePolicy", "dev-postgres-restored-walg-storage").json("policy")
    sids = {s["Sid"]: s for s in policy["Statement"]}
    assert "WriteObjects" not in sids
    bucket = recorded.outputs["bucket_name"]
    # The source archive: its first location, and its manifest and later locations beside it.
    assert sorted(sids["ReadObjects"]["Resource"]) == [
        f"arn:aws:s3:::{bucket}/dev/postgres.locations/*",
        f"arn:aws:s3:::{bucket}/dev/postgres/*",
    ]
    account = objects(recorded, "ServiceAccount")["postgres-restored"]
    assert account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"].endswith("dev-postgres-restored-walg")


@pytest.mark.parametrize(
    "option",
    [{"inclusive": False}, {"timeline": "current"}, {"action": "pause"}],
    ids=["inclusive", "timeline", "action"],
)
def test_every_restore_option_makes_a_new_copy(dev_config: dict[str, Any], option: dict[str, Any]) -> None:
    """A copy restored with other options holds other data: a new claim, a new restore."""
    restore = {"enabled": True, "target": {"time": "2026-01-01T00:00:00Z"}}

    def claim(extra: dict[str, Any]) -> str:
        recorded = run_program({**dev_config, "pgpitr:restore": {**restore, **extra}})
        statefulset = objects(recorded, "StatefulSet")["postgres-restored"]
        return str(statefulset["spec"]["volumeClaimTemplates"][0]["metadata"]["name"])

    default = claim({})
    assert claim(option) != default
    assert claim({"inclusive": True, "timeline": "latest", "action": "promote"}) == default, "defaults name no new copy"
