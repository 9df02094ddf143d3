"""The pgpitr-guardrails policy pack against the shipped stacks under the mocks: it passes
as shipped (dev on AWS and onprem without AWS, each also with a restored instance), each
policy sees its resources, and each policy catches a broken copy of one of them. No
Pulumi CLI: policies are called directly with the arguments the analyzer would build
(props behind its unknown-checking proxy). policy/__main__.py is never imported:
PolicyPack(...) starts a gRPC server."""

from __future__ import annotations

import ast
import base64
import copy
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, unknown_checking_proxy

from pgpitr.container_env import restore_digest, restore_target_summary
from pgpitr_runtime import names
from pgpitr_runtime.recovery import RecoveryTarget
from policy import pgpitr_policies as pp
from tests.mocks.harness import Recorded, Resource, containers, env_of, run_program, stack_file_config

POLICY_DIR = Path(pp.__file__).resolve().parent
NAMES = [
    "s3-bucket-kms-encryption",
    "s3-public-access-blocked",
    "s3-bucket-protected",
    "iam-no-wildcards",
    "containers-non-root-with-limits",
    "postgres-archiving-on",
    "restored-never-archives-into-source",
    "no-plaintext-secrets",
]
AWS_POLICIES = ["s3-bucket-kms-encryption", "s3-public-access-blocked", "s3-bucket-protected", "iam-no-wildcards"]
POLICIES: dict[str, Policy] = {p.name: p for p in pp.ALL_POLICIES}
RESTORE = {"enabled": True, "target": {"latest": True}}
ONPREM_RESTORE = {"enabled": True, "archive": True, "target": {"xid": 771}}
REPOSITORY_ROOT = POLICY_DIR.parent

ENCRYPTION = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
STATEFULSET = "kubernetes:apps/v1:StatefulSet"


# --- building what the analyzer passes ------------------------------------------------


def options() -> PolicyResourceOptions:
    return PolicyResourceOptions(
        protect=False,
        ignore_changes=[],
        delete_before_replace=None,
        aliases=[],
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
        additional_secret_outputs=[],
    )


def urn(resource: Resource) -> str:
    return f"urn:pulumi:dev::pgpitr::{resource.type}::{resource.name}"


def resource_args(resource: Resource) -> ResourceValidationArgs:
    """As the analyzer builds them: a copy of the props behind the unknown-checking proxy."""
    return ResourceValidationArgs(
        resource_type=resource.type,
        props=unknown_checking_proxy(copy.deepcopy(resource.inputs)),
        urn=urn(resource),
        name=resource.name,
        opts=options(),
        provider=None,
    )


def stack_args(resources: list[Resource]) -> StackValidationArgs:
    return StackValidationArgs(
        [
            PolicyResource(
                resource_type=r.type,
                props=unknown_checking_proxy(copy.deepcopy(r.inputs)),
                urn=urn(r),
                name=r.name,
                opts=options(),
                provider=None,
                parent=None,
                dependencies=[],
                property_dependencies={},
            )
            for r in resources
        ]
    )


def violations(policy_name: str, resources: list[Resource]) -> list[str]:
    """Every message `policy_name` reports for `resources` (one stack, or resource by resource)."""
    found: list[str] = []

    def report(message: str, _urn: str | None = None) -> None:
        found.append(message)

    policy = POLICIES[policy_name]
    if isinstance(policy, StackValidationPolicy):
        assert policy.validate(stack_args(resources), report) is None
    else:
        assert isinstance(policy, ResourceValidationPolicy)
        for resource in resources:
            assert policy.validate(resource_args(resource), report) is None
    return found


def changed(recorded: Recorded, type_token: str, name: str, change: Callable[[dict[str, Any]], object]) -> Resource:
    """A deep copy of one recorded resource with `change` applied to its inputs."""
    resource = copy.deepcopy(recorded.one(type_token, name))
    change(resource.inputs)
    return resource


def only_violation(policy_name: str, resource: Resource) -> str:
    (message,) = violations(policy_name, [resource])
    return message


# --- the shipped stack ----------------------------------------------------------------


@pytest.fixture
def dev(dev_config: dict[str, Any]) -> Recorded:
    return run_program(dev_config)


@pytest.fixture
def restored(dev_config: dict[str, Any]) -> Recorded:
    dev_config["pgpitr:restore"] = RESTORE
    return run_program(dev_config)


