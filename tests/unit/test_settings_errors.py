"""Bad stack configuration ends with one line naming the key: never a traceback, never
a silent default."""

import json
from typing import Any

import pytest

from pgpitr.settings import SettingsError, parse_settings
from pgpitr.settings.bucket import AwsBucketSettings, S3CompatibleBucketSettings
from tests.mocks.harness import stack_file_config

IRSA = {
    "mode": "irsa",
    "oidcProviderArn": "arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/ABC",
    "oidcIssuerUrl": "https://oidc.eks.eu-west-1.amazonaws.com/id/ABC",
}
RESTORE_ON = {"enabled": True, "target": {"latest": True}}
S3_COMPATIBLE = {
    "provider": "s3Compatible",
    "endpoint": "https://s3.example.internal:9000",
    "name": "pgpitr-backups",
    "credentialsSecret": {"name": "backup-store"},
}
IMAGE_REF = "registry.example.internal/pgpitr/postgres:pg16-walg-v3.0.9"


def restore(**fields: Any) -> dict[str, Any]:
    return {"restore": {"enabled": True, **fields}}


def s3_compatible(*without: str, **fields: Any) -> dict[str, Any]:
    """`bucket` for an S3-compatible store, less the keys `without`, plus `fields`."""
    return {"bucket": {key: value for key, value in S3_COMPATIBLE.items() if key not in without} | fields}


