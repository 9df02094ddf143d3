"""S3 (policy/buckets.py): SSE-KMS default encryption, every public-access switch on, and
each bucket with both companions."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from tests.mocks.harness import Recorded
from tests.policy.analyzer import changed, only_violation, violations

ENCRYPTION = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"


def test_a_bucket_added_to_the_onprem_stack_still_needs_its_companions(dev: Recorded, onprem: Recorded) -> None:
    messages = violations("s3-bucket-protected", [*onprem.resources, dev.one("aws:s3/bucket:Bucket")])
    assert len(messages) == 2 and all("1 S3 bucket(s) (backups) but only 0" in m for m in messages)


def set_algorithm(algorithm: str) -> Callable[[dict[str, Any]], object]:
    return lambda inputs: inputs["rules"][0]["applyServerSideEncryptionByDefault"].update(sseAlgorithm=algorithm)


def test_aes256_encryption_is_refused(dev: Recorded) -> None:
    resource = changed(dev, ENCRYPTION, "backups-encryption", set_algorithm("AES256"))
    message = only_violation("s3-bucket-kms-encryption", resource)
    assert "'backups-encryption'" in message and "'AES256'" in message and "'aws:kms'" in message


def test_encryption_without_rules_is_refused(dev: Recorded) -> None:
    resource = changed(dev, ENCRYPTION, "backups-encryption", lambda inputs: inputs.update(rules=[]))
    assert "no encryption rule" in only_violation("s3-bucket-kms-encryption", resource)


@pytest.mark.parametrize("flag", ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"])
def test_each_public_access_flag_must_be_true(dev: Recorded, flag: str) -> None:
    resource = changed(
        dev,
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        "backups-public-access-block",
        lambda inputs: inputs.update({flag: False}),
    )
    message = only_violation("s3-public-access-blocked", resource)
    assert f"{flag} is False" in message and "'backups-public-access-block'" in message and "to true" in message


def test_unset_public_access_flag_is_refused(dev: Recorded) -> None:
    resource = changed(
        dev,
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        "backups-public-access-block",
        lambda inputs: inputs.pop("restrictPublicBuckets"),
    )
    assert "restrictPublicBuckets is not set" in only_violation("s3-public-access-blocked", resource)


def test_bucket_without_encryption_configuration_is_refused(dev: Recorded) -> None:
    stack = [r for r in dev.resources if r.type != ENCRYPTION]
    (message,) = violations("s3-bucket-protected", stack)
    assert "1 S3 bucket(s) (backups) but only 0 BucketServerSideEncryptionConfiguration(s)" in message


def test_bucket_without_public_access_block_is_refused(dev: Recorded) -> None:
    stack = [r for r in dev.resources if r.type != "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"]
    (message,) = violations("s3-bucket-protected", stack)
    assert "but only 0 BucketPublicAccessBlock(s)" in message


def test_a_second_bucket_needs_its_own_companions(dev: Recorded) -> None:
    extra = copy.deepcopy(dev.one("aws:s3/bucket:Bucket"))
    extra.name = "scratch"
    assert len(violations("s3-bucket-protected", [*dev.resources, extra])) == 2