def run_onprem(restore: dict[str, Any] | None = None) -> Recorded:
    """Pulumi.onprem.yaml (bucket.provider s3Compatible, image.ref, existing passwords)."""
    config: dict[str, Any] = dict(stack_file_config("onprem"))
    if restore is not None:
        config["pgpitr:restore"] = restore
    return run_program(config, stack="onprem")


@pytest.fixture(scope="module")
def onprem() -> Recorded:
    return run_onprem()


@pytest.fixture(scope="module")
def onprem_restored() -> Recorded:
    return run_onprem(ONPREM_RESTORE)


def role(resource: Resource) -> object:
    return resource.inputs.get("metadata", {}).get("labels", {}).get(pp.ROLE_LABEL)


def seen_by(policy_name: str, recorded: Recorded) -> list[Resource]:
    """The resources a policy actually judges: its types, narrowed by role where it selects."""
    seen = [r for r in recorded.resources if r.type in pp.POLICY_RESOURCE_TYPES[policy_name]]
    if policy_name == "postgres-archiving-on":
        seen = [r for r in seen if role(r) == "primary" and "postgresql.conf" in r.inputs.get("data", {})]
    if policy_name == "restored-never-archives-into-source":
        seen = [r for r in seen if role(r) == "restored"]
    return seen


def test_the_pack_has_the_eight_mandatory_policies() -> None:
    assert [p.name for p in pp.ALL_POLICIES] == NAMES
    assert set(pp.POLICY_RESOURCE_TYPES) == set(NAMES)
    assert all(p.enforcement_level == EnforcementLevel.MANDATORY for p in pp.ALL_POLICIES)
    assert isinstance(POLICIES["s3-bucket-protected"], StackValidationPolicy)
    assert sum(isinstance(p, ResourceValidationPolicy) for p in pp.ALL_POLICIES) == 7


@pytest.mark.parametrize("name", NAMES)
def test_shipped_stack_passes(dev: Recorded, name: str) -> None:
    assert violations(name, dev.resources) == []


@pytest.mark.parametrize("name", NAMES)
def test_stack_with_a_restored_instance_passes(restored: Recorded, name: str) -> None:
    assert violations(name, restored.resources) == []


@pytest.mark.parametrize("name", NAMES)
def test_each_policy_sees_its_resources(dev: Recorded, restored: Recorded, name: str) -> None:
    assert seen_by(name, restored), f"{name} judged nothing: it would pass vacuously"
    if name != "restored-never-archives-into-source":
        assert seen_by(name, dev)


# --- the stack without AWS -------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_onprem_stack_passes(onprem: Recorded, name: str) -> None:
    assert violations(name, onprem.resources) == []


@pytest.mark.parametrize("name", NAMES)
def test_onprem_stack_with_a_restored_instance_passes(onprem_restored: Recorded, name: str) -> None:
    assert violations(name, onprem_restored.resources) == []


@pytest.mark.parametrize("name", AWS_POLICIES)
def test_aws_policies_find_nothing_to_check_without_aws(onprem: Recorded, onprem_restored: Recorded, name: str) -> None:
    assert not [r for r in onprem_restored.resources if r.type.startswith("aws:")]
    assert seen_by(name, onprem) == seen_by(name, onprem_restored) == []


@pytest.mark.parametrize("name", [name for name in NAMES if name not in AWS_POLICIES])
def test_kubernetes_policies_still_judge_the_onprem_stack(
    onprem: Recorded, onprem_restored: Recorded, name: str
) -> None:
    assert seen_by(name, onprem_restored), f"{name} judged nothing on onprem: it would pass vacuously"
    if name != "restored-never-archives-into-source":
        assert seen_by(name, onprem)


def test_a_bucket_added_to_the_onprem_stack_still_needs_its_companions(dev: Recorded, onprem: Recorded) -> None:
    messages = violations("s3-bucket-protected", [*onprem.resources, dev.one("aws:s3/bucket:Bucket")])
    assert len(messages) == 2 and all("1 S3 bucket(s) (backups) but only 0" in m for m in messages)


