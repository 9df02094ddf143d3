"""What the policy tests share: the arguments the analyzer would build (props behind its
unknown-checking proxy) and a policy called with them, the shipped stacks and the
resources each policy judges in them. No Pulumi CLI: policies are called directly.
policy/__main__.py is never imported: PolicyPack(...) starts a gRPC server."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pulumi_policy import (
    Policy,
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import unknown_checking_proxy

from policy import kubernetes_props, pack
from tests.mocks.harness import Recorded, Resource, containers, run_program, stack_file_config

POLICY_DIR = Path(pack.__file__).resolve().parent
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
POLICIES: dict[str, Policy] = {p.name: p for p in pack.ALL_POLICIES}
RESTORE = {"enabled": True, "target": {"latest": True}}
ONPREM_RESTORE = {"enabled": True, "archive": True, "target": {"xid": 771}}
REPOSITORY_ROOT = POLICY_DIR.parent

STATEFULSET = "kubernetes:apps/v1:StatefulSet"

PRIMARY = (STATEFULSET, "postgres-statefulset")
PRIMARY_CONFIG = ("kubernetes:core/v1:ConfigMap", "postgres-config")
RESTORED_STATEFULSET = (STATEFULSET, "postgres-restored-statefulset")


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


# --- the shipped stacks ---------------------------------------------------------------


def run_onprem(restore: dict[str, Any] | None = None) -> Recorded:
    """Pulumi.onprem.yaml (bucket.provider s3Compatible, image.ref, existing passwords)."""
    config: dict[str, Any] = dict(stack_file_config("onprem"))
    if restore is not None:
        config["pgpitr:restore"] = restore
    return run_program(config, stack="onprem")


def role(resource: Resource) -> object:
    return resource.inputs.get("metadata", {}).get("labels", {}).get(kubernetes_props.ROLE_LABEL)


def seen_by(policy_name: str, recorded: Recorded) -> list[Resource]:
    """The resources a policy actually judges: its types, narrowed by role where it selects."""
    seen = [r for r in recorded.resources if r.type in pack.POLICY_RESOURCE_TYPES[policy_name]]
    if policy_name == "postgres-archiving-on":
        seen = [r for r in seen if role(r) == "primary" and "postgresql.conf" in r.inputs.get("data", {})]
    if policy_name == "restored-never-archives-into-source":
        seen = [r for r in seen if role(r) == "restored"]
    return seen


def pod_of(inputs: dict[str, Any]) -> dict[str, Any]:
    pod: dict[str, Any] = inputs["spec"]["template"]["spec"]
    return pod


def container_of(inputs: dict[str, Any], name: str) -> dict[str, Any]:
    return containers(pod_of(inputs))[name]
