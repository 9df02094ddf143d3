"""WAL-G is built one way everywhere: the image's builder stage and `make setup` run
docker/build-walg.sh with the same inputs, from pgpitr.versions.WalgRelease."""

import os
import re
import subprocess
from pathlib import Path

from components.image import image_build_args
from harness import toolchain
from pgpitr.versions import DEFAULT_WALG_VERSION, WALG_RELEASES

ROOT = Path(__file__).resolve().parents[2]
RELEASE = WALG_RELEASES[DEFAULT_WALG_VERSION]


def dockerfile_stage(name: str) -> str:
    text = (ROOT / "docker" / "Dockerfile").read_text()
    stages = re.split(r"^FROM ", text, flags=re.MULTILINE)
    return next(stage for stage in stages if stage.split("\n", 1)[0].endswith(f" AS {name}"))


def test_image_and_local_build_get_the_same_input() -> None:
    image_args = image_build_args(16, RELEASE)
    assert {key: image_args[key] for key in RELEASE.build_environment()} == RELEASE.build_environment()
    local = RELEASE.build_environment() | toolchain.source_environment(RELEASE)
    assert {key: local[key] for key in RELEASE.build_environment()} == RELEASE.build_environment()
    assert RELEASE.build_environment()["WALG_BUILD_TAGS"] == "brotli,libsodium,lzo"
    assert RELEASE.build_environment()["WALG_GOEXPERIMENT"] == "jsonv2"


def test_image_runs_the_same_script_with_the_same_files() -> None:
    stage = dockerfile_stage("walg")
    for declared in RELEASE.build_environment():
        assert f"ARG {declared}\n" in stage, f"the builder stage does not pass {declared} to build-walg.sh"
    assert "COPY docker/build-walg.sh /build/build-walg.sh" in stage
    assert "COPY docker/walg-yckms-stub/ /build/walg-yckms-stub/" in stage
    assert "RUN bash /build/build-walg.sh /out/wal-g" in stage
    assert toolchain.BUILD_SCRIPT == ROOT / "docker" / "build-walg.sh"


def test_build_and_runtime_packages_are_installed_where_needed() -> None:
    system_packages = (ROOT / "scripts" / "install-system-packages.sh").read_text().split()
    assert set(RELEASE.build_packages) <= set(system_packages)
    assert "${WALG_BUILD_PACKAGES}" in dockerfile_stage("walg")
    assert "${WALG_RUNTIME_PACKAGES}" in (ROOT / "docker" / "Dockerfile").read_text().rsplit(" AS walg", 1)[1]


def test_local_build_uses_the_checked_shared_tarball_when_present() -> None:
    env = toolchain.source_environment(RELEASE)
    tarball = toolchain.SHARED_SOURCES_DIR / RELEASE.source_tarball
    assert tarball.is_file(), f"this project's machines keep WAL-G's source at {tarball}"
    assert env == {"WALG_SOURCE_TARBALL": str(tarball), "WALG_SOURCE_SHA256": RELEASE.source_sha256}


def test_cached_build_is_keyed_by_its_inputs() -> None:
    key = toolchain.build_key(RELEASE)
    assert key.startswith(f"{RELEASE.tag}-")
    other = type(RELEASE)(**{**RELEASE.__dict__, "build_tags": ("brotli",)})
    assert toolchain.build_key(other) != key


def test_a_tarball_with_another_checksum_is_refused(tmp_path: Path) -> None:
    env = {
        **os.environ,
        **RELEASE.build_environment(),
        **toolchain.source_environment(RELEASE),
        "WALG_SOURCE_SHA256": "0" * 64,
    }
    result = subprocess.run(
        ["bash", str(toolchain.BUILD_SCRIPT), str(tmp_path / "wal-g")], env=env, capture_output=True, text=True
    )
    assert result.returncode == 1
    assert f"expected {'0' * 64}" in result.stderr.strip().splitlines()[-1]
    assert not (tmp_path / "wal-g").exists()
