"""One PostgreSQL instance: its postgresql.conf ConfigMap, headless and client Services,
and a single-replica StatefulSet on the pgpitr image. The primary and the restored
instance are both this component; the restored one adds an init container that fills
its empty volume from the archive."""

from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from components.archive_store import StorageAccess
from components.backup_encryption import KeyDelivery
from components.database_credentials import DatabaseCredentials
from components.pod_parts import (
    EnvVar,
    container_security_context,
    plain_env,
    pod_security_context,
    scratch_mounts,
    scratch_volumes,
)
from components.volume_growth import ORPHAN_ON_DELETE, claim_size_patch
from pgpitr import kubernetes_names as kn
from pgpitr.container_env import (
    INITDB_ARGS,
    STOP_GRACE_SECONDS,
    restore_digest,
    role_names_environment,
    stop_environment,
)
from pgpitr.postgresql_conf import ServerConfig
from pgpitr.settings.database import ResourceSettings, StorageSettings
from pgpitr_runtime import names

CONFIG_PATH = f"{names.IMAGE_CONFIG_DIR}/{names.POSTGRESQL_CONF_FILE}"


@dataclass(frozen=True)
class RestoreSpec:
    """What makes an instance a restored copy: where its data comes from and the target."""

    source_archive: pulumi.Input[str]
    recovery_env: dict[str, str]
    target_summary: str

    @property
    def digest(self) -> str:
        return restore_digest(self.target_summary)


@dataclass(frozen=True)
class InstanceSpec:
    name: str
    namespace: pulumi.Input[str]
    image: pulumi.Input[str]
    postgresql_conf: ServerConfig
    archive: StorageAccess
    """WAL-G's access to this instance's archive prefix (and, restored, the source's)."""
    passwords: DatabaseCredentials
    keys: KeyDelivery
    """The backup encryption keys WAL-G needs."""
    storage: StorageSettings
    resources: ResourceSettings
    restore: RestoreSpec | None = None
    ready_timeout_minutes: int | None = None
    """How long Pulumi waits for the pod to become Ready (None: the provider's 10 minutes)."""
    volume_size: pulumi.Input[str] | None = None
    """The data volume's size, when it must wait for a check (components.volume_growth);
    else storage.size."""
    startup_seconds: int = 3600
    extra_containers: list[k8s.core.v1.ContainerArgs] = field(default_factory=list)
    extra_volumes: list[k8s.core.v1.VolumeArgs] = field(default_factory=list)

    @property
    def data_claim(self) -> str:
        """The volume claim's name; a restored instance's changes with its target."""
        if self.restore is None:
            return kn.DATA_VOLUME
        return f"{kn.DATA_VOLUME}-{self.restore.digest}"


def pg_isready_probe(period: int, failures: int, timeout: int = 5) -> k8s.core.v1.ProbeArgs:
    return k8s.core.v1.ProbeArgs(
        exec_=k8s.core.v1.ExecActionArgs(
            command=["pg_isready", "--host=127.0.0.1", f"--port={kn.POSTGRES_PORT}", "--dbname=postgres"]
        ),
        period_seconds=period,
        timeout_seconds=timeout,
        failure_threshold=failures,
    )


def resource_requirements(resources: ResourceSettings) -> k8s.core.v1.ResourceRequirementsArgs:
    return k8s.core.v1.ResourceRequirementsArgs(
        requests={"cpu": resources.requests.cpu, "memory": resources.requests.memory},
        limits={"cpu": resources.limits.cpu, "memory": resources.limits.memory},
    )


def server_env(spec: InstanceSpec) -> list[EnvVar]:
    """The postgres container: the entrypoint's settings, the passwords it reconciles the
    roles to, and WAL-G's settings (archive_command runs with this environment)."""
    env = plain_env(
        {
            names.PGDATA: names.IMAGE_PGDATA,
            names.POSTGRES_USER: names.SUPERUSER_ROLE,
            names.POSTGRES_INITDB_ARGS: INITDB_ARGS,
            **role_names_environment(),
            **stop_environment(),
        }
    )
    env += [
        spec.passwords.env(names.POSTGRES_PASSWORD, kn.SUPERUSER_PASSWORD_KEY),
        spec.passwords.env(names.PGPITR_BACKUP_PASSWORD, kn.BACKUP_PASSWORD_KEY),
        spec.passwords.env(names.PGPITR_MONITOR_PASSWORD, kn.MONITOR_PASSWORD_KEY),
    ]
    env += plain_env(spec.archive.walg_env)
    if spec.restore is not None:
        env += plain_env({names.PGPITR_SOURCE_ARCHIVE: spec.restore.source_archive})
    return env + walg_secret_env(spec)


def walg_secret_env(spec: InstanceSpec) -> list[EnvVar]:
    return spec.archive.secret_env + spec.keys.env


