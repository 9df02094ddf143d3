"""The pgpitr-guardrails policy pack against the shipped stack under the mocks: it passes
as shipped (and with a restored instance), each policy sees its resources, and each
policy catches a broken copy of one of them. No Pulumi CLI: policies are called directly
with the arguments the analyzer would build (props behind its unknown-checking proxy).
policy/__main__.py is never imported: PolicyPack(...) starts a gRPC server."""

from __future__ import annotations

import ast
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

from policy import pgpitr_policies as pp
from tests.mocks.harness import Recorded, Resource, containers, env_of, run_program

POLICY_DIR = Path(pp.__file__).resolve().parent
NAMES = [
    "s3-bucket-kms-encryption",
    "s3-public-access-blocked",
    "s3-bucket-protected",
    "iam-no-wildcards",
    "containers-non-root-with-limits",
    "postgres-archiving-on",
    "restored-never-archives-into-source",
]
POLICIES: dict[str, Policy] = {p.name: p for p in pp.ALL_POLICIES}
RESTORE = {"enabled": True, "target": {"latest": True}}

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


def test_the_pack_has_the_seven_mandatory_policies() -> None:
    assert [p.name for p in pp.ALL_POLICIES] == NAMES
    assert set(pp.POLICY_RESOURCE_TYPES) == set(NAMES)
    assert all(p.enforcement_level == EnforcementLevel.MANDATORY for p in pp.ALL_POLICIES)
    assert isinstance(POLICIES["s3-bucket-protected"], StackValidationPolicy)
    assert sum(isinstance(p, ResourceValidationPolicy) for p in pp.ALL_POLICIES) == 6


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


def test_restored_variant_has_what_the_restore_policy_compares(restored: Recorded) -> None:
    (statefulset,) = seen_by("restored-never-archives-into-source", restored)
    envs = [env_of(c) for c in containers(statefulset.inputs["spec"]["template"]["spec"]).values()]
    pairs = [(e["WALG_S3_PREFIX"], e["PGPITR_SOURCE_WALG_PREFIX"]) for e in envs if "PGPITR_SOURCE_WALG_PREFIX" in e]
    assert pairs and all(own != source for own, source in pairs)


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
        env["WALG_S3_PREFIX"]["value"] = env["PGPITR_SOURCE_WALG_PREFIX"]["value"]

    message = only_violation("restored-never-archives-into-source", changed(restored, *RESTORED_STATEFULSET, change))
    assert "StatefulSet 'postgres-restored-statefulset': container 'postgres' sets WALG_S3_PREFIX" in message
    assert "'s3://backups-a1b2c3d/dev/postgres'" in message and "its own prefix" in message


def test_sidecar_archiving_into_the_source_is_refused(restored: Recorded) -> None:
    def change(inputs: dict[str, Any]) -> None:
        container_of(inputs, "exporter")["env"].append(
            {"name": "WALG_S3_PREFIX", "value": "s3://backups-a1b2c3d/dev/postgres/"}
        )

    message = only_violation("restored-never-archives-into-source", changed(restored, *RESTORED_STATEFULSET, change))
    assert "container 'exporter' sets WALG_S3_PREFIX" in message


def test_prefix_from_a_secret_or_unknown_is_skipped(restored: Recorded) -> None:
    def change(inputs: dict[str, Any]) -> None:
        for name, container in containers(pod_of(inputs)).items():
            for entry in container["env"]:
                if entry["name"] == "WALG_S3_PREFIX":
                    if name == "postgres":
                        entry["value"] = UNKNOWN_STRING_VALUE
                    else:
                        entry.pop("value")
                        entry["valueFrom"] = {"configMapKeyRef": {"name": "x", "key": "prefix"}}

    assert violations("restored-never-archives-into-source", [changed(restored, *RESTORED_STATEFULSET, change)]) == []


def test_primary_statefulset_is_not_judged_as_restored(dev: Recorded) -> None:
    def change(inputs: dict[str, Any]) -> None:
        env = container_of(inputs, "postgres")["env"]
        prefix = next(e["value"] for e in env if e["name"] == "WALG_S3_PREFIX")
        env.append({"name": "PGPITR_SOURCE_WALG_PREFIX", "value": prefix})

    assert violations("restored-never-archives-into-source", [changed(dev, *PRIMARY, change)]) == []


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
