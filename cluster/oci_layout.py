"""OCI image layouts written by hand, for containerd without a registry.

`write_layout` turns a root file system into an image of one uncompressed layer (made
with `tar --numeric-owner`) in an OCI image layout: oci-layout, index.json, and the
config, manifest and layer as blobs named by their sha256. index.json names the image
for containerd (`io.containerd.image.name`, the full "repository:tag") and by tag for
other OCI tools. `write_archive` makes the one tar of it that
`ctr -n k8s.io images import` reads. Any image of this cluster can be made this way;
name it `localhost/...` so the CRI does not rewrite the name to a docker.io one.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

OCI_LAYOUT_VERSION: Final = "1.0.0"
INDEX_MEDIA_TYPE: Final = "application/vnd.oci.image.index.v1+json"
MANIFEST_MEDIA_TYPE: Final = "application/vnd.oci.image.manifest.v1+json"
CONFIG_MEDIA_TYPE: Final = "application/vnd.oci.image.config.v1+json"
LAYER_MEDIA_TYPE: Final = "application/vnd.oci.image.layer.v1.tar"
IMAGE_NAME_ANNOTATION: Final = "io.containerd.image.name"
REF_NAME_ANNOTATION: Final = "org.opencontainers.image.ref.name"

LAYER_EXCLUDES: Final = ("./dev/*", "./proc/*", "./sys/*")
"""Filled by the container runtime; whatever a build left there stays out of the layer."""


class LayoutError(RuntimeError):
    """Writing the layout failed; the message is one line saying why."""


@dataclass(frozen=True)
class Layout:
    path: Path
    manifest_digest: str
    """"sha256:..." of the manifest: `repository@<this>` names the image by content."""
    layer_digest: str
    layer_size: int


def canonical_json(document: Mapping[str, Any]) -> bytes:
    """The bytes a blob is written as (and its digest taken of): sorted keys, no spaces."""
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


def _write_blob(blobs: Path, content: bytes, media_type: str) -> dict[str, Any]:
    digest = hashlib.sha256(content).hexdigest()
    (blobs / digest).write_bytes(content)
    return {"mediaType": media_type, "digest": f"sha256:{digest}", "size": len(content)}


def _write_layer(rootfs: Path, blobs: Path) -> dict[str, Any]:
    """The whole root file system as one uncompressed tar, hashed while it is written."""
    partial = blobs / "layer.partial"
    digest = hashlib.sha256()
    size = 0
    argv = ["tar", "--create", "--file=-", "--numeric-owner", "--sort=name", "--one-file-system"]
    argv += [f"--exclude={pattern}" for pattern in LAYER_EXCLUDES]
    argv += [f"--directory={rootfs}", "."]
    with partial.open("wb") as out, tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=stderr)
        assert process.stdout is not None
        while chunk := process.stdout.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
        returncode = process.wait()
        stderr.seek(0)
        error = stderr.read().decode(errors="replace").strip()
    if returncode != 0:
        partial.unlink()
        raise LayoutError(f"tar of {rootfs} failed: {error.splitlines()[-1] if error else 'no output'}")
    partial.rename(blobs / digest.hexdigest())
    return {"mediaType": LAYER_MEDIA_TYPE, "digest": f"sha256:{digest.hexdigest()}", "size": size}


def write_layout(rootfs: Path, config: Mapping[str, Any], name: str, destination: Path) -> Layout:
    """An OCI image layout of one image in `destination` (which must not exist yet):
    `rootfs` as its one layer, `config` as its configuration (with "architecture" and
    "os"; the layer's "rootfs" is added), index.json naming it `name` ("repository:tag")."""
    repository, separator, tag = name.rpartition(":")
    if not separator or "/" in tag or not repository:
        raise LayoutError(f"image name {name!r} has no tag (repository:tag)")
    blobs = destination / "blobs" / "sha256"
    blobs.mkdir(parents=True)
    layer = _write_layer(rootfs, blobs)
    full_config = {**config, "rootfs": {"type": "layers", "diff_ids": [layer["digest"]]}}
    config_descriptor = _write_blob(blobs, canonical_json(full_config), CONFIG_MEDIA_TYPE)
    manifest = {
        "schemaVersion": 2,
        "mediaType": MANIFEST_MEDIA_TYPE,
        "config": config_descriptor,
        "layers": [layer],
    }
    manifest_descriptor = _write_blob(blobs, canonical_json(manifest), MANIFEST_MEDIA_TYPE)
    index = {
        "schemaVersion": 2,
        "mediaType": INDEX_MEDIA_TYPE,
        "manifests": [
            {
                **manifest_descriptor,
                "platform": {"architecture": config["architecture"], "os": config["os"]},
                "annotations": {IMAGE_NAME_ANNOTATION: name, REF_NAME_ANNOTATION: tag},
            }
        ],
    }
    (destination / "index.json").write_bytes(canonical_json(index))
    (destination / "oci-layout").write_bytes(canonical_json({"imageLayoutVersion": OCI_LAYOUT_VERSION}))
    return Layout(destination, manifest_descriptor["digest"], layer["digest"], layer["size"])


def write_archive(layout: Path, archive: Path) -> None:
    """The layout as one tar, which `ctr images import` reads (it takes no folder)."""
    argv = ["tar", "--create", f"--file={archive}", "--numeric-owner", "--owner=0", "--group=0", "--sort=name"]
    argv += [f"--directory={layout}", "oci-layout", "index.json", "blobs"]
    result = subprocess.run(argv, capture_output=True, text=True)
    if result.returncode != 0:
        archive.unlink(missing_ok=True)
        lines = result.stderr.strip().splitlines() or ["no output"]
        raise LayoutError(f"writing the image archive {archive} failed: {lines[-1]}")
