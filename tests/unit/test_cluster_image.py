"""pgpitr's local image (cluster/image.py): the same content as docker/Dockerfile makes,
written as an OCI image layout containerd imports, and starting the same way.

The last tests build the real image (about two minutes cold, seconds from the cache in
.tools/image/) and look inside it; they need root, as the build does, and fail without it."""

import hashlib
import json
import os
import re
import signal
import subprocess
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cluster import image, oci_layout
from components.image import image_build_args
from drill.toolchain import walg_binary_path
from pgpitr.versions import DEFAULT_WALG_VERSION, WALG_RELEASES
from pgpitr_runtime import names
from tests.requirements import require_program

ROOT = Path(__file__).resolve().parents[2]
RELEASE = WALG_RELEASES[DEFAULT_WALG_VERSION]
DOCKERFILE = ROOT / "docker" / "Dockerfile"


# --- The description and docker/Dockerfile ------------------------------------------------


def dockerfile_stages() -> list[list[tuple[str, str]]]:
    """docker/Dockerfile as stages of (INSTRUCTION, arguments), continuation lines joined,
    comments dropped, every ${ARG} replaced by the value components.image passes."""
    build_args = image_build_args(image.POSTGRES_MAJOR, RELEASE)
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


def dockerfile_layer() -> tuple[str, image.PgpitrLayer]:
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
                    "/out/wal-g": image.WALG_BUILD,
                    f"/out/{names.WALG_DAEMON_CLIENT}": image.WALG_DAEMON_CLIENT_BUILD,
                }
                assert words[1] in built, "the walg stage's output moved"
                copies.append(image.Copy(built[words[1]], words[2]))
            else:
                assert len(words) == 2, f"COPY {arguments}"
                copies.append(image.Copy(*words))
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
    return base, image.PgpitrLayer(packages, tuple(copies), tuple(env), user, entrypoint, cmd)


def test_the_description_is_what_docker_dockerfile_adds() -> None:
    _, layer = dockerfile_layer()
    assert layer == image.pgpitr_layer(RELEASE)


def test_the_base_is_the_release_and_major_the_published_image_uses() -> None:
    base, _ = dockerfile_layer()
    assert base == f"postgres:{image.BASE.postgres_major}-{image.BASE.suite}"
    assert image.BASE.uid == names.POSTGRES_UID == 999


def test_the_walg_stage_builds_what_is_copied() -> None:
    walg_stage = next(stage for stage in dockerfile_stages() if stage[0][1].endswith(" AS walg"))
    build = "bash /build/build-walg.sh /out/wal-g && /out/wal-g --version"
    assert ("RUN", f"{build} && /out/{names.WALG_DAEMON_CLIENT} --version") in walg_stage


def test_copied_folders_leave_out_what_dockerignore_leaves_out(tmp_path: Path) -> None:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    ignore = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    assert ignore[0] == "*"
    for copy in image.pgpitr_layer(RELEASE).copies:
        if copy.source not in image.BUILT_SOURCES:
            kept = [entry[1:] for entry in ignore if entry.startswith("!")]
            assert any(copy.source.startswith(folder) for folder in kept), f".dockerignore leaves out {copy.source}"
    assert {f"**/{name}" for name in image.IGNORED_NAMES} <= set(ignore)

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
    files = image.layer_files(image.pgpitr_layer(RELEASE), walg, root=tmp_path)
    assert {(f.destination, f.mode) for f in files} == {
        ("/usr/local/bin/wal-g", 0o755),
        (f"/usr/local/bin/{names.WALG_DAEMON_CLIENT}", 0o755),
        ("/usr/local/bin/tool", 0o750),
        ("/usr/local/lib/pgpitr/pgpitr_runtime/names.py", 0o644),
    }


def test_the_image_runs_the_entrypoint_as_999_with_postgres_on_path() -> None:
    config = image.image_config(image.BASE, image.pgpitr_layer(RELEASE), "amd64")["config"]
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
    sources = image.apt_sources(tmp_path)
    assert image.debian_mirror(sources, "bookworm") == "http://mirror.example/debian"
    assert image.sources_list(image.image_apt_sources(sources, "bookworm")) == (
        "deb http://mirror.example/debian bookworm main\n"
        "deb http://mirror.example/debian bookworm-updates main\n"
        "deb http://mirror.example/debian-security bookworm-security main\n"
    )
    with pytest.raises(image.ImageError, match="no source for Debian trixie"):
        image.debian_mirror(sources, "trixie")


# --- The OCI layout -----------------------------------------------------------------------


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


