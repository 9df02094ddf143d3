"""The whole program as a function of validated settings, so tests can run it under mocks
with many configurations in one process."""

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.archive_store import archive_store
from components.backup_encryption import BackupEncryptionKey, generates_key, key_delivery
from components.backup_schedule import BackupSchedule
from components.database_credentials import DatabaseCredentials
from components.exporter_sidecar import exporter_container, exporter_volume, queries_config_map
from components.image import image_reference
from components.monitoring import Monitoring
from components.postgres_instance import InstanceSpec, PostgresInstance, RestoreSpec
from components.previous_deployment import previous_outputs
from components.verification import Verification
from components.volume_growth import expandable_size
from pgpitr import kubernetes_names as kn
from pgpitr.container_env import restore_settings_environment, restore_target_summary, restored_archive_path
from pgpitr.deployed import guards
from pgpitr.deployed.locations import locations_output
from pgpitr.deployed.record import OUTPUT_NAME, DeployedSettings
from pgpitr.iam_policies import Access, PrefixGrant
from pgpitr.monitoring.alert_rules import rule_groups
from pgpitr.postgresql_conf import server_config
from pgpitr.settings import StackSettings
from pgpitr.settings.stack import PRIMARY_NAME
from pgpitr.versions import WALG_RELEASES
from pgpitr.walg_env import archive_prefix as walg_archive_prefix
from pgpitr_runtime.archive import LOCATIONS_SUFFIX

STARTUP_SECONDS = 24 * 3600
"""Replaying a day of WAL can take hours (a restored copy; a primary brought back from its
archive, or recovering after a crash): the startup probe must not kill it."""


@dataclass(frozen=True)
class StackOutputs:
    bucket_name: pulumi.Output[str]
    walg_s3_prefix: pulumi.Output[str]
    role_arn: pulumi.Output[str] | None
    kms_key_arn: pulumi.Output[str] | None
    image: pulumi.Output[str]
    namespace: pulumi.Output[str]
    primary_host: pulumi.Output[str]
    restored_host: pulumi.Output[str] | None
    restored_walg_s3_prefix: pulumi.Output[str] | None
    deployed_settings: dict[str, Any]
    archive_locations: pulumi.Output[dict[str, Any]]

    def export(self) -> None:
        pulumi.export("bucketName", self.bucket_name)
        pulumi.export("walgS3Prefix", self.walg_s3_prefix)
        pulumi.export("roleArn", self.role_arn)
        pulumi.export("kmsKeyArn", self.kms_key_arn)
        pulumi.export("image", self.image)
        pulumi.export("namespace", self.namespace)
        pulumi.export("primaryHost", self.primary_host)
        pulumi.export("restoredHost", self.restored_host)
        pulumi.export("restoredWalgS3Prefix", self.restored_walg_s3_prefix)
        pulumi.export(OUTPUT_NAME, self.deployed_settings)
        pulumi.export("archiveLocations", self.archive_locations)


def archive_prefix(instance: str) -> str:
    """The key prefix of one instance's archive in this stack (pgpitr.walg_env.archive_prefix)."""
    return walg_archive_prefix(pulumi.get_stack(), instance)


def archive_grants(prefix: str, access: Access) -> list[PrefixGrant]:
    """An archive is its first location and, beside it, its manifest and later locations
    (pgpitr_runtime/archive.py)."""
    return [PrefixGrant(prefix, access), PrefixGrant(f"{prefix}{LOCATIONS_SUFFIX}", access)]


def restored_grants(source_prefix: str, own_prefix: str, archive: bool) -> list[PrefixGrant]:
    """The restored copy reads the source archive and never writes there; with
    `restore.archive` it writes under `own_prefix`, an archive per target."""
    grants = archive_grants(source_prefix, "read")
    if archive:
        grants.append(PrefixGrant(own_prefix, "read-write"))
    return grants


def refuse_unsafe_changes(settings: StackSettings) -> tuple[DeployedSettings | None, DeployedSettings]:
    """Stops the program, before it declares anything, when `settings` would strand or
    lose the archive of the stack as it was last deployed; else that deployment's record
    (None: a new stack) and this one's."""
    previous = DeployedSettings.from_output(previous_outputs().get(OUTPUT_NAME))
    deployed = DeployedSettings.of(settings, previous)
    refused = guards.refusals(previous, deployed, pulumi.get_stack())
    if refused:
        raise pulumi.RunError("; ".join(refused))
    return previous, deployed


def primary_volume_size(
    settings: StackSettings, previous: DeployedSettings | None, deployed: DeployedSettings
) -> pulumi.Output[str] | None:
    """A grown size waits for the check that its StorageClass can expand it; None: as set."""
    if not guards.volume_grows(previous, deployed):
        return None
    claim = kn.statefulset_claim(kn.DATA_VOLUME, PRIMARY_NAME)
    return expandable_size(claim, settings.namespace, settings.storage.size)


