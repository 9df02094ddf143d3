"""The benchmark's S3 server program: SeaweedFS's `weed`, built once per pinned version
(bench.versions.BENCH_SEAWEEDFS) by bench/build-seaweedfs.sh and cached under
.tools/seaweedfs/<version>-<digest of the script and its input>/weed, as harness.toolchain
caches WAL-G. `python -m bench.seaweedfs` builds it and prints where it is.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from bench.progress import log
from bench.versions import BENCH_SEAWEEDFS, SeaweedfsRelease
from harness.build_cache import BuildError, build_with_script, inputs_digest
from harness.paths import TOOLS_DIR
from harness.toolchain import ToolchainError

BUILD_SCRIPT = Path(__file__).resolve().parent / "build-seaweedfs.sh"


def build_key(release: SeaweedfsRelease) -> str:
    """The version and a digest of the build script and its input: a changed flag or
    version never reuses a stale build."""
    return f"{release.version}-{inputs_digest(release.build_environment(), [BUILD_SCRIPT])}"


def weed_binary_path(release: SeaweedfsRelease) -> Path:
    return TOOLS_DIR / "seaweedfs" / build_key(release) / "weed"


def build_weed(release: SeaweedfsRelease = BENCH_SEAWEEDFS) -> Path:
    """The cached weed program, built first unless it is there; a ToolchainError when it can't be."""
    binary = weed_binary_path(release)
    if binary.is_file():
        return binary
    if shutil.which("go") is None:
        raise ToolchainError("building SeaweedFS (the benchmark's S3 server) needs the Go toolchain; install Go 1.26")
    log(f"building SeaweedFS {release.release} into {binary.parent}, once")
    env = os.environ | release.build_environment()

    try:
        build_with_script(
            binary.parent,
            lambda partial: ["bash", str(BUILD_SCRIPT), str(partial)],
            env,
            f"SeaweedFS {release.version}",
            script=BUILD_SCRIPT.name,
            complete=lambda folder: (folder / binary.name).is_file(),
        )
    except BuildError as error:
        raise ToolchainError(str(error)) from None
    return binary


def main() -> int:
    try:
        binary = build_weed()
    except ToolchainError as error:
        print(f"bench.seaweedfs: {error}", file=sys.stderr)
        return 1
    print(binary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
