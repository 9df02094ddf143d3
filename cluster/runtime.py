"""containerd with its own configuration, data and socket under the work dir, and the
images it runs, imported without a registry (../shared/CLUSTER.md, "Images without a
registry" and pitfall 1).

This machine's root lacks CAP_SYS_RESOURCE, so containerd must not set a negative
oom_score_adj (restrict_oom_score_adj); there is no systemd (cgroupfs); the sandbox
image is the pause program built from Kubernetes' source, in an OCI layout made here;
pulls from any registry go to a closed local port (containerd's proxy), so nothing is
fetched from outside.
"""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from cluster import oci_layout
from cluster.config import CONTAINERD_NAMESPACE, PAUSE_IMAGE_REPOSITORY, WorkDir
from cluster.state import ClusterError, write_if_changed
from harness.build_cache import ensure_folder

CNI_BIN_DIR: Final = Path("/usr/lib/cni")
CLOSED_REGISTRY: Final = "http://127.0.0.1:9"
"""containerd's proxy: a closed port on loopback."""
DISABLED_PLUGINS: Final = (
    "io.containerd.snapshotter.v1.aufs",
    "io.containerd.snapshotter.v1.btrfs",
    "io.containerd.snapshotter.v1.devmapper",
    "io.containerd.snapshotter.v1.zfs",
    "io.containerd.tracing.processor.v1.otlp",
    "io.containerd.internal.v1.tracing",
)
ARCHITECTURES: Final = {"x86_64": "amd64", "aarch64": "arm64"}


def containerd_dir_paths(work: WorkDir) -> dict[str, Path]:
    base = work.containerd_dir
    return {
        "root": base / "root",
        "state": base / "state",
        "runc": base / "runc",
        "opt": base / "opt",
    }


def containerd_config(work: WorkDir, sandbox_image: str) -> str:
    paths = containerd_dir_paths(work)
    cri = '[plugins."io.containerd.grpc.v1.cri"]'
    runc = '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]'
    disabled = ", ".join(f'"{plugin}"' for plugin in DISABLED_PLUGINS)
    return f"""# Written by `python -m cluster up`; see cluster/runtime.py.
version = 2
root = "{paths["root"]}"
state = "{paths["state"]}"
disabled_plugins = [{disabled}]

[grpc]
  address = "{work.containerd_socket}"

[ttrpc]
  address = ""

[debug]
  address = ""

[metrics]
  address = ""

[plugins]
  [plugins."io.containerd.internal.v1.opt"]
    path = "{paths["opt"]}"

  {cri}
    sandbox_image = "{sandbox_image}"
    restrict_oom_score_adj = true
    stream_server_address = "127.0.0.1"
    stream_server_port = "0"
    enable_selinux = false

    {cri[:-1]}.containerd]
      snapshotter = "overlayfs"
      default_runtime_name = "runc"

      {runc}
        runtime_type = "io.containerd.runc.v2"

        {runc[:-1]}.options]
          SystemdCgroup = false
          Root = "{paths["runc"]}"

    {cri[:-1]}.cni]
      bin_dir = "{CNI_BIN_DIR}"
      conf_dir = "{work.cni_conf_dir}"
      max_conf_num = 1
"""


def write_containerd_config(work: WorkDir, sandbox_image: str) -> Path:
    path = work.config / "containerd.toml"
    write_if_changed(path, containerd_config(work, sandbox_image))
    return path


def containerd_env() -> dict[str, str]:
    """Every registry request goes to a closed port on loopback (the CRI's HTTP client
    honours the proxy variables; containerd 1.6 has no catch-all registry setting: a
    `_default` hosts.toml is ignored), so a pull fails here and never leaves the machine,
    not even as a DNS query."""
    return {"HTTPS_PROXY": CLOSED_REGISTRY, "HTTP_PROXY": CLOSED_REGISTRY, "NO_PROXY": ""}


def containerd_argv(work: WorkDir, config: Path) -> list[str]:
    return [find_program("containerd"), "--config", str(config), "--log-level", "warn"]


