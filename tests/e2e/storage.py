"""Looking at what the drill's stack stored, straight from the S3 server."""

from drill.deployment import DrillDeployment


def archive_key_prefix(stack: DrillDeployment) -> str:
    """The primary's archive prefix as an S3 key prefix (no bucket, no scheme)."""
    return stack.walg_prefix().removeprefix(f"s3://{stack.state.s3.bucket}/")


def objects_under(stack: DrillDeployment, prefix: str) -> list[str]:
    client = stack.storage.client()
    keys: list[str] = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=stack.state.s3.bucket, Prefix=prefix):
        keys += [item["Key"] for item in page.get("Contents", [])]
    return sorted(keys)
