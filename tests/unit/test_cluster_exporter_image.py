"""The exporter sidecar's local image: Debian's postgres_exporter at the published image's
path, with the libraries `ldd` names and a `nobody` user, as an OCI layout containerd can
import; it runs on its own (the program and its loader are all it needs)."""

import json
import subprocess
import tarfile
from pathlib import Path

from cluster import exporter_image
from cluster.config import EXPORTER_IMAGE_REPOSITORY, WorkDir
from pgpitr import kubernetes_names as kn
from tests.requirements import require_program

LDD_OUTPUT = """\tlinux-vdso.so.1 (0x00007ffd2d5f0000)
\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f44ca897000)
\t/lib64/ld-linux-x86-64.so.2 (0x00007f44caa8c000)
"""


def test_ldd_output_gives_the_loader_and_libraries_not_the_vdso() -> None:
    assert exporter_image.shared_libraries(LDD_OUTPUT) == [
        "/lib/x86_64-linux-gnu/libc.so.6",
        "/lib64/ld-linux-x86-64.so.2",
    ]
    assert exporter_image.shared_libraries("\tnot a dynamic executable\n") == []


def test_debian_versions_become_valid_tags() -> None:
    assert exporter_image.image_tag("0.11.1-3+b5") == "debian-0.11.1-3_b5"
    assert exporter_image.image_tag("1:2.0~rc1") == "debian-1_2.0_rc1"


def layer_members(layout: Path) -> tuple[dict[str, object], list[tarfile.TarInfo]]:
    index = json.loads((layout / "index.json").read_text())
    blobs = layout / "blobs" / "sha256"
    manifest = json.loads((blobs / index["manifests"][0]["digest"].split(":")[1]).read_text())
    config = json.loads((blobs / manifest["config"]["digest"].split(":")[1]).read_text())
    with tarfile.open(blobs / manifest["layers"][0]["digest"].split(":")[1]) as layer:
        return config, layer.getmembers()


def test_the_image_holds_the_exporter_that_runs_from_it(tmp_path: Path) -> None:
    require_program(exporter_image.PROGRAM.name, "run `make setup` (Debian package prometheus-postgres-exporter)")
    work = WorkDir(tmp_path / "work")
    work.images.mkdir(parents=True)
    built = exporter_image.exporter_image(work)
    assert built.name.startswith(f"{EXPORTER_IMAGE_REPOSITORY}:debian-")
    assert exporter_image.exporter_image(work) == built, "a second call reuses the cached image"
    elsewhere = WorkDir(tmp_path / "elsewhere")
    elsewhere.images.mkdir(parents=True)
    assert exporter_image.exporter_image(elsewhere).digest == built.digest, "the same files, the same digest"
    with tarfile.open(built.archive) as archive:
        archive.extractall(tmp_path / "layout", filter="data")
    config, members = layer_members(tmp_path / "layout")
    assert config["config"] == {
        "Entrypoint": [exporter_image.IMAGE_PROGRAM],
        "User": "65534:65534",
        "ExposedPorts": {f"{kn.EXPORTER_METRICS_PORT}/tcp": {}},
        "WorkingDir": "/",
    }
    names = {member.name.removeprefix("./") for member in members}
    assert {"bin/postgres_exporter", "etc/passwd", "etc/group"} <= names
    # The image's files alone run the program: its loader and libraries are in it.
    layer = tmp_path / "layer"
    layer.mkdir()
    blobs = tmp_path / "layout" / "blobs" / "sha256"
    largest = max(blobs.iterdir(), key=lambda blob: blob.stat().st_size)
    with tarfile.open(largest) as tar:
        tar.extractall(layer, filter="data")
    libraries = exporter_image.shared_libraries(
        subprocess.run(["ldd", str(exporter_image.PROGRAM)], capture_output=True, text=True).stdout
    )
    loader = next(library for library in libraries if "ld-linux" in library)
    library_path = ":".join(sorted({str(layer / Path(library).parent.relative_to("/")) for library in libraries}))
    result = subprocess.run(
        [
            str(layer / loader.lstrip("/")),
            "--library-path",
            library_path,
            str(layer / "bin/postgres_exporter"),
            "--version",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert "postgres_exporter" in result.stdout + result.stderr
