"""Checks of OCI image layouts (cluster/oci_layout.py) that unit and integration tests share."""

import hashlib
import json
from pathlib import Path
from typing import Any

from cluster import oci_layout


def sha256_of(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def check_layout(layout: Path) -> dict[str, Any]:
    """Every descriptor's digest and size are its blob's, and no other blob is there;
    returns the index's manifest entry, the manifest, the config and the layer's path."""
    assert json.loads((layout / "oci-layout").read_text()) == {"imageLayoutVersion": "1.0.0"}
    blobs = layout / "blobs" / "sha256"

    def blob(descriptor: dict[str, Any]) -> Path:
        path = blobs / str(descriptor["digest"]).removeprefix("sha256:")
        assert path.is_file()
        assert descriptor["size"] == path.stat().st_size
        assert descriptor["digest"] == sha256_of(path)
        return path

    index = json.loads((layout / "index.json").read_text())
    assert index["schemaVersion"] == 2
    assert index["mediaType"] == oci_layout.INDEX_MEDIA_TYPE
    [entry] = index["manifests"]
    assert entry["mediaType"] == oci_layout.MANIFEST_MEDIA_TYPE
    manifest = json.loads(blob(entry).read_text())
    assert manifest["config"]["mediaType"] == oci_layout.CONFIG_MEDIA_TYPE
    config = json.loads(blob(manifest["config"]).read_text())
    [layer] = manifest["layers"]
    assert layer["mediaType"] == oci_layout.LAYER_MEDIA_TYPE
    # Uncompressed: the layer's digest is its diff id.
    assert config["rootfs"] == {"type": "layers", "diff_ids": [sha256_of(blob(layer))]}
    assert entry["platform"] == {"architecture": config["architecture"], "os": config["os"]}
    assert {path.name for path in blobs.iterdir()} == {
        d["digest"].removeprefix("sha256:") for d in (entry, manifest["config"], layer)
    }
    return {"entry": entry, "manifest": manifest, "config": config, "layer": blobs / layer["digest"][7:]}