def test_onprem_restored_instance_archives_to_its_own_prefix(onprem_restored: Recorded) -> None:
    (statefulset,) = seen_by("restored-never-archives-into-source", onprem_restored)
    postgres = env_of(container_of(statefulset.inputs, "postgres"))
    digest = restore_digest(restore_target_summary(RecoveryTarget("xid", "771"), "auto"))
    assert postgres["PGPITR_ARCHIVE"] == f"s3://pgpitr-backups/onprem/postgres-restored/{digest}"
    assert postgres["PGPITR_SOURCE_ARCHIVE"] == "s3://pgpitr-backups/onprem/postgres"

    def into_source(inputs: dict[str, Any]) -> None:
        env = {e["name"]: e for e in container_of(inputs, "postgres")["env"]}
        env["PGPITR_ARCHIVE"]["value"] = env["PGPITR_SOURCE_ARCHIVE"]["value"]

    broken = changed(onprem_restored, *RESTORED_STATEFULSET, into_source)
    assert "'s3://pgpitr-backups/onprem/postgres'" in only_violation("restored-never-archives-into-source", broken)


def test_restored_variant_has_what_the_restore_policy_compares(restored: Recorded) -> None:
    (statefulset,) = seen_by("restored-never-archives-into-source", restored)
    envs = [env_of(c) for c in containers(statefulset.inputs["spec"]["template"]["spec"]).values()]
    pairs = [(e["PGPITR_ARCHIVE"], e["PGPITR_SOURCE_ARCHIVE"]) for e in envs if "PGPITR_SOURCE_ARCHIVE" in e]
    assert pairs and all(own != source and not pp.same_or_inside(own, source) for own, source in pairs)


# --- S3 -------------------------------------------------------------------------------


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


# --- IAM ------------------------------------------------------------------------------

ROLE_POLICY = ("aws:iam/rolePolicy:RolePolicy", "dev-postgres-walg-storage")


def with_statement(statement: dict[str, Any]) -> Callable[[dict[str, Any]], object]:
    def change(inputs: dict[str, Any]) -> None:
        document = json.loads(inputs["policy"])
        document["Statement"].append(statement)
        inputs["policy"] = json.dumps(document)

    return change


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        ({"Effect": "Allow", "Action": "*", "Resource": ["arn:aws:s3:::b/p/*"]}, "allows Action '*'"),
        ({"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "*"}, "allows Resource '*'"),
        ({"Sid": "All", "Effect": "Allow", "Action": ["s3:*"], "Resource": ["arn:aws:s3:::b"]}, "allows Action 's3:*'"),
    ],
    ids=["action-star", "resource-star", "service-star"],
)
def test_wildcard_allow_in_role_policy_is_refused(dev: Recorded, statement: dict[str, Any], expected: str) -> None:
    message = only_violation("iam-no-wildcards", changed(dev, *ROLE_POLICY, with_statement(statement)))
    assert "RolePolicy 'dev-postgres-walg-storage': policy statement 4" in message and expected in message


