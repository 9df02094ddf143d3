"""The local cluster's toolchain: built from the versions in pgpitr/versions.py by the
scripts in cluster/build/, cached by a key that changes with every input, and refusing
a language host source whose checksum is not the pinned one."""

import dataclasses
import hashlib
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from cluster import toolchain
from cluster.versions import (
    CLUSTER_COREDNS,
    CLUSTER_DEBIAN_PACKAGES,
    CLUSTER_KUBERNETES,
    CLUSTER_MONITORING_CRDS,
    CLUSTER_PULUMI,
    CLUSTER_PULUMI_KUBERNETES,
)
from harness import debian
from harness.paths import REPOSITORY_ROOT, TOOLS_DIR
from tests.requirements import require_program

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = sorted(toolchain.BUILD_DIR.glob("build-*.sh"))


def test_every_build_takes_its_input_from_pgpitr_versions() -> None:
    by_name = {build.name: build for build in toolchain.builds()}
    assert list(by_name) == ["kubernetes", "pause", "coredns", "pulumi", "pulumi-kubernetes", "monitoring-crds"]
    assert by_name["kubernetes"].environment == CLUSTER_KUBERNETES.build_environment()
    assert by_name["kubernetes"].outputs == CLUSTER_KUBERNETES.commands
    assert by_name["pause"].environment == CLUSTER_KUBERNETES.pause_build_environment()
    assert by_name["coredns"].environment == CLUSTER_COREDNS.build_environment()
    assert by_name["pulumi"].environment == CLUSTER_PULUMI.build_environment()
    assert by_name["pulumi-kubernetes"].environment == CLUSTER_PULUMI_KUBERNETES.build_environment()
    assert by_name["monitoring-crds"].environment == CLUSTER_MONITORING_CRDS.build_environment()
    assert by_name["monitoring-crds"].outputs == CLUSTER_MONITORING_CRDS.file_names()
    assert [build.version for build in by_name.values()] == [
        CLUSTER_KUBERNETES.version,
        CLUSTER_KUBERNETES.pause_version,
        CLUSTER_COREDNS.version,
        CLUSTER_PULUMI.version,
        CLUSTER_PULUMI_KUBERNETES.version,
        CLUSTER_MONITORING_CRDS.version,
    ]
    for build in by_name.values():
        assert (toolchain.BUILD_DIR / build.script).is_file()
        declared = set(re.findall(r"\$\{?([A-Z][A-Z0-9_]+)", (toolchain.BUILD_DIR / build.script).read_text()))
        prefixes = {"KUBERNETES", "PAUSE", "COREDNS", "PULUMI", "MONITORING", "CONTROLLER"}
        inputs = {name for name in declared if name.split("_")[0] in prefixes}
        assert inputs == set(build.environment) | set(build.local_environment), build.script


def test_the_pinned_versions_are_the_checked_ones() -> None:
    assert CLUSTER_KUBERNETES.version == "v1.35.4"
    assert set(CLUSTER_KUBERNETES.commands) == {
        "kube-apiserver",
        "kube-controller-manager",
        "kube-scheduler",
        "kubelet",
        "kube-proxy",
        "kubectl",
    }
    # Kubernetes publishes its staging modules at v0.<minor>.<patch> of each release.
    assert CLUSTER_KUBERNETES.staging_version == "v0." + CLUSTER_KUBERNETES.version.split(".", 1)[1]
    assert CLUSTER_COREDNS.version == "v1.12.1"
    assert CLUSTER_PULUMI.version == "v3.274.1"
    assert CLUSTER_PULUMI_KUBERNETES.version == "4.25.0"
    assert CLUSTER_PULUMI_KUBERNETES.sdk_module_version == f"v{CLUSTER_PULUMI_KUBERNETES.version}"
    # The provider module's pseudo-version names the release tag's commit.
    assert CLUSTER_PULUMI_KUBERNETES.provider_module_version.endswith(CLUSTER_PULUMI_KUBERNETES.commit[:12])
    # The served versions named in the issue: the operator's own module is refused.
    assert (CLUSTER_MONITORING_CRDS.version, CLUSTER_MONITORING_CRDS.controller_tools_version) == ("v0.95.2", "v0.23.0")


