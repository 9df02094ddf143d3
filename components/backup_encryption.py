"""Client-side encryption keys for WAL-G: generated into a Secret, or the user's Secret,
and always delivered to containers from the Secret, never as a literal. The current key
comes by secretKeyRef (fixed for a container's lifetime); the keys of
backup.retiredEncryptionSecrets, which older archive locations were written with, come as
read-only files, one folder per Secret under PGPITR_KEYS_DIR (pgpitr_runtime/archive.py)."""

from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from components.pod_parts import EnvVar, plain_env, secret_env
from pgpitr import kubernetes_names as kn
from pgpitr.settings.backup import BackupSettings
from pgpitr_runtime import names

LIBSODIUM_KEY_BYTES = 32


@dataclass(frozen=True)
class KeyDelivery:
    """What every WAL-G container adds to read and write encrypted objects."""

    env: list[EnvVar] = field(default_factory=list)
    volumes: list[k8s.core.v1.VolumeArgs] = field(default_factory=list)
    mounts: list[k8s.core.v1.VolumeMountArgs] = field(default_factory=list)


def key_delivery(settings: BackupSettings) -> KeyDelivery:
    encryption = settings.encryption
    env: list[EnvVar] = []
    secret = settings.encryption_secret
    if encryption is not None and secret is not None:
        env += plain_env(
            {names.PGPITR_ENCRYPTION_METHOD: encryption.method, names.PGPITR_ENCRYPTION_KEY_SOURCE: secret}
        )
        if encryption.method == "libsodium":
            env += [
                secret_env(names.WALG_LIBSODIUM_KEY, secret, kn.LIBSODIUM_KEY_KEY),
                *plain_env({names.WALG_LIBSODIUM_KEY_TRANSFORM: "base64"}),
            ]
        else:
            env += [
                secret_env(names.WALG_PGP_KEY, secret, kn.PGP_KEY_KEY),
                secret_env(names.WALG_PGP_KEY_PASSPHRASE, secret, kn.PGP_PASSPHRASE_KEY, optional=True),
            ]
    volumes, mounts = [], []
    for index, retired in enumerate(settings.retired_encryption_secrets):
        volume = f"retired-key-{index}"
        # Optional: a Secret deleted once nothing it encrypted is left must not keep the
        # pod from starting; a restore that still needs it says so.
        volumes.append(
            k8s.core.v1.VolumeArgs(
                name=volume, secret=k8s.core.v1.SecretVolumeSourceArgs(secret_name=retired, optional=True)
            )
        )
        mounts.append(
            k8s.core.v1.VolumeMountArgs(name=volume, mount_path=f"{names.IMAGE_KEYS_DIR}/{retired}", read_only=True)
        )
    if volumes:
        env += plain_env({names.PGPITR_KEYS_DIR: names.IMAGE_KEYS_DIR})
    return KeyDelivery(env, volumes, mounts)


def generates_key(settings: BackupSettings) -> bool:
    """The generated key is kept while it encrypts new objects or is listed as retired."""
    current = settings.encryption
    generated = current is not None and current.method == "libsodium" and current.existing_secret is None
    return generated or kn.ENCRYPTION_SECRET in settings.retired_encryption_secrets


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