def test_wildcard_deny_is_allowed(dev: Recorded) -> None:
    deny = {"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "s3:*", "Resource": "*"}
    assert violations("iam-no-wildcards", [changed(dev, *ROLE_POLICY, with_statement(deny))]) == []


def test_shipped_tls_only_bucket_policy_denies_with_a_wildcard() -> None:
    from pgpitr.iam_policies import tls_only_bucket_policy

    document = tls_only_bucket_policy("b")
    assert document["Statement"][0]["Action"] == "s3:*"
    assert pp.wildcard_findings(document) == []


def test_wildcard_in_trust_policy_and_inline_policy_is_refused(dev: Recorded) -> None:
    def change(inputs: dict[str, Any]) -> None:
        trust = json.loads(inputs["assumeRolePolicy"])
        trust["Statement"][0]["Action"] = "sts:*"
        inputs["assumeRolePolicy"] = json.dumps(trust)
        inline = {"Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}}
        inputs["inlinePolicies"] = [{"name": "extra", "policy": inline}]

    messages = violations("iam-no-wildcards", [changed(dev, "aws:iam/role:Role", "dev-postgres-walg", change)])
    assert len(messages) == 2
    assert "assumeRolePolicy statement 0 allows Action 'sts:*'" in messages[0]
    assert "inlinePolicies[0].policy statement 0 allows Resource '*'" in messages[1]


def test_managed_policy_as_a_dict_is_checked() -> None:
    resource = Resource(
        "aws:iam/policy:Policy",
        "admin",
        {"policy": {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}},
        {},
    )
    assert len(violations("iam-no-wildcards", [resource])) == 2


def test_policy_unknown_during_preview_is_skipped(dev: Recorded) -> None:
    resource = changed(dev, *ROLE_POLICY, lambda inputs: inputs.update(policy=UNKNOWN_STRING_VALUE))
    assert violations("iam-no-wildcards", [resource]) == []


def test_policy_that_is_not_json_is_refused(dev: Recorded) -> None:
    resource = changed(dev, *ROLE_POLICY, lambda inputs: inputs.update(policy="{not json"))
    assert "not valid JSON" in only_violation("iam-no-wildcards", resource)


# --- containers -----------------------------------------------------------------------

PRIMARY = (STATEFULSET, "postgres-statefulset")


def pod_of(inputs: dict[str, Any]) -> dict[str, Any]:
    pod: dict[str, Any] = inputs["spec"]["template"]["spec"]
    return pod


def container_of(inputs: dict[str, Any], name: str) -> dict[str, Any]:
    return containers(pod_of(inputs))[name]


def test_container_without_limits_is_refused(dev: Recorded) -> None:
    resource = changed(dev, *PRIMARY, lambda inputs: container_of(inputs, "postgres")["resources"].pop("limits"))
    message = only_violation("containers-non-root-with-limits", resource)
    assert "StatefulSet 'postgres-statefulset': container 'postgres' has no cpu or memory limit" in message
    assert "resources.limits.cpu" in message


def test_container_with_run_as_non_root_false_is_refused(dev: Recorded) -> None:
    def change(inputs: dict[str, Any]) -> None:
        container_of(inputs, "exporter")["securityContext"]["runAsNonRoot"] = False

    message = only_violation("containers-non-root-with-limits", changed(dev, *PRIMARY, change))
    assert "container 'exporter' sets securityContext.runAsNonRoot false" in message


def test_container_relying_on_the_pod_is_non_root_unless_the_pod_is_not(dev: Recorded) -> None:
    def inherit(inputs: dict[str, Any]) -> None:
        container_of(inputs, "postgres")["securityContext"].pop("runAsNonRoot")

    assert violations("containers-non-root-with-limits", [changed(dev, *PRIMARY, inherit)]) == []

    def neither(inputs: dict[str, Any]) -> None:
        inherit(inputs)
        pod_of(inputs)["securityContext"].pop("runAsNonRoot")

    message = only_violation("containers-non-root-with-limits", changed(dev, *PRIMARY, neither))
    assert "container 'postgres' may run as root" in message


def test_init_container_running_as_uid_0_is_refused(restored: Recorded) -> None:
    def change(inputs: dict[str, Any]) -> None:
        container_of(inputs, "restore")["securityContext"]["runAsUser"] = 0

    resource = changed(restored, STATEFULSET, "postgres-restored-statefulset", change)
    message = only_violation("containers-non-root-with-limits", resource)
    assert "init container 'restore' sets securityContext.runAsUser 0 (root)" in message


def test_pod_running_as_uid_0_is_refused(dev: Recorded) -> None:
    resource = changed(dev, *PRIMARY, lambda inputs: pod_of(inputs)["securityContext"].update(runAsUser=0.0))
    assert "the pod sets securityContext.runAsUser 0" in only_violation("containers-non-root-with-limits", resource)


def test_cronjob_container_without_memory_limit_is_refused(dev: Recorded) -> None:
    def change(inputs: dict[str, Any]) -> None:
        inputs["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"].pop("memory")

    resource = changed(dev, "kubernetes:batch/v1:CronJob", "postgres-backup-cronjob", change)
    message = only_violation("containers-non-root-with-limits", resource)
    assert "CronJob 'postgres-backup-cronjob': container 'backup' has no memory limit" in message


def test_job_is_checked_too() -> None:
    job = {"spec": {"template": {"spec": {"containers": [{"name": "once", "image": "busybox"}]}}}}
    messages = violations("containers-non-root-with-limits", [Resource("kubernetes:batch/v1:Job", "once", job, {})])
    assert len(messages) == 2
    assert "may run as root" in messages[0] and "has no cpu or memory limit" in messages[1]


# --- postgresql.conf ------------------------------------------------------------------

PRIMARY_CONFIG = ("kubernetes:core/v1:ConfigMap", "postgres-config")


def edit_conf(old: str, new: str) -> Callable[[dict[str, Any]], object]:
    def change(inputs: dict[str, Any]) -> None:
        conf = inputs["data"]["postgresql.conf"]
        assert old in conf
        inputs["data"]["postgresql.conf"] = conf.replace(old, new)

    return change


def test_archive_mode_off_is_refused(dev: Recorded) -> None:
    resource = changed(dev, *PRIMARY_CONFIG, edit_conf("archive_mode = 'on'", "archive_mode = 'off'"))
    message = only_violation("postgres-archiving-on", resource)
    assert "ConfigMap 'postgres-config': postgresql.conf: archive_mode is 'off'; set archive_mode = 'on'" in message


def test_archive_command_that_does_not_push_is_refused(dev: Recorded) -> None:
    resource = changed(
        dev, *PRIMARY_CONFIG, edit_conf("archive_command = 'pgpitr-wal-push \"%p\"'", "archive_command = '/bin/true'")
    )
    message = only_violation("postgres-archiving-on", resource)
    assert "archive_command is '/bin/true'" in message and "pgpitr-wal-push" in message


def test_last_setting_wins_and_comments_are_ignored(dev: Recorded) -> None:
    def append(text: str) -> Callable[[dict[str, Any]], object]:
        return lambda inputs: inputs["data"].update({"postgresql.conf": inputs["data"]["postgresql.conf"] + text})

    turned_off = changed(dev, *PRIMARY_CONFIG, append("\n# archive_mode = on\nARCHIVE_MODE=off  # later\n"))
    assert "archive_mode is 'off'" in only_violation("postgres-archiving-on", turned_off)
    commented = changed(dev, *PRIMARY_CONFIG, append("\n#archive_mode = off\n"))
    assert violations("postgres-archiving-on", [commented]) == []


def test_restored_config_may_leave_archiving_off(restored: Recorded) -> None:
    conf = restored.one("kubernetes:core/v1:ConfigMap", "postgres-restored-config").inputs["data"]["postgresql.conf"]
    assert "archive_mode = 'off'" in conf
    assert violations("postgres-archiving-on", restored.resources) == []


def test_conf_parser() -> None:
    conf = (
        "archive_mode on\n"
        "archive_command = 'wal-g wal-push \"%p\" # not a comment'  # a comment\n"
        "quoted = 'it''s'\n"
        "broken = 'unterminated\n"
    )
    settings = pp.parse_postgresql_conf(conf)
    assert settings == {
        "archive_mode": "on",
        "archive_command": 'wal-g wal-push "%p" # not a comment',
        "quoted": "it's",
    }
    assert pp.archiving_findings(settings) == []
    assert pp.archiving_findings({**settings, "archive_library": "basic_archive"}) != []


# --- the restored instance ------------------------------------------------------------

RESTORED_STATEFULSET = (STATEFULSET, "postgres-restored-statefulset")


def test_restored_archiving_into_the_source_is_refused(restored: Recorded) -> None:
    def change(inputs: dict[str, Any]) -> None:
        postgres = container_of(inputs, "postgres")
        env = {e["name"]: e for e in postgres["env"]}
        env["PGPITR_ARCHIVE"]["value"] = env["PGPITR_SOURCE_ARCHIVE"]["value"]

    message = only_violation("restored-never-archives-into-source", changed(restored, *RESTORED_STATEFULSET, change))
    assert "StatefulSet 'postgres-restored-statefulset': container 'postgres' sets PGPITR_ARCHIVE" in message
    assert "'s3://backups-a1b2c3d/dev/postgres'" in message and "its own prefix" in message


@pytest.mark.parametrize(
    "own",
    [
        "s3://backups-a1b2c3d/dev/postgres.locations",
        "s3://backups-a1b2c3d/dev/postgres.locations/",
        "s3://backups-a1b2c3d/dev/postgres.locations/2",
        "s3://backups-a1b2c3d/dev/postgres/inside",
    ],
)
def test_restored_archiving_beside_the_source_is_refused(restored: Recorded, own: str) -> None:
    """The source archive is also its manifest and later locations, under `.locations`."""

    def change(inputs: dict[str, Any]) -> None:
        env = {e["name"]: e for e in container_of(inputs, "postgres")["env"]}
        env["PGPITR_ARCHIVE"]["value"] = own

    message = only_violation("restored-never-archives-into-source", changed(restored, *RESTORED_STATEFULSET, change))
    assert f"container 'postgres' sets PGPITR_ARCHIVE {own!r}" in message


@pytest.mark.parametrize(
    ("own", "inside"),
    [
        ("s3://b/dev/postgres", True),
        ("s3://b/dev/postgres.locations/3", True),
        ("s3://b/dev/postgres-restored/0a1b2c3d", False),
        ("s3://b/dev/postgres.locationsx", False),
        ("s3://b/dev/postgres-restored.locations", False),
    ],
)
def test_same_or_inside_knows_the_locations_folder(own: str, inside: bool) -> None:
    assert pp.same_or_inside(own, "s3://b/dev/postgres") is inside


def test_sidecar_archiving_into_the_source_is_refused(restored: Recorded) -> None:
    def change(inputs: dict[str, Any]) -> None:
        container_of(inputs, "exporter")["env"].append(
            {"name": "PGPITR_ARCHIVE", "value": "s3://backups-a1b2c3d/dev/postgres/"}
        )

    message = only_violation("restored-never-archives-into-source", changed(restored, *RESTORED_STATEFULSET, change))
    assert "container 'exporter' sets PGPITR_ARCHIVE" in message


def test_prefix_from_a_secret_or_unknown_is_skipped(restored: Recorded) -> None:
    replaced: list[str] = []

    def change(inputs: dict[str, Any]) -> None:
        for name, container in containers(pod_of(inputs)).items():
            for entry in container["env"]:
                if entry["name"] == "PGPITR_ARCHIVE":
                    replaced.append(name)
                    if name == "postgres":
                        entry["value"] = UNKNOWN_STRING_VALUE
                    else:
                        entry.pop("value")
                        entry["valueFrom"] = {"configMapKeyRef": {"name": "x", "key": "prefix"}}

    assert violations("restored-never-archives-into-source", [changed(restored, *RESTORED_STATEFULSET, change)]) == []
    assert sorted(replaced) == ["postgres", "restore"]


def test_primary_statefulset_is_not_judged_as_restored(dev: Recorded) -> None:
    def change(inputs: dict[str, Any]) -> None:
        env = container_of(inputs, "postgres")["env"]
        prefix = next(e["value"] for e in env if e["name"] == "PGPITR_ARCHIVE")
        env.append({"name": "PGPITR_SOURCE_ARCHIVE", "value": prefix})

    assert violations("restored-never-archives-into-source", [changed(dev, *PRIMARY, change)]) == []


# --- plain-text secrets ---------------------------------------------------------------

SECRETS = "no-plaintext-secrets"
BACKUP_CRONJOB = ("kubernetes:batch/v1:CronJob", "postgres-backup-cronjob")
LEAKED = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
PEM_KEY = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBkg\n-----END EC PRIVATE KEY-----\n"
PGP_KEY = "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQOYBF\n-----END PGP PRIVATE KEY BLOCK-----\n"


def set_env(container: str, name: str, entry: dict[str, Any]) -> Callable[[dict[str, Any]], object]:
    """Replaces how `container` (of a StatefulSet) sets `name` with `entry`."""

    def change(inputs: dict[str, Any]) -> None:
        env = container_of(inputs, container)["env"]
        (index,) = [i for i, e in enumerate(env) if e["name"] == name]
        env[index] = {"name": name, **entry}

    return change


def job_with_env(*env: dict[str, Any]) -> Resource:
    job = {"spec": {"template": {"spec": {"containers": [{"name": "task", "image": "busybox", "env": list(env)}]}}}}
    return Resource("kubernetes:batch/v1:Job", "task", job, {})


def config_map(data: dict[str, Any], field: str = "data") -> Resource:
    return Resource("kubernetes:core/v1:ConfigMap", "extra", {"metadata": {"name": "extra"}, field: data}, {})


@pytest.mark.parametrize(
    "name",
    [
        "AWS_SECRET_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID",
        "AWS_SESSION_TOKEN",
        "PGPASSWORD",
        "POSTGRES_PASSWORD",
        "PGPITR_BACKUP_PASSWORD",
        "PGPITR_MONITOR_PASSWORD",
        "DATA_SOURCE_PASS",
        "WALG_LIBSODIUM_KEY",
        "WALG_PGP_KEY",
        "WALG_PGP_KEY_PASSPHRASE",
        "REPLICATION_PASSWORD",
        "MY_API_SECRET",
        "db_password",
        "superuser-password",
        "secret",
    ],
)
def test_credential_names(name: str) -> None:
    assert pp.is_credential_name(name)


@pytest.mark.parametrize(
    "name",
    ["WALG_LIBSODIUM_KEY_TRANSFORM", "POSTGRES_PASSWORD_FILE", "PGUSER", "WALG_S3_PREFIX", "AWS_REGION", "PGPASSFILE"],
)
def test_names_that_are_not_credentials(name: str) -> None:
    assert not pp.is_credential_name(name)


def component_env_names() -> set[str]:
    """Every variable components/*.py sets by secretKeyRef: the first argument of each
    `secret_env(...)` and `<credentials>.env(...)` call, names.X resolved."""
    found: set[str] = set()
    for path in sorted((REPOSITORY_ROOT / "components").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            func = node.func
            called = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            if called not in ("secret_env", "env"):
                continue
            first = node.args[0]
            if isinstance(first, ast.Attribute) and isinstance(first.value, ast.Name) and first.value.id == "names":
                found.add(getattr(names, first.attr))
            elif isinstance(first, ast.Constant) and isinstance(first.value, str):
                found.add(first.value)
    return found


def secret_ref_env_names(recorded: Recorded) -> set[str]:
    """Every variable a recorded stack's containers read by secretKeyRef."""
    found: set[str] = set()
    for resource in recorded.resources:
        spec = resource.inputs.get("spec", {})
        pod = spec.get("jobTemplate", {}).get("spec", spec).get("template", {}).get("spec")
        for container in containers(pod).values() if pod else []:
            found |= {e["name"] for e in container.get("env", []) if "secretKeyRef" in e.get("valueFrom", {})}
    return found


def test_credential_names_cover_every_secret_the_components_put_in_env(
    restored: Recorded, onprem_restored: Recorded
) -> None:
    from_components = component_env_names()
    secret_names = {
        value
        for key, value in vars(names).items()
        if key.isupper() and isinstance(value, str) and value in from_components
    }
    assert {
        names.AWS_ACCESS_KEY_ID,
        names.AWS_SECRET_ACCESS_KEY,
        names.PGPASSWORD,
        names.POSTGRES_PASSWORD,
        names.PGPITR_BACKUP_PASSWORD,
        names.PGPITR_MONITOR_PASSWORD,
        names.WALG_LIBSODIUM_KEY,
        names.WALG_PGP_KEY,
        names.WALG_PGP_KEY_PASSPHRASE,
    } <= secret_names, "the scan of components/ missed a secret_env or credentials.env call"
    rendered = secret_ref_env_names(restored) | secret_ref_env_names(onprem_restored)
    assert rendered <= from_components
    assert [name for name in sorted(from_components | rendered) if not pp.is_credential_name(name)] == []
    assert secret_names <= pp.CREDENTIAL_ENV_NAMES


def test_literal_aws_secret_key_is_refused(onprem: Recorded) -> None:
    resource = changed(onprem, *PRIMARY, set_env("postgres", "AWS_SECRET_ACCESS_KEY", {"value": LEAKED}))
    message = only_violation(SECRETS, resource)
    assert "StatefulSet 'postgres-statefulset': container 'postgres' sets AWS_SECRET_ACCESS_KEY to a literal value" in (
        message
    )
    assert "valueFrom.secretKeyRef" in message and LEAKED not in message


def test_literal_password_in_a_cronjob_is_refused(dev: Recorded) -> None:
    def change(inputs: dict[str, Any]) -> None:
        (backup,) = inputs["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
        (entry,) = [e for e in backup["env"] if e["name"] == "PGPASSWORD"]
        entry.pop("valueFrom")
        entry["value"] = "hunter2"

    message = only_violation(SECRETS, changed(dev, *BACKUP_CRONJOB, change))
    assert "CronJob 'postgres-backup-cronjob': container 'backup' sets PGPASSWORD to a literal value" in message
    assert "hunter2" not in message


def test_init_container_key_from_a_config_map_is_refused(onprem_restored: Recorded) -> None:
    from_config_map = {"valueFrom": {"configMapKeyRef": {"name": "keys", "key": "libsodium-key"}}}
    resource = changed(
        onprem_restored, *RESTORED_STATEFULSET, set_env("restore", "WALG_LIBSODIUM_KEY", from_config_map)
    )
    message = only_violation(SECRETS, resource)
    assert "init container 'restore' sets WALG_LIBSODIUM_KEY from configMapKeyRef, not a Secret" in message


def test_literal_secrets_in_a_job_are_refused() -> None:
    job = job_with_env(
        {"name": "MY_API_SECRET", "value": "s3cr3t"},
        {"name": "TLS_KEY", "value": PEM_KEY},
        {"name": "POSTGRES_PASSWORD_FILE", "value": "/run/secrets/password"},
        {"name": "WALG_LIBSODIUM_KEY_TRANSFORM", "value": "base64"},
        {"name": "PGPASSWORD", "value": ""},
    )
    messages = violations(SECRETS, [job])
    assert messages == [
        "Job 'task': container 'task' sets MY_API_SECRET to a literal value; "
        "read it from a Secret with valueFrom.secretKeyRef.",
        "Job 'task': container 'task' sets TLS_KEY to a literal private key; "
        "read it from a Secret with valueFrom.secretKeyRef.",
    ]


def test_secret_values_unknown_during_preview_are_skipped(onprem: Recorded) -> None:
    unknown = changed(onprem, *PRIMARY, set_env("postgres", "AWS_SECRET_ACCESS_KEY", {"value": UNKNOWN_STRING_VALUE}))
    assert violations(SECRETS, [unknown]) == []
    maps = [config_map({"password": UNKNOWN_STRING_VALUE}), config_map(UNKNOWN_STRING_VALUE)]  # type: ignore[arg-type]
    assert violations(SECRETS, maps) == []


def test_config_map_with_a_password_key_is_refused(onprem: Recorded) -> None:
    def change(inputs: dict[str, Any]) -> None:
        inputs["data"]["superuser-password"] = "hunter2"

    message = only_violation(SECRETS, changed(onprem, *PRIMARY_CONFIG, change))
    assert message == "ConfigMap 'postgres-config': data key 'superuser-password' is a credential; keep it in a Secret."


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"tls.key": PEM_KEY}, "data"),
        ({"walg-pgp": PGP_KEY}, "data"),
        ({"tls.key": base64.b64encode(PEM_KEY.encode()).decode()}, "binaryData"),
    ],
    ids=["pem", "pgp", "binary-pem"],
)
def test_config_map_with_a_private_key_is_refused(data: dict[str, str], field: str) -> None:
    message = only_violation(SECRETS, config_map(data, field))
    assert f"ConfigMap 'extra': {field} key '{next(iter(data))}' holds a private key; keep it in a Secret." == message