# (case id, config overrides, key the error must name, words the error must contain)
BAD_CONFIGS: list[tuple[str, dict[str, Any], str, str]] = [
    ("unknown top-level key", {"namepsace": "db"}, "pgpitr:namepsace", "did you mean namespace"),
    ("unknown nested key", {"storage": {"sise": "10Gi"}}, "pgpitr:storage.sise", "did you mean size"),
    (
        "unknown deeply nested key",
        {"backup": {"retention": {"fullbackups": 3}}},
        "pgpitr:backup.retention.fullbackups",
        "did you mean fullBackups",
    ),
    ("namespace not a DNS label", {"namespace": "Data_Base"}, "pgpitr:namespace", "namespace name"),
    ("unsupported postgres", {"postgresVersion": 14}, "pgpitr:postgresVersion", "15, 16, 17"),
    ("postgres version not a number", {"postgresVersion": "sixteen"}, "pgpitr:postgresVersion", "integer"),
    ("unknown walg release", {"walgVersion": "v2.0.1"}, "pgpitr:walgVersion", "v3.0.9"),
    ("archive timeout too small", {"archiveTimeout": 0}, "pgpitr:archiveTimeout", "greater than or equal to 10"),
    ("archive timeout not a number", {"archiveTimeout": "5m"}, "pgpitr:archiveTimeout", "integer"),
    ("irsa without arns", {"identity": {"mode": "irsa"}}, "pgpitr:identity.oidcProviderArn", "required"),
    (
        "irsa with a malformed arn",
        {"identity": {**IRSA, "oidcProviderArn": "arn:aws:iam::1:role/x"}},
        "pgpitr:identity.oidcProviderArn",
        "pattern",
    ),
    ("pod identity without cluster", {"identity": {"mode": "podIdentity"}}, "pgpitr:identity.clusterName", "required"),
    ("unknown identity mode", {"identity": {"mode": "magic"}}, "pgpitr:identity", "irsa"),
    (
        "static keys in plain text",
        {
            "identity": {
                "mode": "staticKeys",
                "accessKeyId": "AKIAABCDEFGHIJKLMNOP",
                "secretAccessKey": "abcdefghijklmnopqrstuvwx",
            }
        },
        "pgpitr:identity.secretAccessKey",
        "secret",
    ),
    ("bad storage size", {"storage": {"size": "50GB"}}, "pgpitr:storage.size", "50Gi"),
    ("storage too small", {"storage": {"size": "100Mi"}}, "pgpitr:storage.size", "at least 1Gi"),
    (
        "limits below requests",
        {"resources": {"requests": {"cpu": "2", "memory": "1Gi"}}},
        "pgpitr:resources.limits.cpu",
        "below requests.cpu",
    ),
    (
        "memory in millis",
        {"resources": {"requests": {"cpu": "1", "memory": "100m"}, "limits": {"cpu": "1", "memory": "2Gi"}}},
        "pgpitr:resources.requests.memory",
        "not a size",
    ),
    ("bad cron schedule", {"backup": {"schedule": "0 2 * *"}}, "pgpitr:backup.schedule", "cron"),
    ("cron with seconds", {"backup": {"schedule": "0 0 2 * * *"}}, "pgpitr:backup.schedule", "five fields"),
    ("unknown time zone", {"backup": {"timeZone": "Mars/Olympus"}}, "pgpitr:backup.timeZone", "IANA"),
    ("unknown compression", {"backup": {"compression": "gzip"}}, "pgpitr:backup.compression", "lz4"),
    (
        "retention below one",
        {"backup": {"retention": {"fullBackups": 0}}},
        "pgpitr:backup.retention.fullBackups",
        "greater than or equal to 1",
    ),
    (
        "retention days zero",
        {"backup": {"retention": {"days": 0}}},
        "pgpitr:backup.retention.days",
        "greater than or equal to 1",
    ),
    ("delta backups in remote mode", {"backup": {"deltaMaxSteps": 3}}, "pgpitr:backup.deltaMaxSteps", "remote mode"),
    (
        "postgresql sets archive_command",
        {"postgresql": {"archive_command": "/bin/true"}},
        "pgpitr:postgresql",
        "archive_command is set by pgpitr",
    ),
    (
        "postgresql sets archive_mode",
        {"postgresql": {"archive_mode": "off"}},
        "pgpitr:postgresql",
        "archive_mode is set by pgpitr",
    ),
    (
        "postgresql bad parameter name",
        {"postgresql": {"Shared Buffers": "1GB"}},
        "pgpitr:postgresql",
        "not a PostgreSQL parameter",
    ),
    (
        "postgresql size that is no size",
        {"postgresql": {"shared_buffers": "lots"}},
        "pgpitr:postgresql.shared_buffers",
        "is not an integer with a unit",
    ),
    (
        "postgresql value out of range",
        {"postgresVersion": 17, "postgresql": {"max_connections": 0}},
        "pgpitr:postgresql.max_connections",
        "outside the valid range (1 .. 262143) for PostgreSQL 17",
    ),
    (
        "postgresql unknown parameter",
        {"postgresql": {"shared_bufers": "1GB"}},
        "pgpitr:postgresql.shared_bufers",
        "did you mean shared_buffers",
    ),
    (
        "postgresql parameter of a later major",
        {"postgresVersion": 16, "postgresql": {"io_combine_limit": "128kB"}},
        "pgpitr:postgresql.io_combine_limit",
        "is not a parameter of PostgreSQL 16",
    ),
    ("bad bucket name", {"bucket": {"name": "My_Bucket"}}, "pgpitr:bucket.name", "S3 bucket name"),
    (
        "object lock without days",
        {"bucket": {"objectLock": {"mode": "COMPLIANCE"}}},
        "pgpitr:bucket.objectLock.days",
        "required",
    ),
    (
        "object lock bad mode",
        {"bucket": {"objectLock": {"mode": "STRICT", "days": 7}}},
        "pgpitr:bucket.objectLock.mode",
        "GOVERNANCE",
    ),
    ("image platform unknown", {"image": {"platforms": ["windows/amd64"]}}, "pgpitr:image.platforms.0", "linux/amd64"),
    (
        "monitoring lag too small",
        {"monitoring": {"archiveLagSeconds": 5}},
        "pgpitr:monitoring.archiveLagSeconds",
        "greater than or equal to 60",
    ),
    (
        "exporter image without registry",
        {"monitoring": {"exporterImage": "postgres-exporter"}},
        "pgpitr:monitoring.exporterImage",
        "is not an image reference",
    ),
    ("restore enabled without target", restore(), "pgpitr:restore.target", "required"),
    ("restore two targets", restore(target={"xid": 1000, "lsn": "0/3000000"}), "pgpitr:restore.target", "exactly one"),
    ("restore empty target", restore(target={}), "pgpitr:restore.target", "exactly one"),
    (
        "restore time without offset",
        restore(target={"time": "2026-02-09 12:00:00"}),
        "pgpitr:restore.target.time",
        "no timezone offset",
    ),
    ("restore time not a time", restore(target={"time": "yesterday"}), "pgpitr:restore.target.time", "RFC 3339"),
    ("restore malformed lsn", restore(target={"lsn": "16-B374D848"}), "pgpitr:restore.target.lsn", "LSN"),
    ("restore negative xid", restore(target={"xid": -5}), "pgpitr:restore.target.xid", "transaction id"),
    (
        "restore unknown target kind",
        restore(target={"timestamp": "2026-02-09T12:00:00Z"}),
        "pgpitr:restore.target.timestamp",
        "unknown key",
    ),
    ("restore unknown action", restore(target={"latest": True}, action="resume"), "pgpitr:restore.action", "promote"),
    (
        "restore pause with latest",
        restore(target={"latest": True}, action="pause"),
        "pgpitr:restore.action",
        "must be promote",
    ),
    (
        "restore illegal backup name",
        restore(target={"latest": True}, backup="newest"),
        "pgpitr:restore.backup",
        "not a backup",
    ),
    (
        "restore bad timeline",
        restore(target={"latest": True}, timeline="previous"),
        "pgpitr:restore.timeline",
        "not a timeline",
    ),
    (
        "restore name clashes with primary",
        restore(target={"latest": True}, name="postgres"),
        "pgpitr:restore.name",
        "differ",
    ),
    (
        "restore name not a DNS label",
        restore(target={"latest": True}, name="Restored_DB"),
        "pgpitr:restore.name",
        "Kubernetes name",
    ),
    (
        "s3Compatible over http without insecure",
        s3_compatible(endpoint="http://minio.storage:9000"),
        "pgpitr:bucket.endpoint",
        "set bucket.insecure: true",
    ),
    (
        "s3Compatible over http with insecure false",
        s3_compatible(endpoint="http://minio.storage:9000", insecure=False),
        "pgpitr:bucket.endpoint",
        "unencrypted",
    ),
    ("s3Compatible endpoint not a url", s3_compatible(endpoint="minio:9000"), "pgpitr:bucket.endpoint", "https://"),
    ("s3Compatible without endpoint", s3_compatible("endpoint"), "pgpitr:bucket.endpoint", "s3Compatible"),
    ("s3Compatible without bucket name", s3_compatible("name"), "pgpitr:bucket.name", "is required"),
    ("s3Compatible bad bucket name", s3_compatible(name="Backups"), "pgpitr:bucket.name", "S3 bucket name"),
    (
        "s3Compatible without credentialsSecret",
        s3_compatible("credentialsSecret"),
        "pgpitr:bucket.credentialsSecret",
        "is required with bucket.provider s3Compatible",
    ),
    (
        "s3Compatible credentialsSecret without name",
        s3_compatible(credentialsSecret={"accessKeyIdKey": "access-key"}),
        "pgpitr:bucket.credentialsSecret.name",
        "is required",
    ),
    (
        "s3Compatible credentialsSecret empty name",
        s3_compatible(credentialsSecret={"name": ""}),
        "pgpitr:bucket.credentialsSecret.name",
        "is empty",
    ),
    (
        "s3Compatible credentialsSecret not an object",
        s3_compatible(credentialsSecret="backup-store"),
        "pgpitr:bucket.credentialsSecret",
        "must be an object with the keys accessKeyIdKey, name",
    ),
    (
        "s3Compatible credentialsSecret bad key",
        s3_compatible(credentialsSecret={"name": "backup-store", "secretAccessKeyKey": "secret key"}),
        "pgpitr:bucket.credentialsSecret.secretAccessKeyKey",
        "not a key a Secret can hold",
    ),
    (
        "s3Compatible caSecret without key",
        s3_compatible(caSecret={"name": "ca"}),
        "pgpitr:bucket.caSecret.key",
        "required",
    ),
    ("s3Compatible bad region", s3_compatible(region="EU West"), "pgpitr:bucket.region", "us-east-1"),
    ("unknown bucket provider", s3_compatible(provider="minio"), "pgpitr:bucket.provider", "aws or s3Compatible"),
    (
        "s3Compatible keys with the aws provider",
        {"bucket": {"endpoint": "https://s3.example.internal:9000"}, "identity": IRSA},
        "pgpitr:bucket.endpoint",
        "set bucket.provider: s3Compatible",
    ),
    (
        "identity with s3Compatible",
        {**s3_compatible(), "identity": IRSA},
        "pgpitr:identity",
        "does not apply with bucket.provider s3Compatible",
    ),
    (
        "incomplete identity with s3Compatible",
        {**s3_compatible(), "identity": {"mode": "podIdentity"}},
        "pgpitr:identity",
        "remove it",
    ),
    (
        "objectLock with s3Compatible",
        s3_compatible(objectLock={"mode": "COMPLIANCE", "days": 30}),
        "pgpitr:bucket.objectLock",
        "aws only",
    ),
    (
        "noncurrentVersionExpirationDays with s3Compatible",
        s3_compatible(noncurrentVersionExpirationDays=7),
        "pgpitr:bucket.noncurrentVersionExpirationDays",
        "aws only",
    ),
    ("forceDestroy with s3Compatible", s3_compatible(forceDestroy=True), "pgpitr:bucket.forceDestroy", "aws only"),
    (
        "retainOnDestroy with s3Compatible",
        s3_compatible(retainOnDestroy=False),
        "pgpitr:bucket.retainOnDestroy",
        "aws only",
    ),
    ("empty image ref", {"image": {"ref": ""}}, "pgpitr:image.ref", "is empty"),
    ("image ref without tag or digest", {"image": {"ref": "postgres"}}, "pgpitr:image.ref", "not an image reference"),
    (
        "image ref with a repository",
        {"image": {"ref": IMAGE_REF, "repository": "registry.example.internal/pgpitr/postgres"}},
        "pgpitr:image.ref",
        "remove image.repository",
    ),
    (
        "image ref with build settings",
        {"image": {"ref": IMAGE_REF, "platforms": ["linux/arm64"]}},
        "pgpitr:image.ref",
        "nothing is built or pushed",
    ),
    (
        "empty existing credentials secret",
        {"credentials": {"existingSecret": ""}},
        "pgpitr:credentials.existingSecret",
        "is empty",
    ),
    (
        "existing credentials secret not a name",
        {"credentials": {"existingSecret": "Postgres_Passwords"}},
        "pgpitr:credentials.existingSecret",
        "not a Kubernetes Secret name",
    ),
    (
        "unknown credentials key",
        {"credentials": {"existingSecrets": "x"}},
        "pgpitr:credentials.existingSecrets",
        "did you mean existingSecret",
    ),
]


