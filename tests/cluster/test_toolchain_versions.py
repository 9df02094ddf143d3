"""The cluster's built programs run and report the pinned versions. Whatever is not in
the cache is built first (a cold build takes many minutes on two cores): a missing
program fails these tests, it never skips them. Marked `cluster` like the other tests of
the local cluster: `make cluster-test` runs them, the plain `pytest` deselects them."""

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from cluster import toolchain
from cluster.versions import (
    CLUSTER_COREDNS,
    CLUSTER_KUBERNETES,
    CLUSTER_MONITORING_CRDS,
    CLUSTER_PULUMI,
    CLUSTER_PULUMI_KUBERNETES,
)

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(3600)]


@pytest.fixture(scope="module")
def built() -> dict[str, Path]:
    try:
        return toolchain.build_all()
    except toolchain.ToolchainError as error:
        pytest.fail(str(error), pytrace=False)


def output(*command: str | Path, env: dict[str, str] | None = None) -> str:
    return subprocess.run(
        [str(part) for part in command], capture_output=True, text=True, check=True, timeout=120, env=env
    ).stdout


def test_kubernetes_programs_report_the_release(built: dict[str, Path]) -> None:
    directory = built["kubernetes"]
    for command in CLUSTER_KUBERNETES.commands:
        if command != "kubectl":
            assert output(directory / command, "--version") == f"Kubernetes {CLUSTER_KUBERNETES.version}\n", command
    client = json.loads(output(directory / "kubectl", "version", "--client", "-o", "json"))["clientVersion"]
    major, minor, _ = CLUSTER_KUBERNETES.version.removeprefix("v").split(".")
    assert (client["gitVersion"], client["major"], client["minor"]) == (CLUSTER_KUBERNETES.version, major, minor)


def test_pause_reports_its_version(built: dict[str, Path]) -> None:
    expected = f"pause.c v{CLUSTER_KUBERNETES.pause_version}-{CLUSTER_KUBERNETES.version}\n"
    assert output(built["pause"] / "pause", "-v") == expected


def test_coredns_reports_the_release(built: dict[str, Path]) -> None:
    first_line = output(built["coredns"] / "coredns", "-version").splitlines()[0]
    assert first_line == f"CoreDNS-{CLUSTER_COREDNS.version.removeprefix('v')}"


def test_pulumi_cli_and_language_host_report_the_release(built: dict[str, Path]) -> None:
    directory = built["pulumi"]
    assert output(directory / "pulumi", "version") == f"{CLUSTER_PULUMI.version}\n"
    # The host is the 3.259.0 source built against the CLI's SDK, whose version it reports.
    assert output(directory / "pulumi-language-python", "-version") == f"{CLUSTER_PULUMI.version}\n"
    assert os.access(directory / "pulumi-language-python-exec", os.X_OK)


def test_kubernetes_provider_serves_its_schema_to_the_cli(built: dict[str, Path], tmp_path: Path) -> None:
    """The real CLI starts the provider and asks for its schema, which carries the version."""
    env = {
        **os.environ,
        "PULUMI_HOME": str(tmp_path / "pulumi-home"),
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PATH": f"{built['pulumi']}{os.pathsep}{os.environ['PATH']}",
    }
    provider = built["pulumi-kubernetes"] / "pulumi-resource-kubernetes"
    schema = json.loads(output(built["pulumi"] / "pulumi", "package", "get-schema", provider, env=env))
    assert (schema["name"], schema["version"]) == ("kubernetes", CLUSTER_PULUMI_KUBERNETES.version)


def test_monitoring_crds_define_the_kinds_pgpitr_deploys(built: dict[str, Path]) -> None:
    """controller-gen of the pinned release made one v1 CRD for each kind components/monitoring.py uses."""
    directory = built["monitoring-crds"]
    assert (directory / "controller-gen.version").read_text().strip() == (
        f"Version: {CLUSTER_MONITORING_CRDS.controller_tools_version}"
    )
    kinds = {}
    for name in CLUSTER_MONITORING_CRDS.file_names():
        crd = yaml.safe_load((directory / name).read_text())
        assert crd["kind"] == "CustomResourceDefinition"
        assert crd["spec"]["group"] == CLUSTER_MONITORING_CRDS.group
        assert [version["name"] for version in crd["spec"]["versions"]] == ["v1"]
        kinds[crd["spec"]["names"]["plural"]] = crd["spec"]["names"]["kind"]
    assert kinds == {"podmonitors": "PodMonitor", "prometheusrules": "PrometheusRule"}
