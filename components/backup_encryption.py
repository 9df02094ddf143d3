"""Client-side encryption keys for WAL-G: generated into a Secret, or the user's Secret,
and always delivered to containers through secretKeyRef, never as a literal."""

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from components.pod_parts import EnvVar, plain_env, secret_env
from pgpitr import kubernetes_names as kn
from pgpitr.settings.backup import EncryptionSettings
from pgpitr_runtime import names

LIBSODIUM_KEY_BYTES = 32


def encryption_env(settings: EncryptionSettings | None) -> list[EnvVar]:
    """What every WAL-G container adds to read and write encrypted objects."""
    if settings is None:
        return []
    secret = settings.existing_secret or kn.ENCRYPTION_SECRET
    if settings.method == "libsodium":
        return [
            secret_env(names.WALG_LIBSODIUM_KEY, secret, kn.LIBSODIUM_KEY_KEY),
            *plain_env({names.WALG_LIBSODIUM_KEY_TRANSFORM: "base64"}),
        ]
    return [
        secret_env(names.WALG_PGP_KEY, secret, kn.PGP_KEY_KEY),
        secret_env(names.WALG_PGP_KEY_PASSPHRASE, secret, kn.PGP_PASSPHRASE_KEY, optional=True),
    ]


class BackupEncryptionKey(pulumi.ComponentResource):
    """A generated libsodium key, kept as a Pulumi secret, in Secret postgres-backup-encryption."""

    def __init__(self, name: str, namespace: pulumi.Input[str], opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("pgpitr:index:BackupEncryptionKey", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        key = random.RandomBytes(f"{name}-libsodium", length=LIBSODIUM_KEY_BYTES, opts=child)
        k8s.core.v1.Secret(
            f"{name}-secret",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=kn.ENCRYPTION_SECRET, namespace=namespace),
            type="Opaque",
            # RandomBytes.base64 is a secret output; the provider keeps stringData secret too.
            string_data={kn.LIBSODIUM_KEY_KEY: key.base64},
            opts=child,
        )
        self.register_outputs({})