def walg_mounts(spec: InstanceSpec) -> list[k8s.core.v1.VolumeMountArgs]:
    """The data volume, the scratch places, and what WAL-G reads: the store's CA, the keys."""
    return [
        k8s.core.v1.VolumeMountArgs(name=spec.data_claim, mount_path=names.IMAGE_DATA_MOUNT),
        *scratch_mounts(),
        *spec.archive.mounts,
        *spec.keys.mounts,
    ]


def restore_init_container(spec: InstanceSpec, restore: RestoreSpec) -> k8s.core.v1.ContainerArgs:
    env = plain_env({names.PGDATA: names.IMAGE_PGDATA})
    env += plain_env(spec.archive.walg_env)
    env += plain_env({names.PGPITR_SOURCE_ARCHIVE: restore.source_archive, **restore.recovery_env})
    return k8s.core.v1.ContainerArgs(
        name="restore",
        image=spec.image,
        command=[f"{names.IMAGE_BIN_DIR}/{names.RESTORE_SCRIPT}"],
        env=env + walg_secret_env(spec),
        resources=resource_requirements(spec.resources),
        security_context=container_security_context(),
        volume_mounts=walg_mounts(spec),
    )


API_ACCESS_VOLUME = "kubernetes-api"
API_ACCESS_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
API_TOKEN_SECONDS = 3600


def api_access_volume() -> k8s.core.v1.VolumeArgs:
    """A service account token for the bootstrap container alone (the pod mounts none),
    laid out where clients look for one: token, ca.crt, namespace."""
    return k8s.core.v1.VolumeArgs(
        name=API_ACCESS_VOLUME,
        projected=k8s.core.v1.ProjectedVolumeSourceArgs(
            sources=[
                k8s.core.v1.VolumeProjectionArgs(
                    service_account_token=k8s.core.v1.ServiceAccountTokenProjectionArgs(
                        path="token", expiration_seconds=API_TOKEN_SECONDS
                    )
                ),
                k8s.core.v1.VolumeProjectionArgs(
                    config_map=k8s.core.v1.ConfigMapProjectionArgs(
                        name="kube-root-ca.crt", items=[k8s.core.v1.KeyToPathArgs(key="ca.crt", path="ca.crt")]
                    )
                ),
                k8s.core.v1.VolumeProjectionArgs(
                    downward_api=k8s.core.v1.DownwardAPIProjectionArgs(
                        items=[
                            k8s.core.v1.DownwardAPIVolumeFileArgs(
                                path="namespace",
                                field_ref=k8s.core.v1.ObjectFieldSelectorArgs(field_path="metadata.namespace"),
                            )
                        ]
                    )
                ),
            ]
        ),
    )


def pod_field_env(variable: str, field_path: str) -> EnvVar:
    return EnvVar(
        name=variable,
        value_from=k8s.core.v1.EnvVarSourceArgs(field_ref=k8s.core.v1.ObjectFieldSelectorArgs(field_path=field_path)),
    )


def bootstrap_init_container(spec: InstanceSpec) -> k8s.core.v1.ContainerArgs:
    """The primary's volume made ready before postgres starts: initialised, or brought back
    from its archive when it is empty and the archive holds the database (no probe runs
    during an init container, however long the restore takes), and where it archives
    settled (docker/bin/pgpitr-bootstrap)."""
    env = server_env(spec)
    env += plain_env({names.PGPITR_EMPTY_VOLUME: spec.storage.empty_volume})
    env += [pod_field_env(names.PGPITR_POD_NAME, "metadata.name"), pod_field_env(names.PGPITR_POD_UID, "metadata.uid")]
    return k8s.core.v1.ContainerArgs(
        name="bootstrap",
        image=spec.image,
        command=[f"{names.IMAGE_BIN_DIR}/{names.BOOTSTRAP_SCRIPT}"],
        env=env,
        resources=resource_requirements(spec.resources),
        security_context=container_security_context(),
        termination_message_policy="FallbackToLogsOnError",
        volume_mounts=[
            *walg_mounts(spec),
            k8s.core.v1.VolumeMountArgs(name=API_ACCESS_VOLUME, mount_path=API_ACCESS_DIR, read_only=True),
        ],
    )


