"""The postgres_exporter sidecar: logs in as the monitoring role (pg_monitor) over
loopback and adds the WAL backlog and backup queries."""

import pulumi
import pulumi_kubernetes as k8s

from components.database_credentials import DatabaseCredentials
from components.pod_parts import container_security_context, plain_env
from pgpitr import kubernetes_names as kn
from pgpitr.monitoring.alert_rules import exporter_queries
from pgpitr_runtime import names

QUERIES_VOLUME = "exporter-queries"
QUERIES_DIR = "/etc/postgres-exporter"
QUERIES_FILE = "queries.yaml"
METRICS_PORT = kn.EXPORTER_METRICS_PORT


def queries_config_map(
    instance: str, namespace: pulumi.Input[str], opts: pulumi.ResourceOptions
) -> k8s.core.v1.ConfigMap:
    return k8s.core.v1.ConfigMap(
        f"{instance}-exporter-queries",
        metadata=k8s.meta.v1.ObjectMetaArgs(
            name=f"{instance}-exporter-queries", namespace=namespace, labels=kn.labels(instance, "monitoring")
        ),
        data={QUERIES_FILE: exporter_queries()},
        opts=opts,
    )


def exporter_container(passwords: DatabaseCredentials, image: str) -> k8s.core.v1.ContainerArgs:
    env = plain_env(
        {
            "DATA_SOURCE_URI": f"127.0.0.1:{kn.POSTGRES_PORT}/postgres?sslmode=disable",
            "DATA_SOURCE_USER": names.MONITOR_ROLE,
            "PG_EXPORTER_EXTEND_QUERY_PATH": f"{QUERIES_DIR}/{QUERIES_FILE}",
        }
    )
    env.append(passwords.env("DATA_SOURCE_PASS", kn.MONITOR_PASSWORD_KEY))
    probe = k8s.core.v1.ProbeArgs(
        http_get=k8s.core.v1.HTTPGetActionArgs(path="/", port="metrics"), period_seconds=30, failure_threshold=4
    )
    return k8s.core.v1.ContainerArgs(
        name="exporter",
        image=image,
        env=env,
        ports=[k8s.core.v1.ContainerPortArgs(name="metrics", container_port=METRICS_PORT)],
        resources=k8s.core.v1.ResourceRequirementsArgs(
            requests={"cpu": "10m", "memory": "32Mi"}, limits={"cpu": "200m", "memory": "128Mi"}
        ),
        security_context=container_security_context(),
        liveness_probe=probe,
        volume_mounts=[k8s.core.v1.VolumeMountArgs(name=QUERIES_VOLUME, mount_path=QUERIES_DIR, read_only=True)],
    )


def exporter_volume(config_map: k8s.core.v1.ConfigMap) -> k8s.core.v1.VolumeArgs:
    return k8s.core.v1.VolumeArgs(
        name=QUERIES_VOLUME, config_map=k8s.core.v1.ConfigMapVolumeSourceArgs(name=config_map.metadata.name)
    )