def test_the_rootfs_script_is_strict_and_shellcheck_clean() -> None:
    shellcheck = require_program("shellcheck", "run `make setup` (Debian package shellcheck)")
    assert "set -euo pipefail" in image.ROOTFS_SCRIPT.read_text()
    result = subprocess.run([shellcheck, str(image.ROOTFS_SCRIPT)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_missing_host_packages_are_installed_after_an_update(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(image, "CACHE_DIR", tmp_path)
    monkeypatch.setattr(image, "HOST_PACKAGES", ("coreutils", "pgpitr-no-such-package"))
    calls: list[list[str]] = []
    monkeypatch.setattr(image, "run_logged", lambda argv, *rest, **kwargs: calls.append(list(argv)))
    image.ensure_host_packages(image.Progress())
    assert calls == [
        ["apt-get", "update", "-q"],
        ["apt-get", "install", "-y", "-q", "--no-install-recommends", "pgpitr-no-such-package"],
    ]
    calls.clear()
    monkeypatch.setattr(image, "HOST_PACKAGES", ("coreutils",))
    image.ensure_host_packages(image.Progress())
    assert calls == []


# --- Mounts -------------------------------------------------------------------------------


def require_root() -> None:
    if os.geteuid() != 0:
        pytest.fail("building and running the image needs root (debootstrap, chroot, mount)", pytrace=False)


def test_mounts_are_undone_when_the_block_fails(tmp_path: Path) -> None:
    require_root()
    with pytest.raises(RuntimeError, match="inside"), image.chroot_mounts(tmp_path, devices=True):
        assert image.mounts_below(tmp_path) == [
            str(tmp_path / "proc"),
            str(tmp_path / "dev"),
            str(tmp_path / "dev/shm"),
        ]
        assert (tmp_path / "dev" / "null").is_char_device()
        raise RuntimeError("inside")
    assert image.mounts_below(tmp_path) == []


# --- The real image -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def built() -> image.BuiltImage:
    require_root()
    try:
        result = image.build()
    except image.ImageError as error:
        pytest.fail(f"building the image failed: {error}", pytrace=False)
    finally:
        assert image.mounts_below(image.CACHE_DIR) == []
    return result


@pytest.fixture(scope="module")
def layer_members(built: image.BuiltImage) -> dict[str, tuple[tarfile.TarInfo, str | None]]:
    """Every member of the real layer, with the sha256 of regular files under
    /usr/local and of a few small files' text (passwd, group)."""
    found_layout = check_layout(built.layout)
    members: dict[str, tuple[tarfile.TarInfo, str | None]] = {}
    with tarfile.open(found_layout["layer"], mode="r|") as layer:
        for member in layer:
            content = None
            if member.isfile() and (member.name.startswith("./usr/local/") or member.name.startswith("./etc/")):
                extracted = layer.extractfile(member)
                assert extracted is not None
                data = extracted.read()
                content = data.decode() if member.name in ("./etc/passwd", "./etc/group") else _sha(data)
            members[member.name] = (member, content)
    return members


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_the_built_image_is_named_by_its_manifest(built: image.BuiltImage) -> None:
    found = check_layout(built.layout)
    assert built.ref == f"{image.IMAGE_NAME}@{found['entry']['digest']}"
    assert built.name == found["entry"]["annotations"]["io.containerd.image.name"]
    assert built.name == f"localhost/pgpitr/postgres:pg15-walg-{RELEASE.tag}"
    assert found["config"] == {
        **image.image_config(image.BASE, image.pgpitr_layer(RELEASE), found["config"]["architecture"]),
        "rootfs": found["config"]["rootfs"],
    }
    assert built.size_bytes == built.archive.stat().st_size
    with tarfile.open(built.archive) as archive:
        assert {m.name for m in archive.getmembers() if m.isfile()} >= {"oci-layout", "index.json"}


def test_the_real_layer_has_pgpitrs_files_as_copy_makes_them(
    built: image.BuiltImage, layer_members: dict[str, tuple[tarfile.TarInfo, str | None]]
) -> None:
    files = image.layer_files(image.pgpitr_layer(RELEASE), walg_binary_path(RELEASE))
    assert {f.destination for f in files} >= {
        "/usr/local/bin/wal-g",
        "/usr/local/bin/pgpitr-entrypoint",
        "/usr/local/lib/pgpitr/pgpitr_runtime/names.py",
    }
    for file in files:
        member, digest = layer_members["." + file.destination]
        assert (member.uid, member.gid, member.mode) == (0, 0, file.mode), file.destination
        assert digest == _sha(file.source.read_bytes()), f"{file.destination} differs from {file.source}"
    installed = {name for name, (member, _) in layer_members.items() if name.startswith("./usr/local/lib/pgpitr/")}
    assert not [name for name in installed if "__pycache__" in name]


def test_the_real_layer_has_postgres_for_uid_999(layer_members: dict[str, tuple[tarfile.TarInfo, str | None]]) -> None:
    for program in image.POSTGRES_PROGRAMS:
        member, _ = layer_members[f"./usr/lib/postgresql/15/bin/{program}"]
        assert member.isfile() and member.mode & 0o111, program
    passwd = layer_members["./etc/passwd"][1] or ""
    group = layer_members["./etc/group"][1] or ""
    assert "postgres:x:999:999::/var/lib/postgresql:/bin/bash" in passwd.splitlines()
    assert "postgres:x:999:" in group
    for directory, mode in ((names.IMAGE_SOCKET_DIR, 0o3777), (names.IMAGE_DATA_MOUNT, 0o1777)):
        member, _ = layer_members["." + directory.replace("/var/run/", "/run/")]
        assert member.isdir()
        assert (member.uid, member.gid, member.mode) == (999, 999, mode), directory
    assert "./etc/postgresql/15/main/postgresql.conf" not in layer_members, "the package created a cluster"
    assert [name for name in layer_members if name.startswith("./dev/")] == []
    assert layer_members["./etc/resolv.conf"][0].size == 0


@pytest.fixture
def extracted(built: image.BuiltImage, tmp_path: Path) -> Iterator[Path]:
    rootfs = tmp_path / "rootfs"
    rootfs.mkdir()
    layer = check_layout(built.layout)["layer"]
    subprocess.run(["tar", "--extract", "--numeric-owner", f"--file={layer}", f"--directory={rootfs}"], check=True)
    try:
        yield rootfs
    finally:
        image.remove_tree(rootfs)
        assert image.mounts_below(tmp_path) == []


def test_the_real_image_starts_postgres_through_its_entrypoint(built: image.BuiltImage, extracted: Path) -> None:
    """As a pod would run it: the image's entrypoint, command, user and environment, a
    fresh /dev, an empty data directory: initdb, roles reconciled, then the server."""
    config = json.loads(
        (built.layout / "blobs" / "sha256" / check_layout(built.layout)["manifest"]["config"]["digest"][7:]).read_text()
    )["config"]
    env = dict(item.split("=", 1) for item in config["Env"]) | {
        names.PGDATA: names.IMAGE_PGDATA,
        names.POSTGRES_PASSWORD: "image-test",
        names.PGPITR_BACKUP_ROLE: names.BACKUP_ROLE,
        names.PGPITR_BACKUP_PASSWORD: "backup-test",
        names.PGPITR_MONITOR_ROLE: names.MONITOR_ROLE,
        names.PGPITR_MONITOR_PASSWORD: "monitor-test",
    }
    argv = [*config["Entrypoint"], *config["Cmd"], "-c", "listen_addresses="]
    with image.chroot_mounts(extracted, devices=True):
        server = subprocess.Popen(
            image.chroot_argv(extracted, argv, env, user=config["User"]),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            query = "SELECT string_agg(rolname, ',' ORDER BY rolname) FROM pg_roles WHERE rolname LIKE 'pgpitr%'"
            psql = ["psql", "--no-psqlrc", "-AtX", "-U", "postgres", "-d", "postgres", "-c"]
            deadline = time.monotonic() + 120
            while True:
                ready = subprocess.run(
                    image.chroot_argv(extracted, ["pg_isready", "-q"], env, user=config["User"]), check=False
                )
                if ready.returncode == 0:
                    break
                assert server.poll() is None, f"the server stopped: {server.communicate()[0]}"
                assert time.monotonic() < deadline, "the server did not become ready in 120 s"
                time.sleep(0.5)
            results = {}
            for sql in (query, "SHOW server_encoding", "SHOW lc_collate", "SHOW listen_addresses"):
                result = subprocess.run(
                    image.chroot_argv(extracted, [*psql, sql], env, user=config["User"]),
                    capture_output=True,
                    text=True,
                )
                assert result.returncode == 0, result.stderr
                results[sql] = result.stdout.strip()
            assert results[query] == f"{names.BACKUP_ROLE},{names.MONITOR_ROLE}"
            assert results["SHOW server_encoding"] == "UTF8"
            assert results["SHOW lc_collate"] == image.BASE.lang
            assert results["SHOW listen_addresses"] == ""
            conf = (extracted / names.IMAGE_PGDATA.lstrip("/") / "postgresql.conf").read_text()
            assert "listen_addresses = '*'" in conf, "initdb did not use the official image's sample"
            # The image's stop signal is a fast shutdown; the entrypoint exec'd postgres,
            # so the signal reaches the server itself.
            server.send_signal(getattr(signal, config["StopSignal"]))
            output, _ = server.communicate(timeout=60)
            assert server.returncode == 0, output
            assert "roles and grants reconciled" in output
        finally:
            if server.poll() is None:
                server.kill()
                server.wait()
    assert (extracted / names.IMAGE_PGDATA.lstrip("/")).stat().st_uid == 999


def test_the_same_content_makes_the_same_image(built: image.BuiltImage, tmp_path: Path) -> None:
    """A rebuild (say, after cluster/image.py changed without changing the image) keeps
    the digest, so a stack using `image.ref` does not roll its workloads for nothing."""
    plan = image.make_plan(walg_binary_path(RELEASE), RELEASE)
    image.build_image(plan, RELEASE, tmp_path / "again", tmp_path / "again")
    try:
        again = json.loads((tmp_path / "again" / image.RESULT_FILE).read_text())
        assert again["ref"] == built.ref
    finally:
        image.remove_tree(tmp_path / "again")


def test_a_second_build_is_cached(built: image.BuiltImage) -> None:
    started = time.monotonic()
    assert image.build() == built
    assert time.monotonic() - started < 10