def test_config_map_without_secrets_passes() -> None:
    public = {"ca.crt": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", "password_file": "", "x": "1"}
    assert violations(SECRETS, [config_map(public)]) == []


# --- packaging ------------------------------------------------------------------------


def test_policy_module_imports_only_pulumi_policy_and_the_stdlib() -> None:
    tree = ast.parse((POLICY_DIR / "pgpitr_policies.py").read_text())
    modules = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    modules |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    roots = {module.split(".")[0] for module in modules}
    assert roots - set(sys.stdlib_module_names) == {"pulumi_policy"}


def test_main_builds_the_mandatory_pack_from_all_policies() -> None:
    source = (POLICY_DIR / "__main__.py").read_text()
    tree = ast.parse(source)
    imports = [node for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
    assert any(node.module == "pgpitr_policies" and node.names[0].name == "ALL_POLICIES" for node in imports)
    (pack,) = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "PolicyPack"
    ]
    keywords = {k.arg: ast.unparse(k.value) for k in pack.keywords}
    assert keywords == {
        "name": "'pgpitr-guardrails'",
        "enforcement_level": "EnforcementLevel.MANDATORY",
        "policies": "ALL_POLICIES",
    }


def test_pack_metadata_and_pins() -> None:
    assert "runtime: python" in (POLICY_DIR / "PulumiPolicy.yaml").read_text()
    pins = set((POLICY_DIR / "requirements.txt").read_text().split())
    assert pins == {"pulumi-policy==1.21.0", "pulumi==3.272.0"}
