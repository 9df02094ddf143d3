"""Generated database passwords (and, in staticKeys mode, the AWS keys) in Secrets."""

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from pgpitr import kubernetes_names as kn
from pgpitr.settings.aws import StaticKeysIdentity


class DatabaseCredentials(pulumi.ComponentResource):
    """Passwords for the superuser, the backup role (REPLICATION) and the monitoring role
    (pg_monitor), generated with pulumi-random and stored only as Pulumi secrets and in a
    Kubernetes Secret. Static AWS keys, when used, go to their own Secret."""

    def __init__(
        self,
        name: str,
        namespace: pulumi.Input[str],
        static_keys: StaticKeysIdentity | None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("pgpitr:index:DatabaseCredentials", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
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
        if static_keys is not None:
            k8s.core.v1.Secret(
                f"{name}-aws-keys",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=kn.AWS_KEYS_SECRET, namespace=namespace),
                type="Opaque",
                string_data={
                    kn.AWS_ACCESS_KEY_ID_KEY: pulumi.Output.secret(static_keys.access_key_id),
                    kn.AWS_SECRET_ACCESS_KEY_KEY: pulumi.Output.secret(static_keys.secret_access_key),
                },
                opts=child,
            )
        self.register_outputs({})
