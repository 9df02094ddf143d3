"""pgpitr's local image (cluster/image.py): the same content as docker/Dockerfile makes,
written as an OCI image layout containerd imports, and starting the same way.

Building the real image and looking inside it is tests/integration/test_cluster_image_build.py."""

import json
import os
import re
import tarfile
from pathlib import Path

import pytest

from cluster import apt_sources as apt
from cluster import image, oci_layout
from cluster import image_contents as contents
from components.image import image_build_args
from pgpitr.versions import DEFAULT_WALG_VERSION, WALG_RELEASES
from pgpitr_runtime import names
from tests.support.oci_layouts import check_layout

ROOT = Path(__file__).resolve().parents[2]
RELEASE = WALG_RELEASES[DEFAULT_WALG_VERSION]
DOCKERFILE = ROOT / "docker" / "Dockerfile"


# --- The description and docker/Dockerfile ------------------------------------------------


def dockerfile_stages() -> list[list[tuple[str, str]]]:
    """docker/Dockerfile as stages of (INSTRUCTION, arguments), continuation lines joined,
    comments dropped, every ${ARG} replaced by the value components.image passes."""
    build_args = image_build_args(contents.POSTGRES_MAJOR, RELEASE)
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    stages: list[list[tuple[str, str]]] = [[]]
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        instruction, _, arguments = line.strip().partition(" ")
        arguments = re.sub(r"\$\{(\w+)\}", lambda match: build_args[match.group(1)], " ".join(arguments.split()))
        if instruction.upper() == "FROM":
            stages.append([])
        stages[-1].append((instruction.upper(), arguments))
    return stages


def dockerfile_layer() -> tuple[str, contents.PgpitrLayer]:
    """The final stage's base image and what it adds, in the description's terms. An
    instruction this does not know fails the test: cluster/image.py must learn it too."""
    stage = dockerfile_stages()[-1]
    base = stage[0][1]
    packages: tuple[str, ...] = ()
    copies, env = [], []
    user = ""
    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    for instruction, arguments in stage[1:]:
        if instruction == "ARG":
            continue
        if instruction == "RUN":
            installed = re.search(r"apt-get install -y --no-install-recommends (.*?) &&", arguments)
            if installed:
                packages = tuple(installed.group(1).split())
            else:
                # The image's own check, which cluster.image.smoke_test runs too.
                assert arguments.startswith(f"wal-g --version && {names.WALG_DAEMON_CLIENT} --version && "), (
                    f"docker/Dockerfile runs more: RUN {arguments}"
                )
                assert "python3 -m pgpitr_runtime" in arguments
        elif instruction == "COPY":
            words = arguments.split()
            if words[0] == "--from=walg":
                built = {
                    "/out/wal-g": contents.WALG_BUILD,
                    f"/out/{names.WALG_DAEMON_CLIENT}": contents.WALG_DAEMON_CLIENT_BUILD,
                }
                assert words[1] in built, "the walg stage's output moved"
                copies.append(contents.Copy(built[words[1]], words[2]))
            else:
                assert len(words) == 2, f"COPY {arguments}"
                copies.append(contents.Copy(*words))
        elif instruction == "ENV":
            key, value = arguments.split("=", 1)
            env.append((key, value))
        elif instruction == "USER":
            user = arguments
        elif instruction == "ENTRYPOINT":
            entrypoint = tuple(json.loads(arguments))
        elif instruction == "CMD":
            cmd = tuple(json.loads(arguments))
        else:
            pytest.fail(f"docker/Dockerfile has `{instruction} {arguments}`, which cluster/image.py does not make")
    return base, contents.PgpitrLayer(packages, tuple(copies), tuple(env), user, entrypoint, cmd)


def test_the_description_is_what_docker_dockerfile_adds() -> None:
    _, layer = dockerfile_layer()
    assert layer == contents.pgpitr_layer(RELEASE)


def test_the_base_is_the_release_and_major_the_published_image_uses() -> None:
    base, _ = dockerfile_layer()
    assert base == f"postgres:{contents.BASE.postgres_major}-{contents.BASE.suite}"
    assert contents.BASE.uid == names.POSTGRES_UID == 999


