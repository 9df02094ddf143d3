"""The AWS half of the stack under Pulumi mocks: image, encrypted bucket, scoped role."""

import json
from typing import Any

import pytest

from policy.iam import wildcard_findings
from tests.mocks.harness import Recorded, run_program

S3 = "aws:s3/"


@pytest.fixture
def dev(dev_config: dict[str, Any]) -> Recorded:
    return run_program(dev_config)


def test_ecr_repository_scans_on_push(dev: Recorded) -> None:
    repository = dev.one("aws:ecr/repository:Repository")
    assert repository.inputs["imageScanningConfiguration"] == {"scanOnPush": True}


def test_image_built_from_the_dockerfile_with_pinned_versions(dev: Recorded) -> None:
    image = dev.one("docker-build:index:Image")
    assert image.inputs["dockerfile"] == {"location": "docker/Dockerfile"}
    args = image.inputs["buildArgs"]
    assert args["POSTGRES_VERSION"] == "16"
    assert args["WALG_COMMIT"] == "3e493188db28335fb93a45bd680c6ff8fc3028c1"
    assert args["WALG_TAG"] == "v3.0.9" and args["WALG_GOEXPERIMENT"] == "jsonv2"
    assert set(args["WALG_BUILD_TAGS"].split(",")) == {"brotli", "libsodium", "lzo"}
    assert image.inputs["push"] is True and image.inputs["platforms"] == ["linux/amd64"]
    assert image.inputs["buildOnPreview"] is False
    assert image.inputs["registries"][0]["address"].endswith(".amazonaws.com")


def test_image_exported_as_digest_reference(dev: Recorded) -> None:
    assert "@sha256:" in dev.outputs["image"]


def test_existing_repository_skips_ecr(dev_config: dict[str, Any]) -> None:
    dev_config["pgpitr:image"] = {
        "repository": "ghcr.io/acme/pgpitr",
        "push": False,
        "platforms": ["linux/amd64", "linux/arm64"],
    }
    recorded = run_program(dev_config)
    assert not recorded.of_type("aws:ecr/repository:Repository")
    image = recorded.one("docker-build:index:Image")
    assert image.inputs["tags"] == ["ghcr.io/acme/pgpitr:pg16-walg-v3.0.9"]
    assert image.inputs["platforms"] == ["linux/amd64", "linux/arm64"] and image.inputs["push"] is False


def test_kms_key_rotates_and_has_an_alias(dev: Recorded) -> None:
    key = dev.one("aws:kms/key:Key")
    assert key.inputs["enableKeyRotation"] is True
    assert dev.one("aws:kms/alias:Alias").inputs["name"].startswith("alias/pgpitr-dev")


