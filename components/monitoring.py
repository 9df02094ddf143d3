"""The PodMonitor that scrapes the exporter sidecars and the PrometheusRule with pgpitr's
alerts (prometheus-operator's monitoring.coreos.com/v1)."""

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.exporter_sidecar import METRICS_PORT
from pgpitr import kubernetes_names as kn
from pgpitr.monitoring.alert_rules import EXPORTER_JOB_SUFFIX, INSTANCE_LABEL
from pgpitr.settings.monitoring import MonitoringSettings


class Monitoring(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        namespace: pulumi.Input[str],
        primary: str,
        settings: MonitoringSettings,
        rule_groups: list[dict[str, Any]],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("pgpitr:index:Monitoring", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        labels = {**kn.labels(primary, "monitoring"), **settings.rule_labels}
        k8s.apiextensions.CustomResource(
            f"{name}-podmonitor",
            api_version="monitoring.coreos.com/v1",
            kind="PodMonitor",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=EXPORTER_JOB_SUFFIX, namespace=namespace, labels=labels),
            spec={
                # Database pods only (primary and restored), not the jobs' pods.
                "selector": {"matchLabels": {kn.APP_LABEL: "postgresql", kn.COMPONENT_LABEL: "database"}},
                "podMetricsEndpoints": [
                    {
                        "port": "metrics",
                        "interval": "30s",
                        "relabelings": [
                            {
                                "sourceLabels": ["__meta_kubernetes_pod_label_app_kubernetes_io_instance"],
                                "targetLabel": INSTANCE_LABEL,
                            }
                        ],
                    }
                ],
            },
            opts=child,
        )
        k8s.apiextensions.CustomResource(
            f"{name}-rules",
            api_version="monitoring.coreos.com/v1",
            kind="PrometheusRule",
            metadata=k8s.meta.v1.ObjectMetaArgs(name="pgpitr", namespace=namespace, labels=labels),
            spec={"groups": rule_groups},
            opts=child,
        )
        self.metrics_port = METRICS_PORT
        self.register_outputs({})