def _raw(overrides: dict[str, Any]) -> dict[str, str]:
    """The dev stack (AWS) with `overrides`; the onprem stack (no identity) when they set
    an S3-compatible bucket."""
    bucket = overrides.get("bucket")
    s3_compatible = isinstance(bucket, dict) and bucket.get("provider") == "s3Compatible"
    raw = stack_file_config("onprem" if s3_compatible else "dev")
    for key, value in overrides.items():
        raw[f"pgpitr:{key}"] = value if isinstance(value, str) else json.dumps(value)
    return raw


def test_the_table_is_long_enough() -> None:
    assert len({case[0] for case in BAD_CONFIGS}) >= 25


@pytest.mark.parametrize(("case", "overrides", "key", "words"), BAD_CONFIGS, ids=[c[0] for c in BAD_CONFIGS])
def test_bad_config_fails_with_one_line_naming_the_key(
    case: str, overrides: dict[str, Any], key: str, words: str
) -> None:
    with pytest.raises(SettingsError) as raised:
        parse_settings(_raw(overrides))
    message = str(raised.value)
    assert "\n" not in message
    assert f"{key}:" in message, message
    assert words in message, message
    assert message.startswith("invalid stack config: ")


def test_shipped_dev_stack_is_valid() -> None:
    settings = parse_settings(stack_file_config())
    assert settings.namespace == "database"
    assert settings.identity is not None and settings.identity.mode == "irsa"


