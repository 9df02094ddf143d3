"""The S3 server the pods archive to (moto, as the drill uses it) and its bucket."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

from cluster.config import BUCKET, S3_REGION, s3_endpoint
from cluster.state import Credentials


def client(credentials: Credentials) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=s3_endpoint(),
        region_name=S3_REGION,
        aws_access_key_id=credentials.s3_access_key_id,
        aws_secret_access_key=credentials.s3_secret_access_key,
        config=Config(connect_timeout=2, read_timeout=10, retries={"max_attempts": 1}, proxies={}),
    )


def answers(credentials: Credentials) -> bool:
    try:
        client(credentials).list_buckets()
    except Exception:
        return False
    return True


def ensure_bucket(credentials: Credentials) -> bool:
    """Creates the bucket unless it exists; True if it did."""
    s3 = client(credentials)
    if any(bucket["Name"] == BUCKET for bucket in s3.list_buckets().get("Buckets", [])):
        return False
    s3.create_bucket(Bucket=BUCKET)
    return True
