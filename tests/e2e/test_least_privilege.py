"""Least privilege, enforced: the IAM policies the program generates (taken from the
mocked run) are attached to users of an S3 server that enforces IAM, and each pgpitr
identity can do exactly what its job needs.

moto does not evaluate the `s3:prefix` condition on ListBucket nor KMS permissions; the
policy documents' conditions and KMS statements are asserted under mocks instead
(tests/mocks/test_aws_stack.py, tests/mocks/test_verification.py). The sandbox corrects
moto's DeleteObjects, which AWS authorizes key by key (see tests/support/iam_sandbox.py).
tests/e2e/test_walg_least_privilege.py runs WAL-G itself against the same sandbox.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e import iam
from tests.e2e.iam import BUCKET, OTHER_BUCKET, RESTORED, SOURCE
from tests.support.iam_sandbox import ADMIN, IamSandbox

pytestmark = pytest.mark.e2e
SEGMENT = "wal_005/000000010000000000000001.lz4"

# The shared fixtures (tests/e2e/iam.py), bound here so that pytest finds them.
policies = iam.policies
sandbox = iam.sandbox


@pytest.fixture(scope="module", autouse=True)
def seeded(sandbox: IamSandbox) -> None:
    """A segment under each prefix the tests touch, and one in another bucket."""
    admin = sandbox.client("s3", ADMIN)
    for key in (f"{SOURCE}/{SEGMENT}", f"{RESTORED}/{SEGMENT}", f"dev/unrelated/{SEGMENT}"):
        admin.put_object(Bucket=BUCKET, Key=key, Body=b"segment")
    admin.put_object(Bucket=OTHER_BUCKET, Key=SEGMENT, Body=b"segment")


def allowed(call: Callable[[], object]) -> bool:
    try:
        call()
    except ClientError as error:
        if error.response["Error"]["Code"] in ("AccessDenied", "403"):
            return False
        raise
    return True


def operations(s3: Any, prefix: str) -> dict[str, Callable[[], object]]:
    """The S3 calls WAL-G makes for one archive prefix (and its multipart uploads)."""

    def multipart() -> None:
        upload = s3.create_multipart_upload(Bucket=BUCKET, Key=f"{prefix}/basebackups_005/part.tar.lz4")
        s3.abort_multipart_upload(
            Bucket=BUCKET, Key=f"{prefix}/basebackups_005/part.tar.lz4", UploadId=upload["UploadId"]
        )

    def batch_delete() -> None:
        """DeleteObjects (WAL-G's `delete`): refusals come back per key, in a 200 response."""
        response = s3.delete_objects(
            Bucket=BUCKET, Delete={"Objects": [{"Key": f"{prefix}/wal_005/000000010000000000000003.lz4"}]}
        )
        for error in response.get("Errors", []):
            raise ClientError({"Error": {"Code": error["Code"], "Message": error["Message"]}}, "DeleteObjects")

    return {
        "put": lambda: s3.put_object(Bucket=BUCKET, Key=f"{prefix}/wal_005/000000010000000000000002.lz4", Body=b"x"),
        "get": lambda: s3.get_object(Bucket=BUCKET, Key=f"{prefix}/{SEGMENT}")["Body"].read(),
        "head": lambda: s3.head_object(Bucket=BUCKET, Key=f"{prefix}/{SEGMENT}"),
        "list": lambda: s3.list_objects_v2(Bucket=BUCKET, Prefix=f"{prefix}/"),
        "multipart": multipart,
        "delete": lambda: s3.delete_object(Bucket=BUCKET, Key=f"{prefix}/wal_005/000000010000000000000002.lz4"),
        "batch delete": batch_delete,
    }


def bucket_admin_operations(s3: Any) -> dict[str, Callable[[], object]]:
    return {
        "put bucket policy": lambda: s3.put_bucket_policy(
            Bucket=BUCKET, Policy='{"Version":"2012-10-17","Statement":[]}'
        ),
        "delete bucket policy": lambda: s3.delete_bucket_policy(Bucket=BUCKET),
        "delete bucket": lambda: s3.delete_bucket(Bucket=BUCKET),
        "other bucket get": lambda: s3.get_object(Bucket=OTHER_BUCKET, Key=SEGMENT),
        "other bucket put": lambda: s3.put_object(Bucket=OTHER_BUCKET, Key="x", Body=b"x"),
    }


def test_primary_reads_and_writes_only_its_prefix(sandbox: IamSandbox) -> None:
    s3 = sandbox.client("s3", "primary")
    own = operations(s3, SOURCE)
    assert {name: allowed(call) for name, call in own.items()} == dict.fromkeys(own, True)
    for other_prefix in (RESTORED, "dev/unrelated"):
        others = operations(s3, other_prefix)
        denied = {name: allowed(others[name]) for name in ("put", "get", "delete", "batch delete", "multipart")}
        assert denied == dict.fromkeys(denied, False), other_prefix
    admin_ops = bucket_admin_operations(s3)
    assert {name: allowed(call) for name, call in admin_ops.items()} == dict.fromkeys(admin_ops, False)


def test_restored_instance_reads_the_source_and_writes_only_its_own_prefix(sandbox: IamSandbox) -> None:
    s3 = sandbox.client("s3", "restored")
    source = operations(s3, SOURCE)
    assert allowed(source["get"]) and allowed(source["head"]) and allowed(source["list"])
    refused = ("put", "delete", "batch delete", "multipart")
    assert not any(allowed(source[name]) for name in refused)
    own = operations(s3, RESTORED)
    assert all(allowed(own[name]) for name in ("put", "get", "delete", "batch delete"))
    admin_ops = bucket_admin_operations(s3)
    assert not any(allowed(call) for call in admin_ops.values())


def test_verify_identity_only_reads(sandbox: IamSandbox) -> None:
    s3 = sandbox.client("s3", "verify")
    source = operations(s3, SOURCE)
    assert allowed(source["get"]) and allowed(source["list"])
    assert not any(allowed(source[name]) for name in ("put", "delete", "batch delete", "multipart"))
    assert not allowed(operations(s3, RESTORED)["get"])


def test_the_sandbox_enforces_at_all(sandbox: IamSandbox) -> None:
    """The admin may do what the roles may not: denials above come from their policies."""
    admin = sandbox.client("s3", ADMIN)
    assert allowed(lambda: admin.put_object(Bucket=OTHER_BUCKET, Key="y", Body=b"y"))
    assert allowed(lambda: admin.get_object(Bucket=BUCKET, Key=f"dev/unrelated/{SEGMENT}"))
