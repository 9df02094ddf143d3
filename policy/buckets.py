"""S3: default encryption is SSE-KMS, public access is blocked, and every bucket has both."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Final

from pulumi_policy import ReportViolation, ResourceValidationArgs, StackValidationArgs

if TYPE_CHECKING or __package__:  # policy.<module>, as the tests and mypy import it
    from .props import UNKNOWN, describe, elements, lookup
else:  # a top-level module: Pulumi runs the pack with policy/ first on sys.path
    from props import UNKNOWN, describe, elements, lookup

BUCKET_TYPES: Final = frozenset({"aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"})
ENCRYPTION_TYPES: Final = frozenset(
    {
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
    }
)
PUBLIC_ACCESS_BLOCK_TYPE: Final = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
KMS_ALGORITHM: Final = "aws:kms"
PUBLIC_ACCESS_FLAGS: Final = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")


def validate_bucket_encryption(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    """Every default-encryption rule is SSE-KMS (the backups' rotating customer key)."""
    if args.resource_type not in ENCRYPTION_TYPES:
        return
    rules = lookup(args.props, "rules")
    if rules is UNKNOWN:
        return
    fix = f"set rules[].applyServerSideEncryptionByDefault.sseAlgorithm to {KMS_ALGORITHM!r}"
    found = elements(rules)
    if not found:
        report_violation(f"{describe(args)} has no encryption rule: {fix}.", args.urn)
    for index, rule in enumerate(found):
        algorithm = lookup(rule, "applyServerSideEncryptionByDefault", "sseAlgorithm")
        if rule is UNKNOWN or algorithm is UNKNOWN or algorithm == KMS_ALGORITHM:
            continue
        report_violation(f"{describe(args)}: rule {index} encrypts with {algorithm!r}, not SSE-KMS: {fix}.", args.urn)


def validate_public_access_blocked(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    """All four public-access switches are on: the backup bucket is never public."""
    if args.resource_type != PUBLIC_ACCESS_BLOCK_TYPE:
        return
    for flag in PUBLIC_ACCESS_FLAGS:
        value = lookup(args.props, flag)
        if value is UNKNOWN or value is True:
            continue
        state = "is not set" if value is None else f"is {value!r}"
        report_violation(f"{describe(args)}: {flag} {state}; set {', '.join(PUBLIC_ACCESS_FLAGS)} to true.", args.urn)


def validate_buckets_protected(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    """Every bucket has an encryption configuration and a public access block. Counted,
    not matched by id: bucket ids are unknown during preview."""
    buckets = [r.name for r in args.resources if r.resource_type in BUCKET_TYPES]
    counts = Counter("encryption" if r.resource_type in ENCRYPTION_TYPES else r.resource_type for r in args.resources)
    companions = (
        ("encryption", "BucketServerSideEncryptionConfiguration", "an SSE-KMS BucketServerSideEncryptionConfiguration"),
        (PUBLIC_ACCESS_BLOCK_TYPE, "BucketPublicAccessBlock", "a BucketPublicAccessBlock with every flag true"),
    )
    for key, kind, fix in companions:
        if counts[key] < len(buckets):
            report_violation(
                f"{len(buckets)} S3 bucket(s) ({', '.join(sorted(buckets))}) but only {counts[key]} {kind}(s): "
                f"give every bucket {fix}.",
                None,
            )