def test_defaults_match_the_contract() -> None:
    settings = parse_settings({"pgpitr:identity": json.dumps(IRSA)})
    assert settings.namespace == "database"
    assert settings.postgres_version == 16
    assert settings.walg_version == "v3.0.9"
    assert settings.archive_timeout == 60
    assert settings.image.platforms == ["linux/amd64"] and settings.image.push and settings.image.ref is None
    assert isinstance(settings.bucket, AwsBucketSettings) and settings.bucket.provider == "aws"
    assert settings.bucket.noncurrent_version_expiration_days == 30 and not settings.bucket.force_destroy
    assert settings.bucket.object_lock is None and settings.bucket.retain_on_destroy
    assert settings.identity is not None and settings.identity.mode == "irsa"
    assert settings.credentials.existing_secret is None
    assert settings.storage.size == "50Gi"
    assert (settings.resources.requests.cpu, settings.resources.requests.memory) == ("500m", "1Gi")
    assert (settings.resources.limits.cpu, settings.resources.limits.memory) == ("1000m", "2Gi")
    assert settings.backup.schedule == "0 2 * * *" and settings.backup.time_zone == "Etc/UTC"
    assert (settings.backup.retention.full_backups, settings.backup.retention.days) == (7, 30)
    assert settings.backup.compression == "lz4" and settings.backup.delta_max_steps == 0
    assert settings.monitoring.enabled and settings.monitoring.rule_labels == {"release": "kube-prometheus-stack"}
    assert (settings.monitoring.archive_lag_seconds, settings.monitoring.backup_max_age_hours) == (600, 26)
    assert not settings.restore.enabled and settings.restore.name == "postgres-restored"


