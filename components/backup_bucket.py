"""The encrypted, versioned, private S3 bucket that holds base backups and WAL, and its KMS key."""

import json

import pulumi
import pulumi_aws as aws

from pgpitr.iam_policies import tls_only_bucket_policy
from pgpitr.settings.bucket import AwsBucketSettings


class BackupBucket(pulumi.ComponentResource):
    """SSE-KMS with a rotating customer key and a bucket key; versioning; all public access
    blocked; object ownership enforced; TLS-only; a lifecycle that expires only
    noncurrent versions (expiring current objects under the WAL prefix would silently
    break the WAL chain: retention is WAL-G's job); optional Object Lock.

    With `bucket.retainOnDestroy` (the default) the bucket, the key, its alias and every
    guard are retained on delete (`pulumi destroy`, a replacement, removal from the
    program): the archive stays in AWS, guarded and readable. With it false they are
    deleted, in an order that never leaves a surviving archive unreadable or unguarded:
    the bucket depends on the key, so the key is scheduled for deletion only after the
    bucket's own delete succeeded, and every guard is deleted with the bucket, never
    before it; a bucket whose delete fails (not empty, forceDestroy false) keeps both.
    The orderings are set in both cases; resource names are the same as before."""

    bucket_name: pulumi.Output[str]
    bucket_arn: pulumi.Output[str]
    kms_key_arn: pulumi.Output[str]

    def __init__(self, name: str, settings: AwsBucketSettings, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("pgpitr:index:BackupBucket", name, None, opts)
        retain = settings.retain_on_destroy
        child = pulumi.ResourceOptions(parent=self, retain_on_delete=retain)

        key = aws.kms.Key(
            f"{name}-key",
            description=f"pgpitr backups ({pulumi.get_stack()})",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            opts=child,
        )
        aws.kms.Alias(
            f"{name}-key-alias", name=f"alias/pgpitr-{pulumi.get_stack()}-{name}", target_key_id=key.key_id, opts=child
        )

        bucket = aws.s3.Bucket(
            f"{name}",
            bucket=settings.name,
            force_destroy=settings.force_destroy,
            object_lock_enabled=settings.object_lock is not None,
            opts=pulumi.ResourceOptions(parent=self, retain_on_delete=retain, depends_on=[key]),
        )

        def guard(after: pulumi.Resource) -> pulumi.ResourceOptions:
            """A setting of the bucket: created after `after`, deleted only with the bucket."""
            return pulumi.ResourceOptions(parent=self, retain_on_delete=retain, depends_on=[after], deleted_with=bucket)

        bucket_child = guard(bucket)

        aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access-block",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=bucket_child,
        )
        aws.s3.BucketOwnershipControls(
            f"{name}-ownership",
            bucket=bucket.id,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
            opts=bucket_child,
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=bucket.id,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                        sse_algorithm="aws:kms", kms_master_key_id=key.arn
                    ),
                    bucket_key_enabled=True,
                )
            ],
            opts=bucket_child,
        )
        versioning = aws.s3.BucketVersioning(
            f"{name}-versioning",
            bucket=bucket.id,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
            opts=bucket_child,
        )
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle",
            bucket=bucket.id,
            rules=[
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="expire-noncurrent-versions-only",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                    noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                        noncurrent_days=settings.noncurrent_version_expiration_days
                    ),
                    abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                        days_after_initiation=7
                    ),
                    expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(expired_object_delete_marker=True),
                )
            ],
            opts=guard(versioning),
        )
        aws.s3.BucketPolicy(
            f"{name}-tls-only",
            bucket=bucket.id,
            policy=bucket.bucket.apply(lambda b: json.dumps(tls_only_bucket_policy(b))),
            opts=bucket_child,
        )
        if settings.object_lock is not None:
            lock = settings.object_lock
            aws.s3.BucketObjectLockConfiguration(
                f"{name}-object-lock",
                bucket=bucket.id,
                object_lock_enabled="Enabled",
                rule=aws.s3.BucketObjectLockConfigurationRuleArgs(
                    default_retention=aws.s3.BucketObjectLockConfigurationRuleDefaultRetentionArgs(
                        mode=lock.mode, days=lock.days
                    )
                ),
                opts=guard(versioning),
            )

        self.bucket_name = bucket.bucket
        self.bucket_arn = bucket.arn
        self.kms_key_arn = key.arn
        self.register_outputs(
            {"bucketName": self.bucket_name, "bucketArn": self.bucket_arn, "kmsKeyArn": self.kms_key_arn}
        )
