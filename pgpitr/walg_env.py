"""The WAL-G environment every pgpitr container gets, and the local drill too.

Values that are only known at deploy time (bucket, KMS key) come in as type parameters,
so the Pulumi program passes Outputs and the drill passes plain strings through the
same function.
"""

from dataclasses import dataclass
from typing import Generic, TypeVar

from pgpitr_runtime import names

V = TypeVar("V")


@dataclass(frozen=True)
class ArchiveLocation(Generic[V]):
    """An S3 prefix WAL-G writes to or reads from, encrypted with a KMS key."""

    walg_prefix: V
    """s3://bucket/prefix"""
    kms_key_id: V
    region: V
    endpoint: str | None = None
    """Only for S3-compatible servers (the drill); AWS needs none."""


def walg_prefix(bucket: str, prefix: str) -> str:
    return f"s3://{bucket}/{prefix}"


def walg_environment(location: ArchiveLocation[V], compression: str) -> dict[str, V | str]:
    """WAL-G settings, in the order a reader expects them."""
    env: dict[str, V | str] = {
        names.WALG_S3_PREFIX: location.walg_prefix,
        names.AWS_REGION: location.region,
        names.WALG_S3_SSE: "aws:kms",
        names.WALG_S3_SSE_KMS_ID: location.kms_key_id,
        names.WALG_COMPRESSION_METHOD: compression,
        names.WALG_PREVENT_WAL_OVERWRITE: "true",
        names.WALG_DELTA_MAX_STEPS: "0",
    }
    if location.endpoint is not None:
        env[names.AWS_ENDPOINT] = location.endpoint
        env[names.AWS_S3_FORCE_PATH_STYLE] = "true"
    return env