def test_other_namespaces_are_not_ours() -> None:
    settings = parse_settings(
        {"pgpitr:identity": json.dumps(IRSA), "aws:region": "eu-west-1", "kubernetes:context": "prod"}
    )
    assert settings.namespace == "database"


def test_static_keys_accepted_when_secret() -> None:
    identity = {
        "mode": "staticKeys",
        "accessKeyId": "AKIAABCDEFGHIJKLMNOP",
        "secretAccessKey": "abcdefghijklmnopqrstuvwx",
    }
    settings = parse_settings({"pgpitr:identity": json.dumps(identity)}, secret_keys={"pgpitr:identity"})
    assert settings.identity is not None and settings.identity.mode == "staticKeys"


def test_restore_target_values_are_normalised() -> None:
    settings = parse_settings(_raw(restore(target={"lsn": "16/b374d848"})))
    assert settings.restore.target is not None
    assert settings.restore.target.to_target().value == "16/B374D848"


@pytest.mark.parametrize("stack", ["dev", "prod", "onprem"])
def test_every_shipped_stack_file_is_valid(stack: str) -> None:
    from pathlib import Path

    from pgpitr.settings.stack_file import read_stack_file

    settings = parse_settings(read_stack_file(Path(__file__).resolve().parents[2] / f"Pulumi.{stack}.yaml"))
    assert settings.namespace == "database"


