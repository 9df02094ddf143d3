"""The Pulumi CLI as the cluster's users run it: links to it and to kubectl in the work
dir's bin/, the Kubernetes provider installed from its build (the CLI never downloads a
plugin), a local file backend, and the environment (`cluster env`) that points at them."""

from __future__ import annotations

import os
import shlex
import subprocess
from typing import Final

from cluster.config import PULUMI_PASSPHRASE, WorkDir
from cluster.parts import Parts, built_parts
from cluster.state import ClusterError, Progress
from cluster.versions import CLUSTER_PULUMI_KUBERNETES
from harness.text import last_line

PULUMI_LINKS: Final = ("pulumi", "pulumi-language-python", "pulumi-language-python-exec")


def pulumi_env(work: WorkDir) -> dict[str, str]:
    return {
        "KUBECONFIG": str(work.admin_kubeconfig),
        "PULUMI_HOME": str(work.pulumi_home),
        "PULUMI_BACKEND_URL": f"file://{work.pulumi_backend}",
        "PULUMI_CONFIG_PASSPHRASE": PULUMI_PASSPHRASE,
        "PULUMI_IGNORE_AMBIENT_PLUGINS": "true",
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
        "PULUMI_SKIP_UPDATE_CHECK": "true",
    }


def link_programs(work: WorkDir, parts: Parts) -> None:
    targets = {"kubectl": parts.kubernetes("kubectl")}
    if parts.pulumi_dir is not None:
        targets |= {name: parts.pulumi_dir / name for name in PULUMI_LINKS}
    work.bin.mkdir(parents=True, exist_ok=True)
    for name, target in targets.items():
        link = work.bin / name
        if not target.exists():
            continue
        if link.is_symlink() and link.readlink() == target:
            continue
        link.unlink(missing_ok=True)
        link.symlink_to(target)


def ensure_pulumi(work: WorkDir, parts: Parts, progress: Progress) -> None:
    """The links, the Kubernetes provider installed in the work dir's PULUMI_HOME, and the
    local backend's directory."""
    link_programs(work, parts)
    work.pulumi_backend.mkdir(parents=True, exist_ok=True)
    if parts.pulumi_dir is None or parts.kubernetes_provider is None:
        progress.step("Pulumi CLI or its Kubernetes provider not built yet: skipped the provider plugin")
        return
    version = CLUSTER_PULUMI_KUBERNETES.version
    installed = work.pulumi_home / "plugins" / f"resource-kubernetes-v{version}" / "pulumi-resource-kubernetes"
    if installed.is_file():
        progress.step(f"Pulumi Kubernetes provider {version} installed in {work.pulumi_home}")
        return
    argv = [str(parts.pulumi_dir / "pulumi"), "plugin", "install", "resource", "kubernetes", version]
    argv += ["--file", str(parts.kubernetes_provider)]
    env = {**os.environ, **pulumi_env(work)}
    result = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=600)
    if result.returncode != 0 or not installed.is_file():
        raise ClusterError(f"`pulumi plugin install` failed: {last_line(result.stderr + result.stdout)}")
    progress.step(f"Pulumi Kubernetes provider {version} installed in {work.pulumi_home}")


def env_exports(work: WorkDir) -> str:
    """Shell exports for `eval "$(python -m cluster env)"`."""
    parts = built_parts(required=False)
    work.pulumi_backend.mkdir(parents=True, exist_ok=True)
    work.pulumi_home.mkdir(parents=True, exist_ok=True)
    if parts.kubernetes("kubectl").exists():
        link_programs(work, parts)
    lines = [f"export {name}={shlex.quote(value)}" for name, value in pulumi_env(work).items()]
    lines.append(f'export PATH={shlex.quote(str(work.bin))}:"$PATH"')
    return "\n".join(lines) + "\n"
