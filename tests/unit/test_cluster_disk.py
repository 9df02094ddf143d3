"""`cluster up` refuses a disk too full for kubelet: the eviction threshold plus the stack's room."""

import shutil
from pathlib import Path
from typing import NamedTuple

import pytest

from cluster import disk, node
from cluster.config import WorkDir
from cluster.pki import Pki
from cluster.state import ClusterError


class Usage(NamedTuple):
    total: int
    used: int
    free: int


def test_the_threshold_is_kubelets() -> None:
    config = node.kubelet_config(WorkDir(Path("/tmp/w")), Pki(Path("/tmp/w/pki")))
    assert config["evictionHard"]["nodefs.available"] == f"{disk.EVICTION_FREE_PERCENT}%"
    assert config["evictionHard"]["imagefs.available"] == f"{disk.EVICTION_FREE_PERCENT}%"
    total = 250 * disk.GIB
    assert disk.required_free_bytes(total) == 5 * disk.GIB + disk.STACK_HEADROOM_BYTES


def test_a_disk_too_full_fails_with_how_much_to_free(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    total = 250 * disk.GIB
    monkeypatch.setattr(shutil, "disk_usage", lambda _: Usage(total, total - 6 * disk.GIB, 6 * disk.GIB))
    with pytest.raises(ClusterError) as raised:
        disk.check_free_space(tmp_path)
    message = str(raised.value)
    assert "\n" not in message
    assert "has 6.0 GiB free" in message and "under 5.0 GiB (2%)" in message and "free at least 3.0 GiB" in message


def test_enough_room_passes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    total = 250 * disk.GIB
    monkeypatch.setattr(shutil, "disk_usage", lambda _: Usage(total, 0, disk.required_free_bytes(total)))
    disk.check_free_space(tmp_path)
