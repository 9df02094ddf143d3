"""The whole program as a function of validated settings, so tests can run it under mocks
with many configurations in one process."""

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.backup_bucket import BackupBucket
from components.image import PostgresImage
from components.storage_role import StorageRole
from pgpitr.iam_policies import PrefixGrant, storage_policy
from pgpitr.settings import StackSettings
from pgpitr.settings.aws import StaticKeysIdentity
from pgpitr.settings.stack import PRIMARY_NAME
from pgpitr.versions import WALG_RELEASES


@dataclass(frozen=True)
class StackOutputs:
    bucket_name: pulumi.Output[str]
    walg_s3_prefix: pulumi.Output[str]
    role_arn: pulumi.Output[str] | None
    kms_key_arn: pulumi.Output[str]
    image: pulumi.Output[str]

    def export(self) -> None:
        pulumi.export("bucketName", self.bucket_name)
        pulumi.export("walgS3Prefix", self.walg_s3_prefix)
        pulumi.export("roleArn", self.role_arn)
        pulumi.export("kmsKeyArn", self.kms_key_arn)
        pulumi.export("image", self.image)


def archive_prefix(instance: str) -> str:
    """The key prefix of one instance's archive: stacks can share a bucket safely."""
    return f"{pulumi.get_stack()}/{instance}"


def build(settings: StackSettings) -> StackOutputs:
    image = PostgresImage(
        "postgres-image", settings.image, settings.postgres_version, WALG_RELEASES[settings.walg_version]
    )
    bucket = BackupBucket("backups", settings.bucket)
    partition = aws.get_partition_output().partition
    primary_prefix = archive_prefix(PRIMARY_NAME)

    role_arn: pulumi.Output[str] | None = None
    if not isinstance(settings.identity, StaticKeysIdentity):
        policy = pulumi.Output.all(bucket.bucket_name, bucket.kms_key_arn, partition).apply(
            lambda values: json.dumps(
                storage_policy(values[0], values[1], [PrefixGrant(primary_prefix, "read-write")], values[2])
            )
        )
        role_arn = StorageRole(
            f"{pulumi.get_stack()}-{PRIMARY_NAME}-walg",
            settings.identity,
            settings.namespace,
            [PRIMARY_NAME],
            policy,
        ).arn

    return StackOutputs(
        bucket_name=bucket.bucket_name,
        walg_s3_prefix=bucket.bucket_name.apply(lambda b: f"s3://{b}/{primary_prefix}"),
        role_arn=role_arn,
        kms_key_arn=bucket.kms_key_arn,
        image=image.ref,
    )
