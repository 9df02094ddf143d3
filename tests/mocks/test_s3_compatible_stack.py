"""A stack without AWS (Pulumi.onprem.yaml): an existing bucket on an S3-compatible store,
a prebuilt image and existing passwords. Only the Kubernetes provider is used, every
WAL-G container reaches the store through its endpoint with credentials by secretKeyRef
and the store's CA, and nothing is encrypted with KMS."""

from collections.abc import Iterator
from typing import Any

import pytest

from pgpitr.container_env import restore_digest, restore_target_summary
from pgpitr_runtime.recovery import RecoveryTarget
from tests.mocks.harness import Recorded, containers, env_of, kubernetes_objects, run_program, stack_file_config
from tests.mocks.schemas import FOREIGN_PACKAGES

WALG_CONTAINERS = {"bootstrap", "postgres", "restore", "backup", "verify", "wal-chain"}


RESTORE = '{"enabled": true, "archive": true, "target": {"xid": 771}}'


def run_onprem(restore: bool) -> Recorded:
    config: dict[str, Any] = dict(stack_file_config("onprem"))
    if restore:
        config["pgpitr:restore"] = RESTORE
    return run_program(config, stack="onprem")


@pytest.fixture(scope="module", params=[False, True], ids=["primary only", "with a restored instance"])
def onprem(request: pytest.FixtureRequest) -> Recorded:
    return run_onprem(restore=request.param)


def pods(recorded: Recorded) -> Iterator[tuple[str, dict[str, Any]]]:
    for obj in kubernetes_objects(recorded):
        if obj["kind"] == "StatefulSet":
            yield obj["metadata"]["name"], obj["spec"]["template"]["spec"]
        elif obj["kind"] == "CronJob":
            yield obj["metadata"]["name"], obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]


def walg_containers(recorded: Recorded) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    for _, pod in pods(recorded):
        for name, container in containers(pod).items():
            if name in WALG_CONTAINERS:
                yield pod, container


def test_only_the_kubernetes_provider_is_used(onprem: Recorded) -> None:
    foreign = sorted({r.type for r in onprem.resources if r.type.startswith(FOREIGN_PACKAGES)})
    assert foreign == []
    packages = {r.type.split(":")[0] for r in onprem.resources}
    assert packages == {"kubernetes", "pgpitr"}
    assert onprem.outputs["role_arn"] is None and onprem.outputs["kms_key_arn"] is None
    assert onprem.outputs["bucket_name"] == "pgpitr-backups"
    assert onprem.outputs["walg_s3_prefix"] == "s3://pgpitr-backups/onprem/postgres"


def test_walg_reaches_the_store_by_its_endpoint_with_its_ca(onprem: Recorded) -> None:
    seen = set()
    for pod, container in walg_containers(onprem):
        seen.add(container["name"])
        env = env_of(container)
        assert env["AWS_ENDPOINT"] == "https://s3.example.internal:9000"
        assert env["AWS_S3_FORCE_PATH_STYLE"] == "true" and env["AWS_REGION"] == "us-east-1"
        assert "WALG_S3_SSE" not in env and "WALG_S3_SSE_KMS_ID" not in env
        assert env["AWS_ACCESS_KEY_ID"] == {"secret": "backup-store", "key": "AWS_ACCESS_KEY_ID"}
        assert env["AWS_SECRET_ACCESS_KEY"] == {"secret": "backup-store", "key": "AWS_SECRET_ACCESS_KEY"}
        assert env["WALG_LIBSODIUM_KEY"]["secret"] == "backup-encryption"
        ca_file = env["WALG_S3_CA_CERT_FILE"]
        mount = next(m for m in container["volumeMounts"] if ca_file.startswith(m["mountPath"] + "/"))
        volume = next(v for v in pod["volumes"] if v["name"] == mount["name"])
        assert volume["secret"]["secretName"] == "backup-store-ca" and mount["readOnly"] is True
    assert {"bootstrap", "postgres", "backup", "verify", "wal-chain"} <= seen


def test_existing_passwords_and_image_are_used_and_nothing_is_generated(onprem: Recorded) -> None:
    secrets = [obj for obj in kubernetes_objects(onprem) if obj["kind"] == "Secret"]
    assert secrets == [], "the passwords, store keys and encryption key all live in existing Secrets"
    password_refs = [
        value
        for _, pod in pods(onprem)
        for container in containers(pod).values()
        for name, value in env_of(container).items()
        if isinstance(value, dict) and "secret" in value and value["key"].endswith("-password")
    ]
    assert password_refs and {ref["secret"] for ref in password_refs} == {"postgres-passwords"}
    images = {c["image"] for _, pod in pods(onprem) for c in containers(pod).values() if c["name"] != "exporter"}
    assert images == {onprem.outputs["image"]} == {"registry.example.internal/pgpitr/postgres@sha256:" + "0" * 64}


def test_the_restored_instance_reads_the_source_prefix() -> None:
    (restored,) = [pod for name, pod in pods(run_onprem(restore=True)) if name == "postgres-restored"]
    env = env_of(containers(restored)["restore"])
    assert env["PGPITR_SOURCE_ARCHIVE"] == "s3://pgpitr-backups/onprem/postgres"
    # restore.archive: an archive of its own per target, named like its volume claim.
    digest = restore_digest(restore_target_summary(RecoveryTarget("xid", "771"), "auto"))
    assert env["PGPITR_ARCHIVE"] == f"s3://pgpitr-backups/onprem/postgres-restored/{digest}"
    assert "WALG_S3_PREFIX" not in env
