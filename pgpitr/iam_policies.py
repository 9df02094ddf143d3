"""IAM policy documents, as pure functions of bucket, prefix and key.

Least privilege: the bucket is listed only under the stack's prefix, objects are read,
written and deleted only under it, the KMS key is used only as SSE-KMS needs. No
statement has a `*` action or a `*` resource.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

PolicyDocument = dict[str, Any]
Access = Literal["read", "read-write"]

OBJECT_READ_ACTIONS = ("s3:GetObject",)
OBJECT_WRITE_ACTIONS = (
    "s3:PutObject",
    "s3:DeleteObject",
    "s3:AbortMultipartUpload",
    "s3:ListMultipartUploadParts",
)
# SSE-KMS: reading an object decrypts its data key, writing one generates a data key.
KMS_DECRYPT_ACTIONS = ("kms:Decrypt",)
KMS_ENCRYPT_ACTIONS = ("kms:GenerateDataKey",)


@dataclass(frozen=True)
class PrefixGrant:
    """Access to one prefix (no leading or trailing slash) of the backup bucket."""

    prefix: str
    access: Access

    def __post_init__(self) -> None:
        if not self.prefix or self.prefix.startswith("/") or self.prefix.endswith("/") or "*" in self.prefix:
            raise ValueError(f"prefix {self.prefix!r} must be a plain path without leading or trailing '/'")


def bucket_arn(bucket: str, partition: str = "aws") -> str:
    return f"arn:{partition}:s3:::{bucket}"


def storage_policy(bucket: str, kms_key_arn: str, grants: list[PrefixGrant], partition: str = "aws") -> PolicyDocument:
    """What a WAL-G process needs on `bucket` for the given prefixes, and nothing else."""
    if not grants:
        raise ValueError("a storage policy needs at least one prefix")
    statements: list[dict[str, Any]] = [
        {
            "Sid": "ListOwnPrefixes",
            "Effect": "Allow",
            "Action": ["s3:ListBucket"],
            "Resource": [bucket_arn(bucket, partition)],
            "Condition": {
                "StringLike": {"s3:prefix": sorted({p for g in grants for p in (g.prefix, f"{g.prefix}/*")})}
            },
        },
        {
            "Sid": "ReadObjects",
            "Effect": "Allow",
            "Action": list(OBJECT_READ_ACTIONS),
            "Resource": sorted(f"{bucket_arn(bucket, partition)}/{g.prefix}/*" for g in grants),
        },
    ]
    writable = sorted(f"{bucket_arn(bucket, partition)}/{g.prefix}/*" for g in grants if g.access == "read-write")
    if writable:
        statements.append(
            {"Sid": "WriteObjects", "Effect": "Allow", "Action": list(OBJECT_WRITE_ACTIONS), "Resource": writable}
        )
    kms_actions = list(KMS_DECRYPT_ACTIONS) + (list(KMS_ENCRYPT_ACTIONS) if writable else [])
    statements.append({"Sid": "UseBackupKey", "Effect": "Allow", "Action": kms_actions, "Resource": [kms_key_arn]})
    return {"Version": "2012-10-17", "Statement": statements}


def tls_only_bucket_policy(bucket: str, partition: str = "aws") -> PolicyDocument:
    """Deny every request to the bucket that does not use TLS."""
    arn = bucket_arn(bucket, partition)
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": {"AWS": "*"},
                "Action": "s3:*",
                "Resource": [arn, f"{arn}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ],
    }


def irsa_trust_policy(
    oidc_provider_arn: str, issuer_host_path: str, namespace: str, service_accounts: list[str]
) -> PolicyDocument:
    """Only the named service accounts of the namespace may assume the role."""
    subjects = [f"system:serviceaccount:{namespace}:{sa}" for sa in service_accounts]
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": oidc_provider_arn},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        f"{issuer_host_path}:sub": subjects[0] if len(subjects) == 1 else subjects,
                        f"{issuer_host_path}:aud": "sts.amazonaws.com",
                    }
                },
            }
        ],
    }


def pod_identity_trust_policy() -> PolicyDocument:
    """EKS Pod Identity; which pods get the role is decided by the association."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "pods.eks.amazonaws.com"},
                "Action": ["sts:AssumeRole", "sts:TagSession"],
            }
        ],
    }