def event_reporter_role(spec: InstanceSpec, labels: dict[str, str], opts: pulumi.ResourceOptions) -> None:
    """The primary's service account may create Events in its namespace, and nothing else."""
    name = f"{spec.name}-events"
    role = k8s.rbac.v1.Role(
        f"{name}-role",
        metadata=k8s.meta.v1.ObjectMetaArgs(name=name, namespace=spec.namespace, labels=labels),
        rules=[k8s.rbac.v1.PolicyRuleArgs(api_groups=[""], resources=["events"], verbs=["create"])],
        opts=opts,
    )
    k8s.rbac.v1.RoleBinding(
        f"{name}-binding",
        metadata=k8s.meta.v1.ObjectMetaArgs(name=name, namespace=spec.namespace, labels=labels),
        role_ref=k8s.rbac.v1.RoleRefArgs(api_group="rbac.authorization.k8s.io", kind="Role", name=role.metadata.name),
        subjects=[
            k8s.rbac.v1.SubjectArgs(kind="ServiceAccount", name=spec.archive.service_account, namespace=spec.namespace)
        ],
        opts=opts,
    )


def postgres_container(spec: InstanceSpec) -> k8s.core.v1.ContainerArgs:
    return k8s.core.v1.ContainerArgs(
        name="postgres",
        image=spec.image,
        # pgpitr's entrypoint initialises an empty volume, reconciles roles and grants on
        # every start, then runs postgres. Where to listen is the pod's business, so it is
        # an argument (the drill passes its own), not part of postgresql.conf.
        command=[f"{names.IMAGE_BIN_DIR}/{names.ENTRYPOINT_SCRIPT}"],
        args=["postgres", "-c", f"config_file={CONFIG_PATH}", "-c", "listen_addresses=*"],
        ports=[k8s.core.v1.ContainerPortArgs(name="postgres", container_port=kn.POSTGRES_PORT)],
        env=server_env(spec),
        resources=resource_requirements(spec.resources),
        security_context=container_security_context(),
        # Archives what it can before the server stops (docker/bin/pgpitr-pre-stop).
        lifecycle=k8s.core.v1.LifecycleArgs(
            pre_stop=k8s.core.v1.LifecycleHandlerArgs(
                exec_=k8s.core.v1.ExecActionArgs(command=[f"{names.IMAGE_BIN_DIR}/{names.PRE_STOP_SCRIPT}"])
            )
        ),
        startup_probe=pg_isready_probe(period=10, failures=max(1, spec.startup_seconds // 10)),
        readiness_probe=pg_isready_probe(period=10, failures=3),
        liveness_probe=pg_isready_probe(period=15, failures=6),
        volume_mounts=[
            *walg_mounts(spec),
            k8s.core.v1.VolumeMountArgs(name=kn.CONFIG_VOLUME, mount_path=names.IMAGE_CONFIG_DIR, read_only=True),
        ],
    )


def ready_timeouts(minutes: int | None) -> pulumi.CustomTimeouts | None:
    if minutes is None:
        return None
    return pulumi.CustomTimeouts(create=f"{minutes}m", update=f"{minutes}m")


def config_reloader_container(spec: InstanceSpec) -> k8s.core.v1.ContainerArgs:
    """Reloads the server when the kubelet updates postgresql.conf (docker/bin/pgpitr-config-reloader)."""
    return k8s.core.v1.ContainerArgs(
        name="config-reloader",
        image=spec.image,
        command=[f"{names.IMAGE_BIN_DIR}/{names.CONFIG_RELOADER_SCRIPT}", CONFIG_PATH],
        env=plain_env({names.POSTGRES_USER: names.SUPERUSER_ROLE}),
        resources=k8s.core.v1.ResourceRequirementsArgs(
            requests={"cpu": "5m", "memory": "16Mi"}, limits={"cpu": "100m", "memory": "64Mi"}
        ),
        security_context=container_security_context(),
        volume_mounts=[
            *scratch_mounts(),
            k8s.core.v1.VolumeMountArgs(name=kn.CONFIG_VOLUME, mount_path=names.IMAGE_CONFIG_DIR, read_only=True),
        ],
    )


class PostgresInstance(pulumi.ComponentResource):
    """`host` is the client Service's in-cluster DNS name."""

    host: pulumi.Output[str]

    def __init__(self, spec: InstanceSpec, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("pgpitr:index:PostgresInstance", spec.name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        name = spec.name
        role = kn.RESTORED_ROLE if spec.restore else kn.PRIMARY_ROLE
        labels = {**kn.labels(name, "database"), kn.ROLE_LABEL: role}
        selector = kn.selector(name)

        config = k8s.core.v1.ConfigMap(
            f"{name}-config",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=kn.config_map(name), namespace=spec.namespace, labels=labels),
            data={names.POSTGRESQL_CONF_FILE: spec.postgresql_conf.text},
            opts=child,
        )
        headless = k8s.core.v1.Service(
            f"{name}-headless",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=kn.headless_service(name), namespace=spec.namespace, labels=labels
            ),
            spec=k8s.core.v1.ServiceSpecArgs(
                cluster_ip="None",
                publish_not_ready_addresses=True,
                selector=selector,
                ports=[k8s.core.v1.ServicePortArgs(name="postgres", port=kn.POSTGRES_PORT, target_port="postgres")],
            ),
            opts=child,
        )
        client = k8s.core.v1.Service(
            f"{name}-client",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=name, namespace=spec.namespace, labels=labels),
            spec=k8s.core.v1.ServiceSpecArgs(
                type="ClusterIP",
                selector=selector,
                ports=[k8s.core.v1.ServicePortArgs(name="postgres", port=kn.POSTGRES_PORT, target_port="postgres")],
            ),
            opts=child,
        )

        # Only what a restart applies rolls the pod; the config reloader (a container of
        # the pod) reloads the server for the rest once the kubelet has updated the file.
        annotations = {kn.RESTART_SETTINGS_ANNOTATION: spec.postgresql_conf.restart_digest}
        init_containers = []
        pod_volumes = [*scratch_volumes(), *spec.archive.volumes, *spec.keys.volumes, *spec.extra_volumes]
        if spec.restore is not None:
            annotations[kn.RESTORE_TARGET_ANNOTATION] = spec.restore.target_summary
            init_containers.append(restore_init_container(spec, spec.restore))
        else:
            init_containers.append(bootstrap_init_container(spec))
            pod_volumes.append(api_access_volume())
            event_reporter_role(spec, labels, child)
        # A replacement of the primary's StatefulSet (a grown volume, `pulumi up --replace`)
        # orphans its pod and volume for the new one to adopt. A restored copy's goes with
        # its pod and volume: a new one is a new restore.
        statefulset_metadata_annotations = (
            {kn.RESTORE_TARGET_ANNOTATION: spec.restore.target_summary} if spec.restore else ORPHAN_ON_DELETE
        )
        volume_size = spec.volume_size if spec.volume_size is not None else spec.storage.size

        statefulset = k8s.apps.v1.StatefulSet(
            f"{name}-statefulset",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=name, namespace=spec.namespace, labels=labels, annotations=statefulset_metadata_annotations
            ),
            spec=k8s.apps.v1.StatefulSetSpecArgs(
                replicas=1,
                service_name=headless.metadata.name,
                selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector),
                # One pod; Parallel lets the controller replace a pod that never became
                # Ready when the template changes again (a revert), which OrderedReady
                # waits for forever.
                pod_management_policy="Parallel",
                update_strategy=k8s.apps.v1.StatefulSetUpdateStrategyArgs(type="RollingUpdate"),
                # The primary's volume outlives the StatefulSet; a restored copy's is
                # disposable and goes with it when the target changes.
                persistent_volume_claim_retention_policy=k8s.apps.v1.StatefulSetPersistentVolumeClaimRetentionPolicyArgs(
                    when_deleted="Delete" if spec.restore else "Retain", when_scaled="Retain"
                ),
                template=k8s.core.v1.PodTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(labels=labels, annotations=annotations),
                    spec=k8s.core.v1.PodSpecArgs(
                        service_account_name=spec.archive.service_account,
                        automount_service_account_token=False,
                        security_context=pod_security_context(),
                        termination_grace_period_seconds=STOP_GRACE_SECONDS,
                        init_containers=init_containers or None,
                        containers=[postgres_container(spec), config_reloader_container(spec), *spec.extra_containers],
                        volumes=[
                            k8s.core.v1.VolumeArgs(
                                name=kn.CONFIG_VOLUME,
                                config_map=k8s.core.v1.ConfigMapVolumeSourceArgs(name=config.metadata.name),
                            ),
                            *pod_volumes,
                        ],
                    ),
                ),
                volume_claim_templates=[
                    k8s.core.v1.PersistentVolumeClaimArgs(
                        metadata=k8s.meta.v1.ObjectMetaArgs(name=spec.data_claim, labels=labels),
                        spec=k8s.core.v1.PersistentVolumeClaimSpecArgs(
                            access_modes=["ReadWriteOnce"],
                            storage_class_name=spec.storage.storage_class,
                            resources=k8s.core.v1.VolumeResourceRequirementsArgs(requests={"storage": volume_size}),
                        ),
                    )
                ],
            ),
            # A replacement keeps the name, so the old StatefulSet must go first.
            opts=pulumi.ResourceOptions(
                parent=self, delete_before_replace=True, custom_timeouts=ready_timeouts(spec.ready_timeout_minutes)
            ),
        )
        if spec.restore is None:
            # The size as set, not as checked: it is known at preview, so the preview's
            # server-side dry run meets the API server's own refusal too.
            claim_size_patch(
                kn.statefulset_claim(spec.data_claim, name),
                spec.namespace,
                spec.storage.size,
                pulumi.ResourceOptions(parent=self, depends_on=[statefulset]),
            )
        self.host = pulumi.Output.concat(client.metadata.name, ".", spec.namespace, ".svc")
        self.register_outputs({"host": self.host})
