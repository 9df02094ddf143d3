"""The database passwords: generated into a Secret, or an existing Secret named in
`credentials.existingSecret`; either way every container reads them by secretKeyRef
from the Secret `secret_name` names."""

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from components.pod_parts import EnvVar, secret_env
from pgpitr import kubernetes_names as kn
from pgpitr.settings.aws import StaticKeysIdentity
from pgpitr.settings.credentials import CredentialsSettings


class DatabaseCredentials(pulumi.ComponentResource):
    """Passwords for the superuser, the backup role (REPLICATION) and the monitoring role
    (pg_monitor): generated with pulumi-random and stored only as Pulumi secrets and in a
    Kubernetes Secret, unless `credentials.existingSecret` names a Secret that has them
    (keys superuser-password, backup-password, monitor-password): then nothing is made."""

    secret_name: str

    def __init__(
        self,
        name: str,
        namespace: pulumi.Input[str],
        settings: CredentialsSettings,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("pgpitr:index:DatabaseCredentials", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.secret_name = settings.existing_secret or kn.CREDENTIALS_SECRET
        if settings.existing_secret is None:
            passwords = {
                key: random.RandomPassword(f"{name}-{key}", length=32, special=False, opts=child)
                for key in (kn.SUPERUSER_PASSWORD_KEY, kn.BACKUP_PASSWORD_KEY, kn.MONITOR_PASSWORD_KEY)
            }
            k8s.core.v1.Secret(
                f"{name}-secret",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=kn.CREDENTIALS_SECRET, namespace=namespace),
                type="Opaque",
                # RandomPassword.result is a secret output, and the provider keeps stringData secret.
                string_data={key: password.result for key, password in passwords.items()},
                opts=child,
            )
        self.register_outputs({"secretName": self.secret_name})

    def env(self, variable: str, key: str) -> EnvVar:
        """`variable` set from the password `key` (kn.*_PASSWORD_KEY), by secretKeyRef."""
        return secret_env(variable, self.secret_name, key)


def static_keys_secret(namespace: pulumi.Input[str], keys: StaticKeysIdentity) -> k8s.core.v1.Secret:
    """identity.mode staticKeys: the AWS keys, in their own Secret, read by secretKeyRef."""
    return k8s.core.v1.Secret(
        "postgres-credentials-aws-keys",
        metadata=k8s.meta.v1.ObjectMetaArgs(name=kn.AWS_KEYS_SECRET, namespace=namespace),
        type="Opaque",
        string_data={
            kn.AWS_ACCESS_KEY_ID_KEY: pulumi.Output.secret(keys.access_key_id),
            kn.AWS_SECRET_ACCESS_KEY_KEY: pulumi.Output.secret(keys.secret_access_key),
        },
    )
