"""Least privilege, enforced: the IAM policies the program generates (taken from the
mocked run) are attached to users of an S3 server that enforces IAM, and each pgpitr
identity can do exactly what its job needs.

moto does not evaluate the `s3:prefix` condition on ListBucket nor KMS permissions; the
policy documents' conditions and KMS statements are asserted under mocks instead
(tests/mocks/test_aws_stack.py, tests/mocks/test_verification.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from drill.iam_sandbox import ADMIN, IamSandbox
from tests.mocks.harness import run_program

pytestmark = pytest.mark.e2e
BUCKET = "pgpitr-least-privilege"
OTHER_BUCKET = "someone-elses-bucket"
SOURCE = "dev/postgres"
RESTORED = "dev/postgres-restored"
SEGMENT = "wal_005/000000010000000000000001.lz4"


@pytest.fixture(scope="module")
def policies() -> dict[str, dict[str, Any]]:
    """The three roles' policies, exactly as the program renders them."""
    import json

    from tests.conftest import dev_config as _  # noqa: F401  (fixture module import for clarity)
    from tests.mocks.harness import stack_file_config

    config: dict[str, Any] = dict(stack_file_config())
    config["pgpitr:bucket"] = json.dumps({"name": BUCKET})
    config["pgpitr:restore"] = json.dumps({"enabled": True, "archive": True, "target": {"latest": True}})
    recorded = run_program(config)
    return {
        who: recorded.one("aws:iam/rolePolicy:RolePolicy", f"dev-{role}-walg-storage").json("policy")
        for who, role in (("primary", "postgres"), ("restored", "postgres-restored"), ("verify", "postgres-verify"))
    }


@pytest.fixture(scope="module")
def sandbox(policies: dict[str, dict[str, Any]], tmp_path_factory: pytest.TempPathFactory) -> Iterator[IamSandbox]:
    server = IamSandbox(tmp_path_factory.mktemp("iam"), [BUCKET, OTHER_BUCKET], policies)
    server.start()
    admin = server.client("s3", ADMIN)
    for key in (f"{SOURCE}/{SEGMENT}", f"{RESTORED}/{SEGMENT}", f"dev/unrelated/{SEGMENT}"):
        admin.put_object(Bucket=BUCKET, Key=key, Body=b"segment")
    admin.put_object(Bucket=OTHER_BUCKET, Key=SEGMENT, Body=b"segment")
    yield server
    server.stop()


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

    return {
        "put": lambda: s3.put_object(Bucket=BUCKET, Key=f"{prefix}/wal_005/000000010000000000000002.lz4", Body=b"x"),
        "get": lambda: s3.get_object(Bucket=BUCKET, Key=f"{prefix}/{SEGMENT}")["Body"].read(),
        "head": lambda: s3.head_object(Bucket=BUCKET, Key=f"{prefix}/{SEGMENT}"),
        "list": lambda: s3.list_objects_v2(Bucket=BUCKET, Prefix=f"{prefix}/"),
        "multipart": multipart,
        "delete": lambda: s3.delete_object(Bucket=BUCKET, Key=f"{prefix}/wal_005/000000010000000000000002.lz4"),
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
        denied = {name: allowed(others[name]) for name in ("put", "get", "delete", "multipart")}
        assert denied == dict.fromkeys(denied, False), other_prefix
    admin_ops = bucket_admin_operations(s3)
    assert {name: allowed(call) for name, call in admin_ops.items()} == dict.fromkeys(admin_ops, False)


def test_restored_instance_reads_the_source_and_writes_only_its_own_prefix(sandbox: IamSandbox) -> None:
    s3 = sandbox.client("s3", "restored")
    source = operations(s3, SOURCE)
    assert allowed(source["get"]) and allowed(source["head"]) and allowed(source["list"])
    assert not allowed(source["put"]) and not allowed(source["delete"]) and not allowed(source["multipart"])
    own = operations(s3, RESTORED)
    assert allowed(own["put"]) and allowed(own["get"]) and allowed(own["delete"])
    admin_ops = bucket_admin_operations(s3)
    assert not any(allowed(call) for call in admin_ops.values())


def test_verify_identity_only_reads(sandbox: IamSandbox) -> None:
    s3 = sandbox.client("s3", "verify")
    source = operations(s3, SOURCE)
    assert allowed(source["get"]) and allowed(source["list"])
    assert not allowed(source["put"]) and not allowed(source["delete"])
    assert not allowed(operations(s3, RESTORED)["get"])


def test_the_sandbox_enforces_at_all(sandbox: IamSandbox) -> None:
    """The admin may do what the roles may not: denials above come from their policies."""
    admin = sandbox.client("s3", ADMIN)
    assert allowed(lambda: admin.put_object(Bucket=OTHER_BUCKET, Key="y", Body=b"y"))
    assert allowed(lambda: admin.get_object(Bucket=BUCKET, Key=f"dev/unrelated/{SEGMENT}"))