def test_scripts_hold_no_versions_of_their_own() -> None:
    pinned = [
        CLUSTER_KUBERNETES.version,
        CLUSTER_KUBERNETES.staging_version,
        CLUSTER_KUBERNETES.pause_version,
        CLUSTER_COREDNS.version,
        CLUSTER_PULUMI.version,
        CLUSTER_PULUMI.language_host_version,
        CLUSTER_PULUMI_KUBERNETES.version,
        CLUSTER_PULUMI_KUBERNETES.provider_module_version,
        CLUSTER_MONITORING_CRDS.version,
        CLUSTER_MONITORING_CRDS.controller_tools_version,
    ]
    for path in [*SCRIPTS, toolchain.BUILD_DIR / "lib.sh"]:
        code = "\n".join(line for line in path.read_text().splitlines() if not line.lstrip().startswith("#"))
        for version in pinned:
            assert version not in code, f"{path.name} has {version} outside its comments: pgpitr/versions.py pins it"


def test_cache_key_changes_with_every_input(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for build in toolchain.builds():
        key = toolchain.build_key(build)
        assert re.fullmatch(re.escape(build.version) + r"-[0-9a-f]{12}", key)
        assert toolchain.build_key(build) == key, "the same inputs give the same key"
        assert toolchain.build_directory(build) == TOOLS_DIR / build.name / key
        for variable, value in build.environment.items():
            changed = dataclasses.replace(build, environment={**build.environment, variable: value + "x"})
            assert toolchain.build_key(changed) != key, f"{build.name}: {variable} does not change the key"
        assert toolchain.build_key(dataclasses.replace(build, outputs=(*build.outputs, "extra"))) != key
        # Machine paths are not part of the key: the same source elsewhere is the same build.
        moved = dataclasses.replace(build, local_environment={"PULUMI_LANGUAGE_HOST_TARBALL": "/elsewhere"})
        assert toolchain.build_key(moved) == key

    pulumi = toolchain.build_named("pulumi")
    key = toolchain.build_key(pulumi)
    with monkeypatch.context() as patch:
        patch.setattr(toolchain, "compiler_version", lambda compiler: "go0.0")
        assert toolchain.build_key(pulumi) != key, "another Go release makes another binary"

    copied = tmp_path / "build"
    shutil.copytree(toolchain.BUILD_DIR, copied)
    monkeypatch.setattr(toolchain, "BUILD_DIR", copied)
    assert toolchain.build_key(pulumi) == key
    (copied / "lib.sh").write_text((copied / "lib.sh").read_text() + "\n# changed\n")
    assert toolchain.build_key(pulumi) != key, "a changed shared script changes every key"


def test_language_host_source_is_the_checked_shared_tarball() -> None:
    tarball = Path(toolchain.build_named("pulumi").local_environment["PULUMI_LANGUAGE_HOST_TARBALL"])
    assert tarball == toolchain.SHARED_PULUMI_DIR / CLUSTER_PULUMI.language_host_tarball
    assert tarball.is_file(), f"this project's machines keep the language host's source at {tarball}"
    assert hashlib.sha256(tarball.read_bytes()).hexdigest() == CLUSTER_PULUMI.language_host_sha256


def test_a_language_host_tarball_with_another_checksum_is_refused(tmp_path: Path) -> None:
    build = toolchain.build_named("pulumi")
    env = {**os.environ, **build.environment, **build.local_environment, "PULUMI_LANGUAGE_HOST_SHA256": "0" * 64}
    result = subprocess.run(
        ["bash", str(toolchain.BUILD_DIR / build.script), str(tmp_path)], env=env, capture_output=True, text=True
    )
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("build-pulumi.sh: ")
    assert f"expected {'0' * 64}" in last
    assert list(tmp_path.iterdir()) == []


def fake_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, script: str) -> toolchain.Build:
    """A build whose script is `script`, with the real lib.sh, caching under tmp_path."""
    build_dir = tmp_path / "build"
    build_dir.mkdir()
    shutil.copy(toolchain.BUILD_DIR / "lib.sh", build_dir / "lib.sh")
    (build_dir / "build-fake.sh").write_text(
        '#!/usr/bin/env bash\nset -euo pipefail\nsource "$(dirname "${BASH_SOURCE[0]}")/lib.sh"\n'
        'out=$(output_dir "${1:-}")\n' + script
    )
    monkeypatch.setattr(toolchain, "BUILD_DIR", build_dir)
    monkeypatch.setattr(toolchain, "TOOLS_DIR", tmp_path / "tools")
    return toolchain.Build(
        name="fake",
        version="v1.0.0",
        title="the fake v1.0.0",
        script="build-fake.sh",
        environment={"FAKE_COUNT": str(tmp_path / "count")},
        outputs=("fake",),
        compilers=(),
    )


