"""`pulumi destroy` and replacements keep the AWS archive readable: by default the bucket,
its KMS key and alias and every guard of the bucket are retained on delete; with
`bucket.retainOnDestroy: false` they are deleted, the key only after the bucket and the
guards only with it. Checked on the resource options the program constructs them with."""

from collections.abc import Sequence
from typing import Any

import pulumi
import pytest

from tests.mocks.harness import Recorded, run_program

S3 = "aws:s3/"
BUCKET = (S3 + "bucket:Bucket", "backups")
KEY = ("aws:kms/key:Key", "backups-key")
ALIAS = ("aws:kms/alias:Alias", "backups-key-alias")
VERSIONING = (S3 + "bucketVersioning:BucketVersioning", "backups-versioning")
GUARDS = [
    (S3 + "bucketPublicAccessBlock:BucketPublicAccessBlock", "backups-public-access-block"),
    (S3 + "bucketOwnershipControls:BucketOwnershipControls", "backups-ownership"),
    (S3 + "bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", "backups-encryption"),
    VERSIONING,
    (S3 + "bucketLifecycleConfiguration:BucketLifecycleConfiguration", "backups-lifecycle"),
    (S3 + "bucketPolicy:BucketPolicy", "backups-tls-only"),
    (S3 + "bucketObjectLockConfiguration:BucketObjectLockConfiguration", "backups-object-lock"),
]
CREATED_AFTER_VERSIONING = {"backups-lifecycle", "backups-object-lock"}
OBJECT_LOCK = {"mode": "GOVERNANCE", "days": 7}


def _run(dev_config: dict[str, Any], **bucket: Any) -> Recorded:
    """The dev stack with Object Lock on (so every guard exists) and `bucket` keys."""
    dev_config["pgpitr:bucket"] = {"objectLock": OBJECT_LOCK, **bucket}
    return run_program(dev_config)


def _bucket_children(recorded: Recorded) -> set[tuple[str, str]]:
    """Every custom resource whose parent is the bucket's (the BackupBucket component)."""
    component = recorded.options(*BUCKET).parent
    assert isinstance(component, pulumi.ComponentResource)
    return {key for key, made in recorded.constructed.items() if made.options.parent is component}


def _depends_on(options: pulumi.ResourceOptions) -> Sequence[Any]:
    depends_on = options.depends_on
    assert isinstance(depends_on, list), depends_on
    return depends_on


@pytest.fixture
def retained(dev_config: dict[str, Any]) -> Recorded:
    return _run(dev_config)


@pytest.fixture
def deletable(dev_config: dict[str, Any]) -> Recorded:
    return _run(dev_config, retainOnDestroy=False)


def test_the_component_makes_the_bucket_the_key_the_alias_and_the_guards_under_their_names(
    retained: Recorded, deletable: Recorded
) -> None:
    """The names (so the URNs) are the ones existing stacks hold: nothing is replaced."""
    for recorded in (retained, deletable):
        assert _bucket_children(recorded) == {BUCKET, KEY, ALIAS, *GUARDS}


def test_by_default_everything_is_retained_on_delete(retained: Recorded) -> None:
    for type_token, name in [BUCKET, KEY, ALIAS, *GUARDS]:
        assert retained.options(type_token, name).retain_on_delete is True, name


def test_the_default_is_retained_without_object_lock_too(dev_config: dict[str, Any]) -> None:
    recorded = run_program(dev_config)
    children = _bucket_children(recorded)
    assert children == {BUCKET, KEY, ALIAS, *GUARDS} - {GUARDS[-1]}
    for type_token, name in children:
        assert recorded.options(type_token, name).retain_on_delete is True, name


def test_opting_out_retains_nothing(deletable: Recorded) -> None:
    for type_token, name in [BUCKET, KEY, ALIAS, *GUARDS]:
        assert not deletable.options(type_token, name).retain_on_delete, name


def test_opted_out_the_key_is_deleted_only_after_the_bucket(deletable: Recorded) -> None:
    """The bucket depends on the key: Pulumi deletes the bucket first, and schedules the
    key's deletion only once the bucket's delete succeeded."""
    assert deletable.instance(*KEY) in _depends_on(deletable.options(*BUCKET))


def test_opted_out_every_guard_is_deleted_with_the_bucket(deletable: Recorded) -> None:
    """Never before it: a bucket whose delete fails keeps its guards."""
    bucket = deletable.instance(*BUCKET)
    for type_token, name in GUARDS:
        assert deletable.options(type_token, name).deleted_with is bucket, name


@pytest.mark.parametrize("retain", [True, False])
def test_guards_are_still_created_after_the_bucket_and_versioning(dev_config: dict[str, Any], retain: bool) -> None:
    recorded = _run(dev_config, retainOnDestroy=retain)
    for type_token, name in GUARDS:
        after = VERSIONING if name in CREATED_AFTER_VERSIONING else BUCKET
        assert _depends_on(recorded.options(type_token, name)) == [recorded.instance(*after)], name


def test_recording_options_leaves_custom_resources_as_they_were(dev_config: dict[str, Any]) -> None:
    before = pulumi.CustomResource.__init__
    run_program(dev_config)
    assert pulumi.CustomResource.__init__ is before