def test_onprem_stack_file_needs_no_aws() -> None:
    settings = parse_settings(stack_file_config("onprem"))
    bucket = settings.bucket
    assert isinstance(bucket, S3CompatibleBucketSettings) and settings.aws_bucket is None
    assert (bucket.endpoint, bucket.name, bucket.region) == (
        "https://s3.example.internal:9000",
        "pgpitr-backups",
        "us-east-1",
    )
    assert bucket.force_path_style and not bucket.insecure
    assert bucket.credentials_secret.name == "backup-store"
    assert bucket.ca_secret is not None and (bucket.ca_secret.name, bucket.ca_secret.key) == (
        "backup-store-ca",
        "ca.crt",
    )
    assert settings.identity is None
    assert settings.image.ref is not None and settings.image.ref.startswith("registry.example.internal/")
    assert settings.image.repository is None
    assert settings.credentials.existing_secret == "postgres-passwords"
    assert settings.backup.encryption is not None
    assert (settings.backup.encryption.method, settings.backup.encryption.existing_secret) == (
        "libsodium",
        "backup-encryption",
    )


def test_s3_compatible_defaults_match_the_contract() -> None:
    settings = parse_settings(_raw(s3_compatible()))
    bucket = settings.bucket
    assert isinstance(bucket, S3CompatibleBucketSettings)
    assert bucket.region == "us-east-1"
    assert bucket.force_path_style is True
    assert bucket.insecure is False
    assert bucket.credentials_secret.access_key_id_key == "AWS_ACCESS_KEY_ID"
    assert bucket.credentials_secret.secret_access_key_key == "AWS_SECRET_ACCESS_KEY"
    assert bucket.ca_secret is None
    assert settings.identity is None, "no AWS identity is defaulted for an S3-compatible store"


def test_insecure_allows_an_http_endpoint() -> None:
    settings = parse_settings(_raw(s3_compatible(endpoint="http://minio.storage:9000", insecure=True)))
    assert isinstance(settings.bucket, S3CompatibleBucketSettings)
    assert settings.bucket.endpoint == "http://minio.storage:9000" and settings.bucket.insecure


def test_s3_compatible_settings_are_taken_as_given() -> None:
    bucket = s3_compatible(
        region="eu-central-1",
        forcePathStyle=False,
        credentialsSecret={"name": "r2-keys", "accessKeyIdKey": "access-key", "secretAccessKeyKey": "secret-key"},
        caSecret={"name": "store-ca", "key": "ca-bundle.pem"},
    )
    settings = parse_settings(_raw(bucket))
    parsed = settings.bucket
    assert isinstance(parsed, S3CompatibleBucketSettings)
    assert parsed.region == "eu-central-1" and parsed.force_path_style is False
    assert (parsed.credentials_secret.access_key_id_key, parsed.credentials_secret.secret_access_key_key) == (
        "access-key",
        "secret-key",
    )
    assert parsed.ca_secret is not None and parsed.ca_secret.key == "ca-bundle.pem"


def test_image_ref_and_existing_credentials_are_taken_as_given() -> None:
    digest = "registry.example.internal/pgpitr/postgres@sha256:" + "ab" * 32
    settings = parse_settings(_raw({"image": {"ref": digest}, "credentials": {"existingSecret": "postgres-passwords"}}))
    assert settings.image.ref == digest
    assert settings.credentials.existing_secret == "postgres-passwords"


def test_explicit_aws_provider_is_the_default() -> None:
    explicit = parse_settings(_raw({"bucket": {"provider": "aws"}}))
    assert explicit.bucket == parse_settings(stack_file_config()).bucket
    assert explicit.identity is not None and explicit.identity.mode == "irsa"