def test_the_walg_stage_builds_what_is_copied() -> None:
    walg_stage = next(stage for stage in dockerfile_stages() if stage[0][1].endswith(" AS walg"))
    build = "bash /build/build-walg.sh /out/wal-g && /out/wal-g --version"
    assert ("RUN", f"{build} && /out/{names.WALG_DAEMON_CLIENT} --version") in walg_stage


def test_copied_folders_leave_out_what_dockerignore_leaves_out(tmp_path: Path) -> None:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    ignore = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    assert ignore[0] == "*"
    for copy in contents.pgpitr_layer(RELEASE).copies:
        if copy.source not in contents.BUILT_SOURCES:
            kept = [entry[1:] for entry in ignore if entry.startswith("!")]
            assert any(copy.source.startswith(folder) for folder in kept), f".dockerignore leaves out {copy.source}"
    assert {f"**/{name}" for name in contents.IGNORED_NAMES} <= set(ignore)

    (tmp_path / "docker" / "bin").mkdir(parents=True)
    (tmp_path / "docker" / "bin" / "tool").write_text("#!/bin/sh\n")
    (tmp_path / "docker" / "bin" / "tool").chmod(0o750)
    (tmp_path / "pgpitr_runtime" / "__pycache__").mkdir(parents=True)
    (tmp_path / "pgpitr_runtime" / "__pycache__" / "names.cpython-311.pyc").write_bytes(b"")
    (tmp_path / "pgpitr_runtime" / "names.py").write_text("")
    walg = tmp_path / "wal-g"
    for program in (walg, tmp_path / names.WALG_DAEMON_CLIENT):
        program.write_bytes(b"\x7fELF")
        program.chmod(0o755)
    files = contents.layer_files(contents.pgpitr_layer(RELEASE), walg, root=tmp_path)
    assert {(f.destination, f.mode) for f in files} == {
        ("/usr/local/bin/wal-g", 0o755),
        (f"/usr/local/bin/{names.WALG_DAEMON_CLIENT}", 0o755),
        ("/usr/local/bin/tool", 0o750),
        ("/usr/local/lib/pgpitr/pgpitr_runtime/names.py", 0o644),
    }


def test_the_image_runs_the_entrypoint_as_999_with_postgres_on_path() -> None:
    config = contents.image_config(contents.BASE, contents.pgpitr_layer(RELEASE), "amd64")["config"]
    assert config["Entrypoint"] == [f"{names.IMAGE_BIN_DIR}/{names.ENTRYPOINT_SCRIPT}"]
    assert config["Cmd"] == ["postgres"]
    assert config["User"] == "999:999"
    env = dict(item.split("=", 1) for item in config["Env"])
    assert env["PATH"].split(":")[-1] == "/usr/lib/postgresql/15/bin"
    assert names.IMAGE_BIN_DIR in env["PATH"].split(":")
    assert env[names.PGPITR_LIB] == names.IMAGE_LIB_DIR
    assert env["PGDATA"] == names.IMAGE_DATA_MOUNT
    assert config["StopSignal"] == "SIGINT"


# --- Where the packages come from ---------------------------------------------------------


def test_the_mirror_is_the_one_apt_uses(tmp_path: Path) -> None:
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list").write_text(
        "# deb http://old.example/debian bookworm main\n"
        "deb-src http://src.example/debian bookworm main\n"
        "deb [arch=amd64 signed-by=/k.gpg] http://one.example/debian/ bookworm-backports main\n"
    )
    (tmp_path / "sources.list.d" / "debian.sources").write_text(
        "Types: deb\n# a comment\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\n"
        "Components: main contrib\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\n"
        "Types: deb deb-src\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\n"
        "Components: main\n\n"
        "Types: deb\nEnabled: no\nURIs: http://disabled.example/debian\nSuites: bookworm\nComponents: main\n"
    )
    (tmp_path / "sources.list.d" / "other.list.disabled-by-farm").write_text("deb http://no.example/ x main\n")
    sources = apt.apt_sources(tmp_path)
    assert apt.debian_mirror(sources, "bookworm") == "http://mirror.example/debian"
    assert apt.sources_list(apt.image_apt_sources(sources, "bookworm")) == (
        "deb http://mirror.example/debian bookworm main\n"
        "deb http://mirror.example/debian bookworm-updates main\n"
        "deb http://mirror.example/debian-security bookworm-security main\n"
    )
    with pytest.raises(contents.ImageError, match="no source for Debian trixie"):
        apt.debian_mirror(sources, "trixie")


