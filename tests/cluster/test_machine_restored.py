"""`cluster up` and `cluster down` leave this machine exactly as they found it.

Runs the real harness as root: a snapshot of the machine (kernel settings kubelet and the
bridge change, links, addresses, routes, iptables chains and rules, nftables tables,
mounts, the directories kubelet creates outside the work dir, cgroups, listening sockets,
network namespaces) before `up`, the API server refusing a malformed PrometheusRule
(the CRDs `up` installs), a pod that checks the pod network, a second `up` that
must change nothing, then `down`, and the same snapshot, which must be equal.

Marked `cluster`: the normal `pytest` deselects it (pyproject's addopts); `make
cluster-test` runs it with `-m cluster`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

from cluster import snapshot
from cluster.config import BRIDGE
from harness.paths import REPOSITORY_ROOT

pytestmark = pytest.mark.cluster

COMMAND_TIMEOUT = 1800
"""A cold `up` builds pgpitr's image (debootstrap) when it is not cached."""


def run_cluster(work: Path, *args: str) -> tuple[int, dict[str, Any], str]:
    result = subprocess.run(
        [sys.executable, "-m", "cluster", "--dir", str(work), *args],
        cwd=REPOSITORY_ROOT,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
    )
    try:
        output: dict[str, Any] = json.loads(result.stdout)
    except ValueError:
        output = {"ok": False, "stdout": result.stdout[-2000:]}
    return result.returncode, output, result.stderr


def prometheus_rule(duration: str) -> dict[str, Any]:
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "validation-check", "namespace": "default"},
        "spec": {"groups": [{"name": "g", "rules": [{"alert": "A", "expr": "vector(1)", "for": duration}]}]},
    }


def assert_monitoring_objects_are_validated(kubectl: Path, kubeconfig: Path) -> None:
    """The CRDs `up` installs make the API server check pgpitr's monitoring objects: a
    PrometheusRule with a malformed duration is refused, a well-formed one accepted."""

    def server_dry_run(manifest: dict[str, Any]) -> subprocess.CompletedProcess[str]:
        argv = [str(kubectl), "--kubeconfig", str(kubeconfig), "apply", "--dry-run=server", "--filename=-"]
        return subprocess.run(argv, input=json.dumps(manifest), capture_output=True, text=True, timeout=60)

    accepted = server_dry_run(prometheus_rule("10m"))
    assert accepted.returncode == 0, accepted.stderr
    refused = server_dry_run(prometheus_rule("ten minutes"))
    assert refused.returncode != 0 and "spec.groups[0].rules[0].for" in refused.stderr, refused.stderr


@pytest.mark.timeout(2 * COMMAND_TIMEOUT)
def test_up_then_down_leaves_the_machine_as_it_was() -> None:
    assert os.geteuid() == 0, "the cluster harness needs root"
    before = snapshot.take()
    assert not any(link.startswith(f"{BRIDGE} ") for link in before["links"]), (
        f"a bridge {BRIDGE} exists already (a cluster is running?): run `python -m cluster down` first"
    )
    # Short (unix sockets live in it; pytest's tmp_path is too long), removed at the end.
    work = Path(tempfile.mkdtemp(prefix="pgpitr-cluster-", dir="/tmp"))
    try:
        code, up, log = run_cluster(work, "up")
        assert code == 0 and up["ok"] and up["nodes_ready"], f"cluster up failed: {up}\n{log[-3000:]}"
        assert up["image"], "cluster up imported no pgpitr image"

        assert_monitoring_objects_are_validated(work / "bin" / "kubectl", Path(up["kubeconfig"]))

        code, smoke, log = run_cluster(work, "smoke")
        assert code == 0 and smoke["ok"], f"the smoke pod failed: {smoke}\n{log[-2000:]}"

        code, again, log = run_cluster(work, "up")
        assert code == 0 and again["ok"], f"a second cluster up failed: {again}\n{log[-3000:]}"
        pids = {name: entry["pid"] for name, entry in up["processes"].items()}
        assert {name: entry["pid"] for name, entry in again["processes"].items()} == pids, (
            "a second `cluster up` restarted programs that were running"
        )
    finally:
        down_code, down, down_log = run_cluster(work, "down")
    assert down_code == 0 and down["ok"], f"cluster down failed: {down}\n{down_log[-3000:]}"
    assert not down.get("strays_stopped"), f"processes were left after stopping the recorded ones: {down}"

    shutil.rmtree(work)

    after = snapshot.take()
    assert snapshot.differences(before, after) == {}, "the machine differs after `cluster down`"
