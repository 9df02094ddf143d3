"""Pieces every pgpitr pod shares: environment, security contexts, volumes."""

from collections.abc import Mapping

import pulumi
import pulumi_kubernetes as k8s

from pgpitr.kubernetes_names import SOCKET_VOLUME, TMP_VOLUME
from pgpitr_runtime import names

EnvVar = k8s.core.v1.EnvVarArgs


def plain_env(values: Mapping[str, pulumi.Input[str]]) -> list[EnvVar]:
    return [EnvVar(name=name, value=value) for name, value in values.items()]


def secret_env(name: str, secret: str, key: str, optional: bool = False) -> EnvVar:
    """An environment variable read from a Secret: the value never appears in the spec."""
    return EnvVar(
        name=name,
        value_from=k8s.core.v1.EnvVarSourceArgs(
            secret_key_ref=k8s.core.v1.SecretKeySelectorArgs(name=secret, key=key, optional=optional)
        ),
    )


def container_security_context() -> k8s.core.v1.SecurityContextArgs:
    """Non-root, no privilege escalation, no capabilities, read-only root filesystem."""
    return k8s.core.v1.SecurityContextArgs(
        run_as_non_root=True,
        run_as_user=names.POSTGRES_UID,
        run_as_group=names.POSTGRES_UID,
        allow_privilege_escalation=False,
        read_only_root_filesystem=True,
        capabilities=k8s.core.v1.CapabilitiesArgs(drop=["ALL"]),
        seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault"),
    )


def pod_security_context() -> k8s.core.v1.PodSecurityContextArgs:
    """The postgres user (uid/gid 999 in the official image) owns the volumes."""
    return k8s.core.v1.PodSecurityContextArgs(
        run_as_non_root=True,
        run_as_user=names.POSTGRES_UID,
        run_as_group=names.POSTGRES_UID,
        fs_group=names.POSTGRES_UID,
        fs_group_change_policy="OnRootMismatch",
        seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault"),
    )


def scratch_volumes() -> list[k8s.core.v1.VolumeArgs]:
    """Writable places a read-only root filesystem still needs: the socket dir and /tmp."""
    return [
        k8s.core.v1.VolumeArgs(name=SOCKET_VOLUME, empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs()),
        k8s.core.v1.VolumeArgs(name=TMP_VOLUME, empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs()),
    ]


def scratch_mounts() -> list[k8s.core.v1.VolumeMountArgs]:
    return [
        k8s.core.v1.VolumeMountArgs(name=SOCKET_VOLUME, mount_path=names.IMAGE_SOCKET_DIR),
        k8s.core.v1.VolumeMountArgs(name=TMP_VOLUME, mount_path="/tmp"),
    ]
