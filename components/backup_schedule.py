"""The base-backup CronJobs: WAL-G in remote mode, then retention; on the schedule, and a
catch-up that backs up within minutes whenever the archive's current location has no
backup of the primary's timeline yet."""

import pulumi
import pulumi_kubernetes as k8s

from components.archive_store import StorageAccess
from components.backup_encryption import KeyDelivery
from components.database_credentials import DatabaseCredentials
from components.pod_parts import container_security_context, plain_env, scratch_mounts
from components.scheduled_job import scheduled_job
from pgpitr import kubernetes_names as kn
from pgpitr.container_env import retention_environment
from pgpitr.settings.backup import BackupSettings
from pgpitr_runtime import names

JOB_DEADLINE_SECONDS = 6 * 3600
"""A backup still running after this is stuck; failing it makes the alert fire."""
CATCH_UP_SCHEDULE = "*/5 * * * *"
"""How soon a base backup follows a first deploy, a new archive location (an encryption
change) or a promotion after the database came back from its archive."""


class BackupSchedule(pulumi.ComponentResource):
    """Runs docker/bin/pgpitr-backup on `backup.schedule` in `backup.timeZone`.

    Remote mode: WAL-G streams the base backup over the replication protocol from the
    primary's Service as the backup role, so the Job runs on any node and never mounts
    the primary's ReadWriteOnce volume (the article's CronJob does, and fails whenever
    it lands on another node). Forbid keeps two backups from overlapping; the Job's pod
    never restarts in place, so a failure shows as a failed Job."""

    def __init__(
        self,
        name: str,
        catch_up_name: str,
        namespace: pulumi.Input[str],
        image: pulumi.Input[str],
        primary_host: pulumi.Input[str],
        settings: BackupSettings,
        archive: StorageAccess,
        passwords: DatabaseCredentials,
        keys: KeyDelivery,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("pgpitr:index:BackupSchedule", name, None, opts)
        labels = kn.labels(name, "backup")
        env = plain_env(
            {
                names.PGHOST: primary_host,
                names.PGPORT: str(kn.POSTGRES_PORT),
                names.PGUSER: names.BACKUP_ROLE,
                # WAL-G also opens a normal session; without this libpq would look for a
                # database named after the role.
                names.PGDATABASE: "postgres",
                "PGSSLMODE": "prefer",
                **archive.walg_env,
                **retention_environment(settings.retention),
            }
        )
        env += [passwords.env(names.PGPASSWORD, kn.BACKUP_PASSWORD_KEY), *archive.secret_env, *keys.env]

        def container(extra: dict[str, str]) -> k8s.core.v1.ContainerArgs:
            return k8s.core.v1.ContainerArgs(
                name="backup",
                image=image,
                command=[f"{names.IMAGE_BIN_DIR}/{names.BACKUP_SCRIPT}"],
                env=env + plain_env(extra),
                resources=k8s.core.v1.ResourceRequirementsArgs(
                    requests={"cpu": "250m", "memory": "256Mi"},
                    limits={"cpu": "2", "memory": "1Gi"},
                ),
                security_context=container_security_context(),
                volume_mounts=[*scratch_mounts(), *archive.mounts, *keys.mounts],
            )

        for resource, job, schedule, time_zone, extra in (
            (f"{name}-cronjob", name, settings.schedule, settings.time_zone, {}),
            (
                f"{name}-catch-up-cronjob",
                catch_up_name,
                CATCH_UP_SCHEDULE,
                "Etc/UTC",
                {names.PGPITR_BACKUP_WHEN_MISSING: "true"},
            ),
        ):
            scheduled_job(
                resource,
                job,
                namespace,
                schedule,
                time_zone,
                container(extra),
                archive.service_account,
                labels,
                JOB_DEADLINE_SECONDS,
                pulumi.ResourceOptions(parent=self),
                volumes=[*archive.volumes, *keys.volumes],
            )
        self.register_outputs({})
