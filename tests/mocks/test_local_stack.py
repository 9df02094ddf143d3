"""Pulumi.local.yaml, the stack `python -m cluster` runs: it names exactly what
`cluster up` creates (namespace, bucket and endpoint, Secrets, image name), and it renders
under mocks into schema-valid objects that use only the Kubernetes provider."""

from typing import Any

import pytest

from cluster import config as cluster
from pgpitr.settings import StackSettings, parse_settings
from pgpitr.settings.bucket import S3CompatibleBucketSettings
from tests.mocks.harness import kubernetes_objects, run_program, stack_file_config
from tests.mocks.schemas import FOREIGN_PACKAGES, validate_all


def local_settings() -> StackSettings:
    return parse_settings(stack_file_config("local"))


def test_the_stack_names_what_cluster_up_creates() -> None:
    settings = local_settings()
    bucket = settings.bucket
    assert isinstance(bucket, S3CompatibleBucketSettings)
    assert settings.namespace == cluster.DEFAULT_NAMESPACE
    assert (bucket.endpoint, bucket.name, bucket.region) == (cluster.s3_endpoint(), cluster.BUCKET, cluster.S3_REGION)
    assert bucket.credentials_secret.name == cluster.S3_CREDENTIALS_SECRET
    assert settings.credentials.existing_secret == cluster.PASSWORDS_SECRET
    assert settings.image.ref == cluster.STACK_IMAGE_REF
    assert settings.monitoring.enabled and settings.monitoring.exporter_image == cluster.EXPORTER_STACK_IMAGE_REF
    assert settings.postgres_version == 15, "the image's PostgreSQL is Debian's 15"


@pytest.mark.parametrize(
    "restore",
    [
        None,
        {"enabled": True, "target": {"time": "2026-11-27T10:00:00+01:00"}},
        {"enabled": True, "target": {"xid": 900}},
    ],
    ids=["primary", "restore-time", "restore-xid"],
)
def test_the_stack_renders_valid_objects_with_only_the_kubernetes_provider(restore: dict[str, Any] | None) -> None:
    config: dict[str, Any] = dict(stack_file_config("local"))
    if restore is not None:
        config["pgpitr:restore"] = restore
    recorded = run_program(config, stack="local")
    assert not [r.type for r in recorded.resources if r.type.startswith(FOREIGN_PACKAGES)]
    validate_all(kubernetes_objects(recorded))
