"""The IAM role a set of pods assumes to reach the backup bucket, trusted by identity mode."""

import json

import pulumi
import pulumi_aws as aws

from pgpitr.iam_policies import irsa_trust_policy, pod_identity_trust_policy
from pgpitr.settings.aws import IrsaIdentity, PodIdentity


class StorageRole(pulumi.ComponentResource):
    """IRSA: trusts the cluster's OIDC provider for exactly `namespace`'s `service_accounts`
    (audience sts.amazonaws.com). Pod Identity: trusts pods.eks.amazonaws.com and binds each
    service account with an association. The permissions are the `policy` document given."""

    arn: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        identity: IrsaIdentity | PodIdentity,
        namespace: str,
        service_accounts: list[str],
        policy: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("pgpitr:index:StorageRole", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        if isinstance(identity, IrsaIdentity):
            trust = irsa_trust_policy(
                identity.oidc_provider_arn, identity.issuer_host_path, namespace, service_accounts
            )
        else:
            trust = pod_identity_trust_policy()
        role = aws.iam.Role(
            name,
            assume_role_policy=json.dumps(trust),
            description=f"pgpitr {name}: WAL-G access to its backup prefix",
            max_session_duration=3600,
            opts=child,
        )
        aws.iam.RolePolicy(f"{name}-storage", role=role.id, policy=policy, opts=child)
        if isinstance(identity, PodIdentity):
            for service_account in service_accounts:
                aws.eks.PodIdentityAssociation(
                    f"{name}-{service_account}",
                    cluster_name=identity.cluster_name,
                    namespace=namespace,
                    service_account=service_account,
                    role_arn=role.arn,
                    opts=child,
                )
        self.arn = role.arn
        self.register_outputs({"arn": self.arn})
