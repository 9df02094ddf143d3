"""Monitoring under mocks: the exporter sidecar, the PodMonitor, the PrometheusRule with
its labels and runbook links, and nothing of it when monitoring is disabled."""

import re
from pathlib import Path
from typing import Any

from pgpitr.monitoring.alert_rules import exporter_queries
from pgpitr.versions import POSTGRES_EXPORTER_IMAGE
from tests.mocks.harness import Recorded, containers, env_of, kubernetes_objects, run_program

RUNBOOK = Path(__file__).resolve().parents[2] / "docs" / "runbook.md"


def of_kind(recorded: Recorded, kind: str) -> list[dict[str, Any]]:
    return [o for o in kubernetes_objects(recorded) if o["kind"] == kind]


def github_anchors(markdown: str) -> set[str]:
    """Anchors GitHub generates for headings: lower case, punctuation dropped, spaces to '-'."""
    anchors = set()
    for heading in re.findall(r"^#+ (.+)$", markdown, re.MULTILINE):
        anchors.add(re.sub(r"[^a-z0-9 _-]", "", heading.strip().lower()).replace(" ", "-"))
    return anchors


def test_exporter_sidecar_in_the_primary(dev_config: dict[str, Any]) -> None:
    recorded = run_program(dev_config)
    (statefulset,) = [s for s in of_kind(recorded, "StatefulSet") if s["metadata"]["name"] == "postgres"]
    pod = statefulset["spec"]["template"]["spec"]
    exporter = containers(pod)["exporter"]
    env = env_of(exporter)
    assert env["DATA_SOURCE_USER"] == "pgpitr_monitor"
    assert env["DATA_SOURCE_PASS"] == {"secret": "postgres-credentials", "key": "monitor-password"}
    assert env["DATA_SOURCE_URI"].startswith("127.0.0.1:5432/")
    assert env["PG_EXPORTER_EXTEND_QUERY_PATH"] == "/etc/postgres-exporter/queries.yaml"
    assert exporter["ports"] == [{"name": "metrics", "containerPort": 9187}]
    assert exporter["securityContext"]["runAsNonRoot"] is True
    queries = [c for c in of_kind(recorded, "ConfigMap") if c["metadata"]["name"] == "postgres-exporter-queries"]
    assert queries[0]["data"]["queries.yaml"] == exporter_queries()


def test_exporter_image_is_pinned_or_the_one_configured(dev_config: dict[str, Any]) -> None:
    def exporter_images(recorded: Recorded) -> set[str]:
        pods = [s["spec"]["template"]["spec"] for s in of_kind(recorded, "StatefulSet")]
        return {containers(pod)["exporter"]["image"] for pod in pods}

    dev_config["pgpitr:restore"] = {"enabled": True, "target": {"latest": True}}
    assert exporter_images(run_program(dev_config)) == {POSTGRES_EXPORTER_IMAGE}
    mirrored = "registry.example.com/mirror/postgres-exporter@sha256:" + "a" * 64
    dev_config["pgpitr:monitoring"] = {"exporterImage": mirrored}
    assert exporter_images(run_program(dev_config)) == {mirrored}


def test_exporter_sidecar_in_the_restored_instance(dev_config: dict[str, Any]) -> None:
    dev_config["pgpitr:restore"] = {"enabled": True, "target": {"latest": True}}
    recorded = run_program(dev_config)
    restored = [s for s in of_kind(recorded, "StatefulSet") if s["metadata"]["name"] == "postgres-restored"]
    assert "exporter" in containers(restored[0]["spec"]["template"]["spec"])


def test_podmonitor_and_rules_carry_the_rule_labels(dev_config: dict[str, Any]) -> None:
    dev_config["pgpitr:monitoring"] = {"ruleLabels": {"release": "prom", "team": "db"}}
    recorded = run_program(dev_config)
    (podmonitor,) = of_kind(recorded, "PodMonitor")
    (rule,) = of_kind(recorded, "PrometheusRule")
    for obj in (podmonitor, rule):
        assert obj["apiVersion"] == "monitoring.coreos.com/v1"
        assert {"release": "prom", "team": "db"}.items() <= obj["metadata"]["labels"].items()
    assert podmonitor["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"] == "database"
    endpoint = podmonitor["spec"]["podMetricsEndpoints"][0]
    assert endpoint["port"] == "metrics"
    assert endpoint["relabelings"][0]["targetLabel"] == "pgpitr_instance"


def test_every_alert_is_documented_and_linked(dev_config: dict[str, Any]) -> None:
    (rule,) = of_kind(run_program(dev_config), "PrometheusRule")
    anchors = github_anchors(RUNBOOK.read_text())
    alerts = [r for g in rule["spec"]["groups"] for r in g["rules"]]
    assert len(alerts) >= 6
    for alert in alerts:
        assert alert["labels"]["severity"] in ("critical", "warning")
        assert alert["annotations"]["summary"] and alert["annotations"]["description"]
        url = alert["annotations"]["runbook_url"]
        assert url.split("#")[0].endswith("docs/runbook.md")
        assert url.split("#")[1] in anchors, f"{alert['alert']}: no section #{url.split('#')[1]} in the runbook"


def test_archive_lag_and_backup_age_come_from_config(dev_config: dict[str, Any]) -> None:
    dev_config["pgpitr:monitoring"] = {"archiveLagSeconds": 900, "backupMaxAgeHours": 50}
    (rule,) = of_kind(run_program(dev_config), "PrometheusRule")
    by_name = {r["alert"]: r for g in rule["spec"]["groups"] for r in g["rules"]}
    assert "> 900" in by_name["PgpitrWalArchiveBacklog"]["expr"]
    assert f"> {50 * 3600}" in by_name["PgpitrBaseBackupTooOld"]["expr"]


def test_disabled_monitoring_leaves_it_all_out(dev_config: dict[str, Any]) -> None:
    dev_config["pgpitr:monitoring"] = {"enabled": False}
    recorded = run_program(dev_config)
    assert not of_kind(recorded, "PodMonitor") and not of_kind(recorded, "PrometheusRule")
    (statefulset,) = of_kind(recorded, "StatefulSet")
    assert set(containers(statefulset["spec"]["template"]["spec"])) == {"bootstrap", "postgres", "config-reloader"}
    assert not [c for c in of_kind(recorded, "ConfigMap") if "exporter" in c["metadata"]["name"]]
