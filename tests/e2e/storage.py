"""Looking at what the drill's stack stored, straight from the S3 server."""

from drill.local_stack import LocalStack


def archive_key_prefix(stack: LocalStack) -> str:
    """The primary's archive prefix as an S3 key prefix (no bucket, no scheme)."""
    return stack.walg_prefix().removeprefix(f"s3://{stack.state.s3.bucket}/")


def objects_under(stack: LocalStack, prefix: str) -> list[str]:
    client = stack.s3_client()
    keys: list[str] = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=stack.state.s3.bucket, Prefix=prefix):
        keys += [item["Key"] for item in page.get("Contents", [])]
    return sorted(keys)
