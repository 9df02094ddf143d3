"""A ServiceAccount and the AWS identity behind it: an IRSA or Pod Identity role with
its own storage policy, or (staticKeys) the shared keys from a Secret."""

import pulumi
import pulumi_kubernetes as k8s

from components.pod_parts import EnvVar, secret_env
from components.storage_role import StorageRole
from pgpitr import kubernetes_names as kn
from pgpitr.settings.aws import IrsaIdentity, StaticKeysIdentity
from pgpitr.settings.stack import StackSettings
from pgpitr_runtime import names


class WorkloadIdentity(pulumi.ComponentResource):
    """`service_account` is what pods name; `credential_env` is what their containers
    add (nothing for roles: the EKS webhooks inject the web identity)."""

    service_account: str
    role_arn: pulumi.Output[str] | None
    credential_env: list[EnvVar]

    def __init__(
        self,
        name: str,
        settings: StackSettings,
        namespace: pulumi.Input[str],
        policy: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("pgpitr:index:WorkloadIdentity", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        identity = settings.identity
        assert identity is not None, "an AWS bucket always has an identity (settings default it)"
        self.service_account = name
        self.role_arn = None
        self.credential_env = []
        annotations: dict[str, pulumi.Input[str]] = {}
        if isinstance(identity, StaticKeysIdentity):
            self.credential_env = [
                secret_env(names.AWS_ACCESS_KEY_ID, kn.AWS_KEYS_SECRET, kn.AWS_ACCESS_KEY_ID_KEY),
                secret_env(names.AWS_SECRET_ACCESS_KEY, kn.AWS_KEYS_SECRET, kn.AWS_SECRET_ACCESS_KEY_KEY),
            ]
        else:
            role = StorageRole(
                f"{pulumi.get_stack()}-{name}-walg", identity, settings.namespace, [name], policy, opts=child
            )
            self.role_arn = role.arn
            if isinstance(identity, IrsaIdentity):
                annotations[kn.IRSA_ROLE_ANNOTATION] = role.arn
        service_account(name, namespace, annotations, child)
        self.register_outputs({"roleArn": self.role_arn})


def service_account(
    name: str,
    namespace: pulumi.Input[str],
    annotations: dict[str, pulumi.Input[str]],
    opts: pulumi.ResourceOptions,
) -> k8s.core.v1.ServiceAccount:
    """The ServiceAccount a workload's pods run as; they never mount its token."""
    return k8s.core.v1.ServiceAccount(
        f"{name}-service-account",
        metadata=k8s.meta.v1.ObjectMetaArgs(
            name=name, namespace=namespace, annotations=annotations or None, labels=kn.labels(name, "identity")
        ),
        automount_service_account_token=False,
        opts=opts,
    )
