"""The exporter sidecar's image for the local stack, made from Debian's postgres_exporter.

The published sidecar image (pgpitr.versions.POSTGRES_EXPORTER_IMAGE, on quay.io) cannot
be pulled on this machine, so the local stack names this one through
`monitoring.exporterImage`: the program of Debian's `prometheus-postgres-exporter` at the
path the published image keeps it, the shared libraries it links, and a `nobody` user,
in one layer. It is the same exporter the end-to-end tests scrape (Debian's 0.11, the
published image is 0.20); both read the sidecar's environment and queries file.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Final

from cluster.config import EXPORTER_IMAGE_REPOSITORY, WorkDir
from cluster.runtime import ImageArchive, ImageFile, files_image
from cluster.state import ClusterError
from pgpitr import kubernetes_names as kn

DEBIAN_PACKAGE: Final = "prometheus-postgres-exporter"
PROGRAM: Final = Path("/usr/bin/prometheus-postgres-exporter")
IMAGE_PROGRAM: Final = "/bin/postgres_exporter"
"""Where the published image keeps it (its entrypoint)."""
NOBODY: Final = "65534"
_LDD_LIBRARY = re.compile(r"^\s*(?:\S+ => )?(/\S+) \(0x[0-9a-f]+\)$")


def shared_libraries(ldd_output: str) -> list[str]:
    """The absolute paths `ldd` names (the loader and every library; not the vDSO)."""
    return [match.group(1) for line in ldd_output.splitlines() if (match := _LDD_LIBRARY.match(line))]


def debian_version() -> str:
    result = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", DEBIAN_PACKAGE], capture_output=True, text=True)
    if result.returncode != 0 or not PROGRAM.is_file():
        raise ClusterError(f"{DEBIAN_PACKAGE} is not installed; run `make setup` (Debian package of that name)")
    return result.stdout.strip()


def image_tag(version: str) -> str:
    """A tag from a Debian version ("0.11.1-3+b5" -> "debian-0.11.1-3_b5")."""
    return "debian-" + re.sub(r"[^\w.-]", "_", version)


def exporter_image(work: WorkDir) -> ImageArchive:
    version = debian_version()
    ldd = subprocess.run(["ldd", str(PROGRAM)], capture_output=True, text=True)
    libraries = shared_libraries(ldd.stdout) if ldd.returncode == 0 else []  # a static program has none
    files = [ImageFile(IMAGE_PROGRAM, PROGRAM.read_bytes(), 0o755)]
    files += [ImageFile(library, Path(library).resolve().read_bytes(), 0o755) for library in libraries]
    files += [
        ImageFile("/etc/passwd", f"nobody:x:{NOBODY}:{NOBODY}:nobody:/nonexistent:/usr/sbin/nologin\n".encode()),
        ImageFile("/etc/group", f"nogroup:x:{NOBODY}:\n".encode()),
    ]
    config: dict[str, object] = {
        "Entrypoint": [IMAGE_PROGRAM],
        "User": f"{NOBODY}:{NOBODY}",
        "ExposedPorts": {f"{kn.EXPORTER_METRICS_PORT}/tcp": {}},
        "WorkingDir": "/",
    }
    return files_image(work, "postgres-exporter", f"{EXPORTER_IMAGE_REPOSITORY}:{image_tag(version)}", files, config)