def test_a_built_part_is_cached_and_found_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    require_program("go", "install Go 1.26 or newer")
    build = fake_build(
        tmp_path,
        monkeypatch,
        'echo run >>"$FAKE_COUNT"\nstep "making the fake"\nprintf "#!/bin/sh\\n" >"$out/fake"\nstep "made it"\n',
    )
    directory = toolchain.ensure_built(build, started=0.0)
    assert directory == tmp_path / "tools" / "fake" / toolchain.build_key(build)
    assert (directory / "fake").is_file()
    assert (directory / "build.log").is_file()
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith("cluster.toolchain: building the fake v1.0.0 into ")
    assert re.fullmatch(r"build-fake\.sh: making the fake \(\d+s\)", lines[1])
    assert re.fullmatch(r"cluster\.toolchain: built the fake v1\.0\.0 in \d+ s \(\d+s\)", lines[-1])

    assert toolchain.ensure_built(build, started=0.0) == directory
    assert (tmp_path / "count").read_text() == "run\n", "the second call does not build again"
    assert capsys.readouterr().err.startswith("cluster.toolchain: the fake v1.0.0: cached in ")


def test_a_failed_build_is_one_line_and_leaves_no_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    require_program("go", "install Go 1.26 or newer")
    build = fake_build(tmp_path, monkeypatch, 'echo "go: lots of chatter"\nfail "the source is broken"\n')
    with pytest.raises(toolchain.ToolchainError) as raised:
        toolchain.ensure_built(build, started=0.0)
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith("building the fake v1.0.0 failed: the source is broken (full log: ")
    assert not toolchain.build_directory(build).exists()


def test_go_builds_can_be_held_to_fewer_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(toolchain.GO_JOBS_VARIABLE, raising=False)
    assert toolchain.go_job_limits() == {}
    monkeypatch.setenv(toolchain.GO_JOBS_VARIABLE, "1")
    monkeypatch.setenv("GOFLAGS", "-buildvcs=false")
    assert toolchain.go_job_limits() == {"GOMAXPROCS": "1", "GOFLAGS": "-buildvcs=false -p=1"}
    monkeypatch.setenv(toolchain.GO_JOBS_VARIABLE, "all")
    with pytest.raises(toolchain.ToolchainError, match="PGPITR_GO_JOBS=all is not a number of cores"):
        toolchain.go_job_limits()


def test_debian_packages_provide_the_system_programs() -> None:
    assert {
        "etcd-server",
        "containerd",
        "runc",
        "containernetworking-plugins",
        "iptables",
        "debootstrap",
        "gcc",
    } <= set(CLUSTER_DEBIAN_PACKAGES)
    # The shared installer takes the cluster's list as arguments; present packages cost nothing.
    result = subprocess.run(["bash", str(debian.INSTALL_SCRIPT), "bash", "coreutils"], capture_output=True, text=True)
    assert (result.returncode, result.stderr) == (0, "")


def test_every_build_has_its_script() -> None:
    """(Strictness and shellcheck: tests/unit/test_container_files.py, for every shell file.)"""
    assert {path.name for path in SCRIPTS} == {build.script for build in toolchain.builds()}


def test_the_python_sdk_asks_for_the_provider_the_cluster_deploys_with() -> None:
    """The SDK's version is the plugin version the CLI loads; a newer SDK would ask for a
    provider that cannot be built here."""
    pins = dict(
        line.split("==", 1)
        for line in (REPOSITORY_ROOT / "requirements.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    )
    assert pins["pulumi-kubernetes"] == CLUSTER_PULUMI_KUBERNETES.version
