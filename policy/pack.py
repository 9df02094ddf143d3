"""pgpitr's guardrails: the properties a point-in-time-recoverable PostgreSQL must keep,
one policy a concern (buckets, iam, workloads, archiving, restored_archive,
plaintext_secrets), assembled here; policy/__main__.py hands ALL_POLICIES to the PolicyPack.

Self-contained (pulumi_policy and the standard library only): a published pack is
packaged alone. Props are read through props.lookup, which turns values unknown during
preview into `UNKNOWN`, and the policies skip what they cannot know instead of reporting it.

Both archive stores pass the same pack: the AWS policies judge only AWS resources, so a
stack without AWS (`bucket.provider: s3Compatible`) gives them nothing to check (and no
bucket to count), while the Kubernetes policies judge every stack alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Final

from pulumi_policy import EnforcementLevel, Policy, ResourceValidationPolicy, StackValidationPolicy

if TYPE_CHECKING or __package__:  # policy.<module>, as the tests and mypy import it
    from .archiving import validate_archiving
    from .buckets import (
        BUCKET_TYPES,
        ENCRYPTION_TYPES,
        PUBLIC_ACCESS_BLOCK_TYPE,
        validate_bucket_encryption,
        validate_buckets_protected,
        validate_public_access_blocked,
    )
    from .iam import IAM_POLICY_TYPE, ROLE_POLICY_TYPE, ROLE_TYPE, validate_iam_no_wildcards
    from .kubernetes_props import CONFIG_MAP_TYPE, CRONJOB_TYPE, JOB_TYPE, STATEFULSET_TYPE
    from .plaintext_secrets import validate_no_plaintext_secrets
    from .restored_archive import validate_restored_archive
    from .workloads import validate_containers
else:  # a top-level module: Pulumi runs the pack with policy/ first on sys.path
    from archiving import validate_archiving
    from buckets import (
        BUCKET_TYPES,
        ENCRYPTION_TYPES,
        PUBLIC_ACCESS_BLOCK_TYPE,
        validate_bucket_encryption,
        validate_buckets_protected,
        validate_public_access_blocked,
    )
    from iam import IAM_POLICY_TYPE, ROLE_POLICY_TYPE, ROLE_TYPE, validate_iam_no_wildcards
    from kubernetes_props import CONFIG_MAP_TYPE, CRONJOB_TYPE, JOB_TYPE, STATEFULSET_TYPE
    from plaintext_secrets import validate_no_plaintext_secrets
    from restored_archive import validate_restored_archive
    from workloads import validate_containers

POLICY_RESOURCE_TYPES: Final[Mapping[str, frozenset[str]]] = {
    "s3-bucket-kms-encryption": ENCRYPTION_TYPES,
    "s3-public-access-blocked": frozenset({PUBLIC_ACCESS_BLOCK_TYPE}),
    "s3-bucket-protected": BUCKET_TYPES,
    "iam-no-wildcards": frozenset({ROLE_TYPE, ROLE_POLICY_TYPE, IAM_POLICY_TYPE}),
    "containers-non-root-with-limits": frozenset({STATEFULSET_TYPE, JOB_TYPE, CRONJOB_TYPE}),
    "postgres-archiving-on": frozenset({CONFIG_MAP_TYPE}),
    "restored-never-archives-into-source": frozenset({STATEFULSET_TYPE}),
    "no-plaintext-secrets": frozenset({STATEFULSET_TYPE, JOB_TYPE, CRONJOB_TYPE, CONFIG_MAP_TYPE}),
}
"""The resource types each policy looks at (the stack policy: the buckets it counts)."""

ALL_POLICIES: list[Policy] = [
    ResourceValidationPolicy(
        name="s3-bucket-kms-encryption",
        description="S3 default encryption uses SSE-KMS (aws:kms), so backups are encrypted with the stack's key.",
        validate=validate_bucket_encryption,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
    ResourceValidationPolicy(
        name="s3-public-access-blocked",
        description="S3 public access blocks turn on all four switches: backups are never public.",
        validate=validate_public_access_blocked,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
    StackValidationPolicy(
        name="s3-bucket-protected",
        description="Every S3 bucket comes with an encryption configuration and a public access block.",
        validate=validate_buckets_protected,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
    ResourceValidationPolicy(
        name="iam-no-wildcards",
        description="IAM Allow statements name their actions and resources: no '*' or 'service:*' actions, "
        "no '*' resource.",
        validate=validate_iam_no_wildcards,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
    ResourceValidationPolicy(
        name="containers-non-root-with-limits",
        description="Every container of a StatefulSet, Job or CronJob runs non-root and has cpu and memory limits.",
        validate=validate_containers,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
    ResourceValidationPolicy(
        name="postgres-archiving-on",
        description="The primary's postgresql.conf sets archive_mode on and archives with WAL-G (pgpitr-wal-push).",
        validate=validate_archiving,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
    ResourceValidationPolicy(
        name="restored-never-archives-into-source",
        description="A restored instance's PGPITR_ARCHIVE is never the source's archive (PGPITR_SOURCE_ARCHIVE).",
        validate=validate_restored_archive,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
    ResourceValidationPolicy(
        name="no-plaintext-secrets",
        description="Credentials reach containers only through valueFrom.secretKeyRef, and no ConfigMap holds "
        "a credential or a private key.",
        validate=validate_no_plaintext_secrets,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
]