def build(settings: StackSettings) -> StackOutputs:
    previous, deployed = refuse_unsafe_changes(settings)
    image = image_reference(settings.image, settings.postgres_version, WALG_RELEASES[settings.walg_version])
    namespace = k8s.core.v1.Namespace(
        "namespace",
        metadata=k8s.meta.v1.ObjectMetaArgs(
            name=settings.namespace,
            labels={
                kn.MANAGED_BY_LABEL: "pgpitr",
                # Every pgpitr pod meets the restricted Pod Security Standard; enforce it.
                "pod-security.kubernetes.io/enforce": "restricted",
            },
        ),
    )
    ns = namespace.metadata.name
    store = archive_store(settings, ns)
    passwords = DatabaseCredentials("postgres-credentials", ns, settings.credentials)
    if generates_key(settings.backup):
        BackupEncryptionKey("backup-encryption", ns)
    keys = key_delivery(settings.backup)
    sidecars: list[k8s.core.v1.ContainerArgs] = []
    sidecar_volumes: list[k8s.core.v1.VolumeArgs] = []
    if settings.monitoring.enabled:
        queries = queries_config_map("postgres", ns, pulumi.ResourceOptions())
        sidecars, sidecar_volumes = (
            [exporter_container(passwords, settings.monitoring.exporter_image)],
            [exporter_volume(queries)],
        )

    primary_prefix = archive_prefix(PRIMARY_NAME)
    primary_access = store.access(PRIMARY_NAME, primary_prefix, archive_grants(primary_prefix, "read-write"))
    primary = PostgresInstance(
        InstanceSpec(
            name=PRIMARY_NAME,
            namespace=ns,
            image=image,
            postgresql_conf=server_config(
                settings.archive_timeout, settings.postgresql.root, settings.postgres_version
            ),
            archive=primary_access,
            passwords=passwords,
            keys=keys,
            storage=settings.storage,
            resources=settings.resources,
            volume_size=primary_volume_size(settings, previous, deployed),
            startup_seconds=STARTUP_SECONDS,
            extra_containers=sidecars,
            extra_volumes=sidecar_volumes,
        )
    )
    BackupSchedule(
        kn.backup_cronjob(PRIMARY_NAME),
        kn.catch_up_backup_cronjob(PRIMARY_NAME),
        namespace=ns,
        image=image,
        primary_host=primary.host,
        settings=settings.backup,
        archive=primary_access,
        passwords=passwords,
        keys=keys,
    )

    verify = settings.verify
    if verify.drill.enabled or verify.wal_chain.enabled:
        Verification(
            "verification",
            settings,
            namespace=ns,
            image=image,
            primary=PRIMARY_NAME,
            primary_host=primary.host,
            archive=store.access(f"{PRIMARY_NAME}-verify", primary_prefix, archive_grants(primary_prefix, "read")),
            passwords=passwords,
            keys=keys,
        )
    if verify.storage.enabled:
        store.watch(verify.storage)

    if settings.monitoring.enabled:
        groups = rule_groups(
            settings.namespace,
            PRIMARY_NAME,
            kn.backup_cronjob(PRIMARY_NAME),
            kn.catch_up_backup_cronjob(PRIMARY_NAME),
            settings.monitoring,
            verify,
            kn.drill_cronjob(PRIMARY_NAME),
            kn.chain_cronjob(PRIMARY_NAME),
        )
        Monitoring("monitoring", ns, PRIMARY_NAME, settings.monitoring, groups)

    restored_host: pulumi.Output[str] | None = None
    restored_prefix_output: pulumi.Input[str] | None = None
    restore = settings.restore
    if restore.enabled and restore.target is not None:
        target = restore.target.to_target()
        target_summary = restore_target_summary(target, restore.backup, restore.options)
        own_prefix = archive_prefix(restored_archive_path(restore.name, target_summary))
        restored_access = store.access(
            restore.name,
            own_prefix,
            restored_grants(primary_prefix, archive_prefix(restore.name), restore.archive),
        )
        restored = PostgresInstance(
            InstanceSpec(
                name=restore.name,
                namespace=ns,
                image=image,
                postgresql_conf=server_config(
                    settings.archive_timeout,
                    settings.postgresql.root,
                    settings.postgres_version,
                    archive=restore.archive,
                ),
                archive=restored_access,
                passwords=passwords,
                keys=keys,
                storage=settings.storage,
                resources=settings.resources,
                restore=RestoreSpec(
                    source_archive=primary_access.archive,
                    recovery_env=restore_settings_environment(restore),
                    target_summary=target_summary,
                ),
                ready_timeout_minutes=restore.ready_timeout_minutes,
                startup_seconds=STARTUP_SECONDS,
                extra_containers=sidecars,
                extra_volumes=sidecar_volumes,
            )
        )
        restored_host = restored.host
        restored_prefix_output = restored_access.archive

    return StackOutputs(
        bucket_name=store.bucket_name,
        walg_s3_prefix=pulumi.Output.from_input(primary_access.archive),
        role_arn=primary_access.role_arn,
        kms_key_arn=store.kms_key_arn,
        image=image,
        namespace=ns,
        primary_host=primary.host,
        restored_host=restored_host,
        restored_walg_s3_prefix=pulumi.Output.from_input(restored_prefix_output) if restored_prefix_output else None,
        deployed_settings=deployed.output(),
        archive_locations=pulumi.Output.from_input(primary_access.archive).apply(
            lambda prefix: locations_output(prefix, deployed.locations)
        ),
    )
