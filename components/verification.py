"""Recoverability proven on the cluster: a scheduled restore drill in a throwaway pod and
a scheduled WAL chain check, both with a read-only identity on the bucket."""

import pulumi
import pulumi_kubernetes as k8s

from components.archive_store import StorageAccess
from components.backup_encryption import KeyDelivery
from components.database_credentials import DatabaseCredentials
from components.pod_parts import container_security_context, plain_env, scratch_mounts
from components.postgres_instance import resource_requirements
from components.scheduled_job import scheduled_job
from pgpitr import kubernetes_names as kn
from pgpitr.container_env import WAL_FETCH_COMMAND
from pgpitr.settings.stack import StackSettings
from pgpitr_runtime import names

SCRATCH_VOLUME = "scratch"
SCRATCH_MOUNT = "/scratch"
CHAIN_DEADLINE_SECONDS = 3600


class Verification(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        settings: StackSettings,
        namespace: pulumi.Input[str],
        image: pulumi.Input[str],
        primary: str,
        primary_host: pulumi.Input[str],
        archive: StorageAccess,
        passwords: DatabaseCredentials,
        keys: KeyDelivery,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("pgpitr:index:Verification", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        verify = settings.verify
        walg_env = archive.walg_env
        secrets = archive.secret_env + keys.env
        time_zone = settings.backup.time_zone
        if verify.drill.enabled:
            env = plain_env(
                {
                    names.PGDATA: f"{SCRATCH_MOUNT}/pgdata",
                    **walg_env,
                    names.PGPITR_SOURCE_ARCHIVE: walg_env[names.PGPITR_ARCHIVE],
                    names.PGPITR_WAL_FETCH_COMMAND: WAL_FETCH_COMMAND,
                    names.PGPITR_VERIFY_TIMEOUT: str(verify.drill.deadline_hours * 3600),
                    **({names.PGPITR_VERIFY_SQL: verify.drill.sql} if verify.drill.sql else {}),
                }
            )
            scratch = k8s.core.v1.VolumeArgs(
                name=SCRATCH_VOLUME,
                empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs(
                    size_limit=verify.drill.scratch_size or settings.storage.size
                ),
            )
            scheduled_job(
                f"{name}-restore-drill",
                kn.drill_cronjob(primary),
                namespace,
                verify.drill.schedule,
                time_zone,
                k8s.core.v1.ContainerArgs(
                    name="verify",
                    image=image,
                    command=[f"{names.IMAGE_BIN_DIR}/{names.VERIFY_RESTORE_SCRIPT}"],
                    env=env + secrets,
                    resources=resource_requirements(settings.resources),
                    security_context=container_security_context(),
                    volume_mounts=[
                        k8s.core.v1.VolumeMountArgs(name=SCRATCH_VOLUME, mount_path=SCRATCH_MOUNT),
                        *scratch_mounts(),
                        *archive.mounts,
                        *keys.mounts,
                    ],
                ),
                archive.service_account,
                kn.labels(kn.drill_cronjob(primary), "verify"),
                verify.drill.deadline_hours * 3600,
                child,
                volumes=[scratch, *archive.volumes, *keys.volumes],
            )
        if verify.wal_chain.enabled:
            env = plain_env(
                {
                    names.PGHOST: primary_host,
                    names.PGPORT: str(kn.POSTGRES_PORT),
                    names.PGUSER: names.MONITOR_ROLE,
                    names.PGDATABASE: "postgres",
                    **walg_env,
                }
            )
            env.append(passwords.env(names.PGPASSWORD, kn.MONITOR_PASSWORD_KEY))
            scheduled_job(
                f"{name}-wal-chain",
                kn.chain_cronjob(primary),
                namespace,
                verify.wal_chain.schedule,
                time_zone,
                k8s.core.v1.ContainerArgs(
                    name="wal-chain",
                    image=image,
                    command=[f"{names.IMAGE_BIN_DIR}/{names.WAL_CHAIN_SCRIPT}"],
                    env=env + secrets,
                    resources=k8s.core.v1.ResourceRequirementsArgs(
                        requests={"cpu": "100m", "memory": "128Mi"}, limits={"cpu": "1", "memory": "512Mi"}
                    ),
                    security_context=container_security_context(),
                    volume_mounts=[*scratch_mounts(), *archive.mounts],
                ),
                archive.service_account,
                kn.labels(kn.chain_cronjob(primary), "verify"),
                CHAIN_DEADLINE_SECONDS,
                child,
                volumes=archive.volumes,
            )
        self.register_outputs({})