# --- The OCI layout -----------------------------------------------------------------------


def test_a_layout_is_consistent(tmp_path: Path) -> None:
    rootfs = tmp_path / "rootfs"
    (rootfs / "usr" / "bin").mkdir(parents=True)
    (rootfs / "usr" / "bin" / "hello").write_text("#!/bin/sh\necho hello\n")
    (rootfs / "usr" / "bin" / "hello").chmod(0o755)
    os.link(rootfs / "usr" / "bin" / "hello", rootfs / "usr" / "bin" / "hi")
    (rootfs / "bin").symlink_to("usr/bin")
    for runtime_filled in ("dev", "proc", "sys"):
        (rootfs / runtime_filled).mkdir()
        (rootfs / runtime_filled / "left-by-the-build").write_text("")
    if os.geteuid() == 0:
        os.chown(rootfs / "usr" / "bin" / "hello", 999, 999)
    config = {"architecture": "amd64", "os": "linux", "config": {"Cmd": ["hello"]}}

    layout = oci_layout.write_layout(rootfs, config, "localhost/test/hello:v1", tmp_path / "layout")

    found = check_layout(layout.path)
    assert found["entry"]["annotations"] == {
        "io.containerd.image.name": "localhost/test/hello:v1",
        "org.opencontainers.image.ref.name": "v1",
    }
    assert found["entry"]["digest"] == layout.manifest_digest
    assert found["config"]["config"] == {"Cmd": ["hello"]}
    with tarfile.open(found["layer"]) as layer:
        members = {member.name: member for member in layer.getmembers()}
    assert set(members) == {
        ".",
        "./bin",
        "./usr",
        "./usr/bin",
        "./usr/bin/hello",
        "./usr/bin/hi",
        "./dev",
        "./proc",
        "./sys",
    }
    hello = members["./usr/bin/hello"]
    assert hello.mode == 0o755
    assert (hello.uid, hello.uname) == ((999, "") if os.geteuid() == 0 else (os.geteuid(), ""))
    assert members["./usr/bin/hi"].islnk()
    assert members["./bin"].issym()
    assert members["./bin"].linkname == "usr/bin"

    oci_layout.write_archive(layout.path, tmp_path / "image.tar")
    with tarfile.open(tmp_path / "image.tar") as archive:
        names_in_archive = {member.name for member in archive.getmembers() if member.isfile()}
    assert names_in_archive == {"oci-layout", "index.json"} | {
        f"blobs/sha256/{path.name}" for path in (layout.path / "blobs" / "sha256").iterdir()
    }


def test_an_image_name_needs_a_tag(tmp_path: Path) -> None:
    with pytest.raises(oci_layout.LayoutError, match="no tag"):
        oci_layout.write_layout(tmp_path, {"architecture": "amd64", "os": "linux"}, "localhost:5000/x", tmp_path / "o")


# --- The scripts --------------------------------------------------------------------------


def test_missing_host_packages_are_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(image, "HOST_PACKAGES", ("coreutils", "pgpitr-no-such-package"))
    calls: list[list[str]] = []

    def install(packages: list[str]) -> list[str]:
        calls.append(list(packages))
        return list(packages)

    monkeypatch.setattr(image, "install_missing", install)
    image.ensure_host_packages(image.Progress())
    assert calls == [["pgpitr-no-such-package"]]
    calls.clear()
    monkeypatch.setattr(image, "HOST_PACKAGES", ("coreutils",))
    image.ensure_host_packages(image.Progress())
    assert calls == []


# --- Mounts -------------------------------------------------------------------------------