def find_program(name: str) -> str:
    found = shutil.which(name, path="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
    if found is None:
        raise ClusterError(f"{name} is not installed (Debian packages containerd, runc, etcd-server, iptables)")
    return found


def ctr(work: WorkDir, *args: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    argv = [find_program("ctr"), "--address", str(work.containerd_socket), "--namespace", CONTAINERD_NAMESPACE, *args]
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise ClusterError(f"`ctr {' '.join(args)}` did not finish within {timeout:.0f}s") from None
    if check and result.returncode != 0:
        message = (result.stderr.strip() or "no output").splitlines()[-1]
        raise ClusterError(f"`ctr {' '.join(args)}` failed: {message}")
    return result


def containerd_ready(work: WorkDir) -> bool:
    """containerd answers and its CRI plugin loaded (a bad CRI setting leaves it in error)."""
    if not work.containerd_socket.exists():
        return False
    result = ctr(work, "plugins", "ls", check=False, timeout=10)
    if result.returncode != 0:
        return False
    for line in result.stdout.splitlines():
        fields = line.split()
        if len(fields) >= 4 and fields[0] == "io.containerd.grpc.v1" and fields[1] == "cri":
            if fields[-1] != "ok":
                raise ClusterError(f"containerd's CRI plugin did not load ({fields[-1]}); see its log")
            return True
    return False


# --- Images ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ImageArchive:
    name: str
    """repository:tag, as index.json names it for containerd."""
    digest: str
    """The manifest's digest."""
    archive: Path

    @property
    def ref(self) -> str:
        return f"{self.name.rsplit(':', 1)[0]}@{self.digest}"


def architecture() -> str:
    machine = platform.machine()
    if machine not in ARCHITECTURES:
        raise ClusterError(f"no known OCI architecture for {machine}")
    return ARCHITECTURES[machine]


@dataclass(frozen=True)
class ImageFile:
    """One file of a small image made from files of this machine."""

    path: str
    """Where it is in the image, absolute."""
    content: bytes
    mode: int = 0o644


def files_image(
    work: WorkDir, cache_name: str, name: str, files: Sequence[ImageFile], config: dict[str, object]
) -> ImageArchive:
    """An image of one layer holding just `files` (cached under the work dir by a digest
    of them and the config; older versions of `cache_name` are removed)."""
    digest = hashlib.sha256(repr(sorted(config.items())).encode() + name.encode())
    for file in sorted(files, key=lambda f: f.path):
        digest.update(f"{file.path}\0{file.mode}\0".encode() + file.content)
    directory = work.images / f"{cache_name}-{digest.hexdigest()[:16]}"
    result = directory / "digest"

    def make(partial: Path) -> None:
        rootfs = partial / "rootfs"
        rootfs.mkdir(parents=True)
        for file in files:
            target = rootfs / file.path.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(file.content)
            target.chmod(file.mode)
        for path in [*sorted(rootfs.rglob("*"), reverse=True), rootfs]:
            os.utime(path, (0, 0))  # the same files make the same layer, so the same digest
        full_config = {"architecture": architecture(), "os": "linux", "config": config}
        try:
            layout = oci_layout.write_layout(rootfs, full_config, name, partial / "layout")
            oci_layout.write_archive(layout.path, partial / "image.tar")
        except oci_layout.LayoutError as error:
            raise ClusterError(str(error)) from None
        shutil.rmtree(rootfs)
        (partial / "digest").write_text(layout.manifest_digest + "\n")

    if ensure_folder(directory, make, lambda folder: (folder / "digest").is_file()):
        for stale in work.images.glob(f"{cache_name}-*"):
            if stale != directory:
                shutil.rmtree(stale, ignore_errors=True)
    return ImageArchive(name, result.read_text().strip(), directory / "image.tar")


def pause_image(work: WorkDir, pause_binary: Path, version: str) -> ImageArchive:
    """The pause program as an image of one layer."""
    return files_image(
        work,
        "pause",
        f"{PAUSE_IMAGE_REPOSITORY}:{version}",
        [ImageFile("/pause", pause_binary.read_bytes(), 0o755)],
        {"Entrypoint": ["/pause"], "User": "65535:65535", "WorkingDir": "/"},
    )


def imported_images(work: WorkDir) -> dict[str, str]:
    """Name -> manifest digest of the images containerd has in its Kubernetes namespace."""
    found = {}
    for line in ctr(work, "images", "ls").stdout.splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 3:
            found[fields[0]] = fields[2]
    return found


def ensure_image(work: WorkDir, image: ImageArchive, aliases: Sequence[str] = ()) -> bool:
    """Imports the archive unless containerd has that name at that digest; True if it did.

    The image also gets the name `repository@digest`: the CRI resolves a pod's image given
    by digest (what `image.ref` is) only through such a name, which a pull creates and
    `ctr images import` does not. Each of `aliases` (repository:tag) is pointed at it too."""
    found = imported_images(work)
    imported = False
    if found.get(image.name) != image.digest:
        ctr(work, "images", "import", str(image.archive), timeout=900)
        found = imported_images(work)
        if found.get(image.name) != image.digest:
            raise ClusterError(
                f"importing {image.archive} left {image.name} at {found.get(image.name)}, expected {image.digest}"
            )
        imported = True
    for name in (image.ref, *aliases):
        if found.get(name) != image.digest:
            ctr(work, "images", "rm", name, check=False)
            ctr(work, "images", "tag", image.name, name)
    return imported


def remove_all_containers(work: WorkDir) -> list[str]:
    """Kills and deletes every task and container of the Kubernetes namespace (what
    kubelet left); returns their ids."""
    tasks = ctr(work, "tasks", "ls", "-q", check=False).stdout.split()
    for task in tasks:
        ctr(work, "tasks", "delete", "--force", task, check=False, timeout=60)
    containers = ctr(work, "containers", "ls", "-q", check=False).stdout.split()
    for container in containers:
        ctr(work, "containers", "delete", container, check=False, timeout=60)
    return sorted(set(tasks) | set(containers))