def test_bucket_encrypted_with_the_kms_key_and_a_bucket_key(dev: Recorded) -> None:
    rule = dev.one(S3 + "bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
    (only,) = rule.inputs["rules"]
    default = only["applyServerSideEncryptionByDefault"]
    assert default["sseAlgorithm"] == "aws:kms"
    assert default["kmsMasterKeyId"] == dev.outputs["kms_key_arn"]
    assert only["bucketKeyEnabled"] is True


def test_bucket_private_versioned_owner_enforced(dev: Recorded) -> None:
    block = dev.one(S3 + "bucketPublicAccessBlock:BucketPublicAccessBlock").inputs
    assert all(
        block[flag] is True
        for flag in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    )
    versioning = dev.one(S3 + "bucketVersioning:BucketVersioning").inputs
    assert versioning["versioningConfiguration"]["status"] == "Enabled"
    ownership = dev.one(S3 + "bucketOwnershipControls:BucketOwnershipControls").inputs
    assert ownership["rule"]["objectOwnership"] == "BucketOwnerEnforced"


def test_bucket_policy_denies_requests_without_tls(dev: Recorded) -> None:
    policy = dev.one(S3 + "bucketPolicy:BucketPolicy").json("policy")
    (statement,) = policy["Statement"]
    assert statement["Effect"] == "Deny"
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    bucket = dev.outputs["bucket_name"]
    assert set(statement["Resource"]) == {f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"}


def test_lifecycle_expires_only_noncurrent_versions(dev: Recorded) -> None:
    lifecycle = dev.one(S3 + "bucketLifecycleConfiguration:BucketLifecycleConfiguration").inputs
    (rule,) = lifecycle["rules"]
    assert rule["status"] == "Enabled"
    assert rule["noncurrentVersionExpiration"] == {"noncurrentDays": 30}
    assert rule["abortIncompleteMultipartUpload"]["daysAfterInitiation"] >= 1
    # Current objects never expire: an expired WAL segment breaks the chain (wal-g issue 1869).
    expiration = rule.get("expiration", {})
    assert "days" not in expiration and "date" not in expiration


def test_object_lock_only_when_configured(dev: Recorded, dev_config: dict[str, Any]) -> None:
    assert not dev.of_type(S3 + "bucketObjectLockConfiguration:BucketObjectLockConfiguration")
    dev_config["pgpitr:bucket"] = {"objectLock": {"mode": "COMPLIANCE", "days": 14}}
    locked = run_program(dev_config)
    assert locked.one(S3 + "bucket:Bucket").inputs["objectLockEnabled"] is True
    lock = locked.one(S3 + "bucketObjectLockConfiguration:BucketObjectLockConfiguration").inputs
    assert lock["rule"]["defaultRetention"] == {"mode": "COMPLIANCE", "days": 14}


def test_irsa_role_trusts_only_the_service_account(dev: Recorded) -> None:
    trust = json.loads(dev.one("aws:iam/role:Role", "dev-postgres-walg").inputs["assumeRolePolicy"])
    (statement,) = trust["Statement"]
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Principal"]["Federated"].startswith("arn:aws:iam::123456789012:oidc-provider/")
    conditions = statement["Condition"]["StringEquals"]
    issuer = "oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
    assert conditions[f"{issuer}:sub"] == "system:serviceaccount:database:postgres"
    assert conditions[f"{issuer}:aud"] == "sts.amazonaws.com"


def test_role_policy_is_scoped_to_the_prefix_and_key(dev: Recorded) -> None:
    policy = dev.one("aws:iam/rolePolicy:RolePolicy", "dev-postgres-walg-storage").json("policy")
    assert wildcard_findings(policy) == []
    bucket = dev.outputs["bucket_name"]
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    assert by_sid["ListOwnPrefixes"]["Resource"] == [f"arn:aws:s3:::{bucket}"]
    # The archive: its first location, and beside it its manifest and later locations.
    prefixes = ["dev/postgres", "dev/postgres.locations", "dev/postgres.locations/*", "dev/postgres/*"]
    assert by_sid["ListOwnPrefixes"]["Condition"]["StringLike"]["s3:prefix"] == prefixes
    objects = [f"arn:aws:s3:::{bucket}/dev/postgres/*", f"arn:aws:s3:::{bucket}/dev/postgres.locations/*"]
    assert sorted(by_sid["ReadObjects"]["Resource"]) == sorted(objects)
    assert sorted(by_sid["WriteObjects"]["Resource"]) == sorted(objects)
    assert set(by_sid["WriteObjects"]["Action"]) >= {"s3:PutObject", "s3:DeleteObject"}
    assert by_sid["UseBackupKey"]["Resource"] == [dev.outputs["kms_key_arn"]]
    assert all(action.startswith("kms:") for action in by_sid["UseBackupKey"]["Action"])
    for statement in policy["Statement"]:
        assert "*" not in statement["Action"] and "s3:*" not in statement["Action"]


def test_pod_identity_role_and_association(dev_config: dict[str, Any]) -> None:
    dev_config["pgpitr:identity"] = {"mode": "podIdentity", "clusterName": "prod-eks"}
    recorded = run_program(dev_config)
    trust = json.loads(recorded.one("aws:iam/role:Role", "dev-postgres-walg").inputs["assumeRolePolicy"])
    (statement,) = trust["Statement"]
    assert statement["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    assert sorted(statement["Action"]) == ["sts:AssumeRole", "sts:TagSession"]
    association = recorded.one(
        "aws:eks/podIdentityAssociation:PodIdentityAssociation", "dev-postgres-walg-postgres"
    ).inputs
    assert association["clusterName"] == "prod-eks"
    assert (association["namespace"], association["serviceAccount"]) == ("database", "postgres")
    assert association["roleArn"] == recorded.outputs["role_arn"]


def test_static_keys_make_no_role(dev_config: dict[str, Any]) -> None:
    dev_config["pgpitr:identity"] = {
        "mode": "staticKeys",
        "accessKeyId": "AKIAABCDEFGHIJKLMNOP",
        "secretAccessKey": "abcdefghijklmnopqrstuvwx",
    }
    recorded = run_program(dev_config, secret_keys=["pgpitr:identity"])
    assert not recorded.of_type("aws:iam/role:Role")
    assert recorded.outputs["role_arn"] is None


def test_outputs(dev: Recorded) -> None:
    bucket = dev.outputs["bucket_name"]
    assert dev.outputs["walg_s3_prefix"] == f"s3://{bucket}/dev/postgres"
    assert dev.outputs["role_arn"].startswith("arn:aws:iam::")
    assert dev.outputs["kms_key_arn"].startswith("arn:aws:kms:")


def test_bad_config_is_a_run_error_not_a_traceback(dev_config: dict[str, Any]) -> None:
    import pulumi

    dev_config["pgpitr:backup"] = {"compression": "gzip"}
    with pytest.raises(pulumi.RunError, match=r"^invalid stack config: pgpitr:backup.compression: "):
        run_program(dev_config)
