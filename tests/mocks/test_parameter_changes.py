"""A `postgresql` change rolls the primary's pod only when PostgreSQL needs a restart to
apply it; otherwise only postgresql.conf changes, and the pod's config-reloader reloads
the server. (tests/unit/test_parameter_values.py: which values are accepted.)"""

from __future__ import annotations

from typing import Any

from pgpitr import kubernetes_names as kn
from tests.mocks.harness import kubernetes_objects, run_program


def deployed(config: dict[str, Any], parameters: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The primary's pod template and its postgresql.conf for `parameters`."""
    objects = kubernetes_objects(run_program({**config, "pgpitr:postgresql": parameters}))
    (statefulset,) = [o for o in objects if o["kind"] == "StatefulSet" and o["metadata"]["name"] == "postgres"]
    (config_map,) = [
        o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"] == kn.config_map("postgres")
    ]
    return statefulset["spec"]["template"], config_map["data"]["postgresql.conf"]


def test_a_reload_only_change_leaves_the_pod_template_as_it_was(dev_config: dict[str, Any]) -> None:
    template, conf = deployed(dev_config, {"work_mem": "4MB"})
    new_template, new_conf = deployed(dev_config, {"work_mem": "64MB", "log_min_duration_statement": "250ms"})
    assert "work_mem = '64MB'" in new_conf and conf != new_conf
    assert new_template == template


def test_a_change_that_needs_a_restart_changes_the_template_once(dev_config: dict[str, Any]) -> None:
    template, _ = deployed(dev_config, {"work_mem": "4MB"})
    restarted, conf = deployed(dev_config, {"work_mem": "4MB", "shared_buffers": "512MB"})
    annotations = template["metadata"]["annotations"]
    assert (
        restarted["metadata"]["annotations"][kn.RESTART_SETTINGS_ANNOTATION]
        != annotations[kn.RESTART_SETTINGS_ANNOTATION]
    )
    assert "shared_buffers = '512MB'" in conf
    again, _ = deployed(dev_config, {"work_mem": "8MB", "shared_buffers": "512MB"})
    assert again == restarted


def test_the_pod_reloads_its_server_when_the_file_changes(dev_config: dict[str, Any]) -> None:
    template, _ = deployed(dev_config, {})
    reloader = next(c for c in template["spec"]["containers"] if c["name"] == "config-reloader")
    assert reloader["command"][0].endswith("/pgpitr-config-reloader")
    mounts = {m["name"]: m["mountPath"] for m in reloader["volumeMounts"]}
    assert mounts[kn.CONFIG_VOLUME] == reloader["command"][1].rsplit("/", 1)[0]
    assert kn.SOCKET_VOLUME in mounts, "it reaches the server over the pod's socket"
