"""Runs the Pulumi program under pulumi.runtime.set_mocks and records every resource.

No CLI, no cloud: the mocks echo inputs back as outputs and fill in the few computed
values the program reads (ARNs, bucket names, image digests). The mocks never see
resource options, so `run_program` also records the `pulumi.ResourceOptions` each
custom resource was constructed with (`recording_options`).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import pulumi
from pulumi.runtime.mocks import MockCallArgs, MockResourceArgs
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from components.previous_deployment import READ_STACK_OUTPUTS
from components.stack import StackOutputs, build
from components.stack_config import load_settings
from pgpitr.settings.stack_file import read_stack_file

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = "123456789012"
REGION = "eu-west-1"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"


def unwrap_secrets(value: Any) -> Any:
    """Mocked inputs keep Pulumi's secret envelope; tests look at the plain value."""
    if isinstance(value, dict):
        if value.get("4dabf18193072939515e22adb298388d") == SECRET_SIG:
            return unwrap_secrets(value.get("value"))
        return {k: unwrap_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap_secrets(v) for v in value]
    return value


def is_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get("4dabf18193072939515e22adb298388d") == SECRET_SIG


def all_values_secret(mapping: Any) -> bool:
    """True when a mapping is secret as a whole or value by value."""
    return is_secret(mapping) or (isinstance(mapping, dict) and all(is_secret(v) for v in mapping.values()))


@dataclass
class Resource:
    type: str
    name: str
    inputs: dict[str, Any]
    raw_inputs: dict[str, Any]

    def json(self, key: str) -> Any:
        value = self.inputs[key]
        return json.loads(value) if isinstance(value, str) else value


CLAIM_STORAGE_CLASS = "standard"
"""The class of the claims the mocked cluster holds (a read of a PVC returns it)."""


