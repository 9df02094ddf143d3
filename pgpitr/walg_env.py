"""The WAL-G environment every pgpitr container gets, and the local drill too.

Values that are only known at deploy time (bucket, KMS key) come in as type parameters,
so the Pulumi program passes Outputs and the drill passes plain strings through the
same function. An AWS bucket gets SSE-KMS; an S3-compatible store gets its endpoint,
path-style addressing and CA bundle instead.
"""

from dataclasses import dataclass
from typing import Generic, TypeVar

from pgpitr.settings.bucket import S3CompatibleBucketSettings
from pgpitr_runtime import names

V = TypeVar("V")


@dataclass(frozen=True)
class ArchiveLocation(Generic[V]):
    """An instance's archive on S3, and how to reach it."""

    walg_prefix: V
    """s3://bucket/prefix: the archive's first location and its name; the scripts find its
    later locations from its manifest (pgpitr_runtime/archive.py) and set WALG_S3_PREFIX."""
    region: V
    kms_key_id: V | None = None
    """AWS: objects encrypted at rest with this KMS key (SSE-KMS)."""
    endpoint: str | None = None
    """S3-compatible stores: their API endpoint (AWS needs none)."""
    force_path_style: bool = True
    """With an endpoint: bucket in the path, not in the host name."""
    ca_cert_file: str | None = None
    """With an endpoint: a CA bundle its certificate chains to."""


S3_MAX_RETRIES = 8
"""Tries per S3 request before the WAL-G call fails. With aws-sdk-go's exponential
backoff, 8 tries ride out about 10 s of refused connections (measured: 10.4 s for a
wal-push against a stopped endpoint; WAL-G's default, 15, took over 20 minutes), so an
outage makes archiving fail within a minute and the alert fires, while PostgreSQL keeps
the segment and retries archive_command on its own."""
DOWNLOAD_FILE_RETRIES = 3
"""Rounds of re-downloading the failed parts of a base backup. WAL-G halves its download
concurrency (10 -> 5 -> 2 -> 1) between rounds, sleeping 1, 2 and 4 minutes; 3 rounds end
there, so a fetch during an outage fails in about 8 minutes instead of WAL-G's 15 rounds
(over an hour). The restore's init container then restarts and fetches again."""


def archive_prefix(stack: str, instance: str) -> str:
    """The key prefix of one instance's archive: `<stack>/<instance>`, so stacks can share a
    bucket safely. The components and the drill both name archives with it."""
    return f"{stack}/{instance}"


def walg_prefix(bucket: str, prefix: str) -> str:
    return f"s3://{bucket}/{prefix}"


def walg_environment(location: ArchiveLocation[V], compression: str) -> dict[str, V | str]:
    """WAL-G settings, in the order a reader expects them."""
    env: dict[str, V | str] = {
        names.PGPITR_ARCHIVE: location.walg_prefix,
        names.AWS_REGION: location.region,
    }
    if location.kms_key_id is not None:
        env[names.WALG_S3_SSE] = "aws:kms"
        env[names.WALG_S3_SSE_KMS_ID] = location.kms_key_id
    env |= {
        names.WALG_COMPRESSION_METHOD: compression,
        names.WALG_PREVENT_WAL_OVERWRITE: "true",
        names.WALG_DELTA_MAX_STEPS: "0",
        names.WALG_S3_MAX_RETRIES: str(S3_MAX_RETRIES),
        names.WALG_DOWNLOAD_FILE_RETRIES: str(DOWNLOAD_FILE_RETRIES),
    }
    if location.endpoint is not None:
        env[names.AWS_ENDPOINT] = location.endpoint
        env[names.AWS_S3_FORCE_PATH_STYLE] = "true" if location.force_path_style else "false"
    if location.ca_cert_file is not None:
        env[names.WALG_S3_CA_CERT_FILE] = location.ca_cert_file
    return env


def s3_compatible_location(
    bucket: S3CompatibleBucketSettings, prefix: str, ca_cert_file: str | None
) -> ArchiveLocation[str]:
    """Where an S3-compatible store keeps `prefix`: the one function the Kubernetes
    components and the local drill both use for such a store."""
    return ArchiveLocation(
        walg_prefix=walg_prefix(bucket.name, prefix),
        region=bucket.region,
        endpoint=bucket.endpoint,
        force_path_style=bucket.force_path_style,
        ca_cert_file=ca_cert_file,
    )
