"""Where the archive lives, decided once: an AWS bucket pgpitr creates (KMS key, one IAM
role per workload), or an existing bucket on an S3-compatible store reached with keys
from an existing Secret. Every workload that runs WAL-G (the primary, the backup job, a
restored instance, the verify jobs) asks the store for its `StorageAccess` and never
looks at the provider itself."""

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.backup_bucket import BackupBucket
from components.database_credentials import static_keys_secret
from components.pod_parts import EnvVar, secret_env
from components.storage_watch import StorageWatch
from components.workload_identity import WorkloadIdentity, service_account
from pgpitr.iam_policies import PrefixGrant, storage_policy
from pgpitr.settings.aws import StaticKeysIdentity
from pgpitr.settings.bucket import S3CompatibleBucketSettings
from pgpitr.settings.stack import StackSettings
from pgpitr.settings.verify import StorageWatchSettings
from pgpitr.walg_env import ArchiveLocation, s3_compatible_location, walg_environment
from pgpitr_runtime import names

CA_VOLUME = "storage-ca"
CA_DIR = "/etc/pgpitr/storage-ca"


@dataclass(frozen=True)
class StorageAccess:
    """What one workload's pods get to run WAL-G against its archive prefix."""

    service_account: str
    walg_env: Mapping[str, pulumi.Input[str]]
    """Plain WAL-G settings (no secret among them)."""
    secret_env: list[EnvVar]
    """Credentials, only ever by secretKeyRef."""
    volumes: list[k8s.core.v1.VolumeArgs] = field(default_factory=list)
    mounts: list[k8s.core.v1.VolumeMountArgs] = field(default_factory=list)
    role_arn: pulumi.Output[str] | None = None

    @property
    def archive(self) -> pulumi.Input[str]:
        """The archive (PGPITR_ARCHIVE): its first location, and its manifest's name."""
        return self.walg_env[names.PGPITR_ARCHIVE]


class ArchiveStore(Protocol):
    bucket_name: pulumi.Output[str]
    kms_key_arn: pulumi.Output[str] | None

    def access(self, workload: str, prefix: str, grants: list[PrefixGrant]) -> StorageAccess:
        """The ServiceAccount `workload` and what its pods need for WALG_S3_PREFIX = `prefix`,
        allowed no more than `grants` where the store can enforce it."""
        ...

    def watch(self, settings: StorageWatchSettings) -> None:
        """Alarms on the archive's size, where the store offers them."""
        ...


class AwsArchiveStore:
    """The KMS-encrypted bucket (BackupBucket) and an IAM identity per workload."""

    def __init__(self, settings: StackSettings, namespace: pulumi.Input[str]) -> None:
        assert settings.aws_bucket is not None
        self._settings = settings
        self._namespace = namespace
        self.bucket = BackupBucket("backups", settings.aws_bucket)
        self.bucket_name = self.bucket.bucket_name
        self.kms_key_arn: pulumi.Output[str] | None = self.bucket.kms_key_arn
        if isinstance(settings.identity, StaticKeysIdentity):
            static_keys_secret(namespace, settings.identity)
        self._region = aws.get_region_output().region
        self._partition = aws.get_partition_output().partition

    def access(self, workload: str, prefix: str, grants: list[PrefixGrant]) -> StorageAccess:
        policy = pulumi.Output.all(self.bucket_name, self.bucket.kms_key_arn, self._partition).apply(
            lambda v: json.dumps(storage_policy(v[0], v[1], grants, v[2]))
        )
        identity = WorkloadIdentity(workload, self._settings, self._namespace, policy)
        location: ArchiveLocation[pulumi.Output[str]] = ArchiveLocation(
            walg_prefix=self.bucket_name.apply(lambda bucket: f"s3://{bucket}/{prefix}"),
            region=self._region,
            kms_key_id=self.bucket.kms_key_arn,
        )
        walg_env = walg_environment(location, self._settings.backup.compression)
        return StorageAccess(
            service_account=identity.service_account,
            walg_env=walg_env,
            secret_env=identity.credential_env,
            role_arn=identity.role_arn,
        )

    def watch(self, settings: StorageWatchSettings) -> None:
        StorageWatch("backup-bucket-size", self.bucket_name, settings)


class S3CompatibleArchiveStore:
    """An existing bucket on any S3 API. pgpitr creates nothing outside Kubernetes: the
    credentials come from `bucket.credentialsSecret`, a private CA from `bucket.caSecret`.
    One key pair serves every workload, so the store's own policies decide what each may
    do; use a key limited to the bucket."""

    def __init__(self, settings: StackSettings, namespace: pulumi.Input[str]) -> None:
        assert isinstance(settings.bucket, S3CompatibleBucketSettings)
        self._bucket = settings.bucket
        self._settings = settings
        self._namespace = namespace
        self.bucket_name = pulumi.Output.from_input(self._bucket.name)
        self.kms_key_arn: pulumi.Output[str] | None = None

    def access(self, workload: str, prefix: str, grants: list[PrefixGrant]) -> StorageAccess:
        service_account(workload, self._namespace, {}, pulumi.ResourceOptions())
        ca = self._bucket.ca_secret
        location = s3_compatible_location(self._bucket, prefix, f"{CA_DIR}/{ca.key}" if ca else None)
        credentials = self._bucket.credentials_secret
        volumes, mounts = [], []
        if ca is not None:
            volumes.append(
                k8s.core.v1.VolumeArgs(
                    name=CA_VOLUME,
                    secret=k8s.core.v1.SecretVolumeSourceArgs(
                        secret_name=ca.name, items=[k8s.core.v1.KeyToPathArgs(key=ca.key, path=ca.key)]
                    ),
                )
            )
            mounts.append(k8s.core.v1.VolumeMountArgs(name=CA_VOLUME, mount_path=CA_DIR, read_only=True))
        walg_env = walg_environment(location, self._settings.backup.compression)
        return StorageAccess(
            service_account=workload,
            walg_env=walg_env,
            secret_env=[
                secret_env(names.AWS_ACCESS_KEY_ID, credentials.name, credentials.access_key_id_key),
                secret_env(names.AWS_SECRET_ACCESS_KEY, credentials.name, credentials.secret_access_key_key),
            ],
            volumes=volumes,
            mounts=mounts,
        )

    def watch(self, settings: StorageWatchSettings) -> None:
        """Nothing: an S3-compatible store has no CloudWatch; watch its size with its own tools."""


def archive_store(settings: StackSettings, namespace: pulumi.Input[str]) -> ArchiveStore:
    """The one place the bucket's provider is looked at."""
    if isinstance(settings.bucket, S3CompatibleBucketSettings):
        return S3CompatibleArchiveStore(settings, namespace)
    return AwsArchiveStore(settings, namespace)