@dataclass
class RecordingMocks(pulumi.runtime.Mocks):
    resources: list[Resource] = field(default_factory=list)
    previous_outputs: dict[str, Any] = field(default_factory=dict)
    """What the stack's last deployment exported (components.previous_deployment)."""
    volume_expansion: bool = True
    """allowVolumeExpansion of the StorageClass a read of the primary's claim names."""

    def new_resource(self, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
        raw = dict(args.inputs)
        inputs = unwrap_secrets(raw)
        self.resources.append(Resource(args.typ, args.name, inputs, raw))
        outputs = dict(raw)
        name = args.name
        if args.typ == "aws:s3/bucket:Bucket":
            bucket = inputs.get("bucket") or f"{name}-a1b2c3d"
            outputs |= {"bucket": bucket, "arn": f"arn:aws:s3:::{bucket}"}
        elif args.typ == "aws:kms/key:Key":
            outputs |= {"arn": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{name}-0000", "keyId": f"{name}-0000"}
        elif args.typ == "aws:iam/role:Role":
            outputs |= {"arn": f"arn:aws:iam::{ACCOUNT}:role/{name}", "name": name}
        elif args.typ == "aws:ecr/repository:Repository":
            outputs |= {
                "repositoryUrl": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{name}",
                "registryId": ACCOUNT,
            }
        elif args.typ == "docker-build:index:Image":
            repository = str(inputs["tags"][0]).split(":")[0]
            outputs |= {"ref": f"{repository}@sha256:{'ab' * 32}", "digest": f"sha256:{'ab' * 32}"}
        elif args.typ == "random:index/randomPassword:RandomPassword":
            outputs |= {"result": f"generated-{name}"}
        elif args.typ == "random:index/randomBytes:RandomBytes":
            outputs |= {"base64": "Z2VuZXJhdGVkLWtleS1vZi0zMi1ieXRlcy0xMjM0NTY=", "hex": "00" * 32}
        elif args.typ == "kubernetes:core/v1:PersistentVolumeClaim" and args.resource_id:
            outputs |= {"spec": {"storageClassName": CLAIM_STORAGE_CLASS}}
        elif args.typ == "kubernetes:storage.k8s.io/v1:StorageClass" and args.resource_id:
            outputs |= {"allowVolumeExpansion": self.volume_expansion}
        if args.typ.startswith("kubernetes:"):
            metadata = dict(inputs.get("metadata") or {})
            metadata.setdefault("name", name)
            outputs["metadata"] = metadata
        return f"{name}-id", outputs

    def call(self, args: MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        if args.token == READ_STACK_OUTPUTS:
            return {"name": args.args["name"], "outputs": self.previous_outputs, "secretOutputNames": []}, []
        if args.token == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"}, []
        if args.token == "aws:index/getRegion:getRegion":
            return {"region": REGION, "name": REGION, "id": REGION}, []
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:user/test", "id": ACCOUNT}, []
        if args.token == "aws:ecr/getAuthorizationToken:getAuthorizationToken":
            return {"userName": "AWS", "password": "ecr-token", "authorizationToken": "x", "id": REGION}, []
        return {}, []


@dataclass(frozen=True)
class Constructed:
    """A custom resource as the program constructed it: the object (what other resources'
    `depends_on` and `deleted_with` point at) and the options it was given."""

    resource: pulumi.CustomResource
    options: pulumi.ResourceOptions


@contextmanager
def recording_options() -> Iterator[dict[tuple[str, str], Constructed]]:
    """While open, every `pulumi.CustomResource` constructed is recorded under (type token,
    name) with the options it was given; `pulumi.CustomResource.__init__` is restored on
    leaving."""
    constructed: dict[tuple[str, str], Constructed] = {}
    original = pulumi.CustomResource.__init__

    def recording_init(
        self: pulumi.CustomResource,
        t: str,
        name: str,
        props: pulumi.Inputs | None = None,
        opts: pulumi.ResourceOptions | None = None,
        dependency: bool = False,
        package_ref: Awaitable[str | None] | None = None,
    ) -> None:
        constructed[(t, name)] = Constructed(self, opts or pulumi.ResourceOptions())
        original(self, t, name, props, opts, dependency, package_ref)

    with mock.patch.object(pulumi.CustomResource, "__init__", recording_init):
        yield constructed


@dataclass
class Recorded:
    resources: list[Resource]
    outputs: dict[str, Any]
    constructed: dict[tuple[str, str], Constructed] = field(default_factory=dict)

    def of_type(self, type_token: str) -> list[Resource]:
        return [r for r in self.resources if r.type == type_token]

    def one(self, type_token: str, name: str | None = None) -> Resource:
        found = [r for r in self.of_type(type_token) if name is None or r.name == name]
        assert len(found) == 1, f"expected one {type_token} {name or ''}, found {[r.name for r in found]}"
        return found[0]

    def _constructed(self, type_token: str, name: str) -> Constructed:
        assert (type_token, name) in self.constructed, (
            f"no {type_token} {name} constructed; there are {sorted(n for t, n in self.constructed if t == type_token)}"
        )
        return self.constructed[(type_token, name)]

    def options(self, type_token: str, name: str) -> pulumi.ResourceOptions:
        """The resource options the program gave the resource `name` of `type_token`."""
        return self._constructed(type_token, name).options

    def instance(self, type_token: str, name: str) -> pulumi.CustomResource:
        """The resource object, to compare with what `depends_on` or `deleted_with` name."""
        return self._constructed(type_token, name).resource


def stack_file_config(stack: str = "dev") -> dict[str, str]:
    """The stack file's config as the CLI passes it: objects and numbers as JSON strings."""
    return read_stack_file(REPOSITORY_ROOT / f"Pulumi.{stack}.yaml")


def _resolve(value: Any) -> Any:
    if isinstance(value, pulumi.Output):
        return _sync_await(value.future())
    return value


def _forget_failed_outputs() -> None:
    """A program that failed in an apply leaves its outputs' tasks in the runtime's
    settings (a set that survives `set_mocks`); the next program run would await them and
    fail with this one's error. They are cancelled and forgotten here."""
    pending = pulumi.runtime.settings.SETTINGS.outputs
    for task in pending:
        task.cancel()
    pending.clear()


def run_program(
    config: Mapping[str, Any],
    secret_keys: list[str] | None = None,
    program: Callable[[], StackOutputs] | None = None,
    stack: str = "dev",
    previous_outputs: Mapping[str, Any] | None = None,
    volume_expansion: bool = True,
) -> Recorded:
    """Runs the program with `config` (values as the CLI gives them) and records it;
    `previous_outputs` are the outputs of the deployment before (none: a new stack);
    `volume_expansion` whether the cluster's StorageClass can expand volumes."""
    mocks = RecordingMocks(previous_outputs=dict(previous_outputs or {}), volume_expansion=volume_expansion)
    pulumi.runtime.set_mocks(mocks, project="pgpitr", stack=stack, preview=False)
    pulumi.runtime.set_all_config(
        {k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()}, secret_keys or []
    )
    holder: dict[str, StackOutputs] = {}

    def main() -> None:
        holder["outputs"] = (program or (lambda: build(load_settings())))()

    with recording_options() as constructed:
        try:
            _sync_await(run_pulumi_func(main))
        except BaseException:
            _forget_failed_outputs()
            raise
    outputs = {name: _resolve(value) for name, value in vars(holder["outputs"]).items()}
    return Recorded(mocks.resources, outputs, constructed)


def _ints(value: Any) -> Any:
    """The mock monitor turns numbers into floats; Kubernetes integers are whole."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _ints(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_ints(v) for v in value]
    return value


def kubernetes_objects(recorded: Recorded) -> list[dict[str, Any]]:
    """Every Kubernetes object the program declares, as the API server would receive it."""
    return [_ints(r.inputs) for r in recorded.resources if r.type.startswith("kubernetes:")]


def containers(pod_spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in pod_spec.get("initContainers", []) + pod_spec["containers"]}


def env_of(container: dict[str, Any]) -> dict[str, Any]:
    """name -> value, {"secret": name, "key": key} for Secret references, {"field": path} for pod fields."""
    env: dict[str, Any] = {}
    for item in container.get("env", []):
        if "valueFrom" in item and "fieldRef" in item["valueFrom"]:
            env[item["name"]] = {"field": item["valueFrom"]["fieldRef"]["fieldPath"]}
        elif "valueFrom" in item:
            ref = item["valueFrom"]["secretKeyRef"]
            env[item["name"]] = {"secret": ref["name"], "key": ref["key"]}
        else:
            env[item["name"]] = item.get("value")
    return env
