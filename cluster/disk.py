"""Room on the disk before `cluster up`: kubelet evicts every pod and deletes images it
cannot pull again once the free space of its file system falls under its eviction
threshold, and a `pulumi up` then waits out its timeout on pods that never start. So
`up` refuses to start without the threshold plus what the local stack needs above it."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Final

from cluster.state import ClusterError

GIB: Final = 1 << 30
EVICTION_FREE_PERCENT: Final = 2
"""kubelet's evictionHard nodefs.available and imagefs.available (cluster/node.py)."""
STACK_HEADROOM_BYTES: Final = 4 * GIB
"""Above the threshold: the images in containerd, the primary's and the restored
instance's volumes, WAL and logs of the scenario, with room to spare."""


def eviction_threshold_bytes(total: int) -> int:
    return total * EVICTION_FREE_PERCENT // 100


def required_free_bytes(total: int) -> int:
    return eviction_threshold_bytes(total) + STACK_HEADROOM_BYTES


def check_free_space(path: Path) -> None:
    """A ClusterError saying how much to free when the file system of `path` is too full."""
    usage = shutil.disk_usage(path)
    needed = required_free_bytes(usage.total)
    if usage.free < needed:
        raise ClusterError(
            f"the file system of {path} has {usage.free / GIB:.1f} GiB free; kubelet evicts every pod under "
            f"{eviction_threshold_bytes(usage.total) / GIB:.1f} GiB ({EVICTION_FREE_PERCENT}%) and the local stack "
            f"needs {STACK_HEADROOM_BYTES // GIB} GiB above that: free at least "
            f"{(needed - usage.free) / GIB:.1f} GiB (bench/work and Go's caches are the usual large ones)"
        )
