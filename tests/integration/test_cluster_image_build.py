"""pgpitr's local image (cluster/image.py) built for real: debootstrap, PostgreSQL, the
WAL-G build and pgpitr's files, as an OCI layout (about two minutes cold, seconds from the
cache in .tools/image/), and looked inside and started. They need root, as the build
does, and fail without it."""

import hashlib
import json
import os
import signal
import subprocess
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cluster import chroot, image
from cluster import image_contents as contents
from harness.mounts import mounts_under
from harness.toolchain import walg_binary_path
from pgpitr.versions import DEFAULT_WALG_VERSION, WALG_RELEASES
from pgpitr_runtime import names
from tests.support.oci_layouts import check_layout

ROOT = Path(__file__).resolve().parents[2]
RELEASE = WALG_RELEASES[DEFAULT_WALG_VERSION]


def require_root() -> None:
    if os.geteuid() != 0:
        pytest.fail("building and running the image needs root (debootstrap, chroot, mount)", pytrace=False)


def test_mounts_are_undone_when_the_block_fails(tmp_path: Path) -> None:
    require_root()
    with pytest.raises(RuntimeError, match="inside"), chroot.chroot_mounts(tmp_path, devices=True):
        assert set(mounts_under([tmp_path])) == {
            str(tmp_path / "proc"),
            str(tmp_path / "dev"),
            str(tmp_path / "dev/shm"),
        }
        assert (tmp_path / "dev" / "null").is_char_device()
        raise RuntimeError("inside")
    assert mounts_under([tmp_path]) == []


# --- The real image -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def built() -> image.BuiltImage:
    require_root()
    try:
        result = image.build()
    except contents.ImageError as error:
        pytest.fail(f"building the image failed: {error}", pytrace=False)
    finally:
        assert mounts_under([contents.CACHE_DIR]) == []
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
    assert built.ref == f"{contents.IMAGE_NAME}@{found['entry']['digest']}"
    assert built.name == found["entry"]["annotations"]["io.containerd.image.name"]
    assert built.name == f"localhost/pgpitr/postgres:pg15-walg-{RELEASE.tag}"
    assert found["config"] == {
        **contents.image_config(contents.BASE, contents.pgpitr_layer(RELEASE), found["config"]["architecture"]),
        "rootfs": found["config"]["rootfs"],
    }
    assert built.size_bytes == built.archive.stat().st_size
    with tarfile.open(built.archive) as archive:
        assert {m.name for m in archive.getmembers() if m.isfile()} >= {"oci-layout", "index.json"}


def test_the_real_layer_has_pgpitrs_files_as_copy_makes_them(
    built: image.BuiltImage, layer_members: dict[str, tuple[tarfile.TarInfo, str | None]]
) -> None:
    files = contents.layer_files(contents.pgpitr_layer(RELEASE), walg_binary_path(RELEASE))
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
    for program in contents.POSTGRES_PROGRAMS:
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
        chroot.remove_tree(rootfs)
        assert mounts_under([tmp_path]) == []


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
    with chroot.chroot_mounts(extracted, devices=True):
        server = subprocess.Popen(
            chroot.chroot_argv(extracted, argv, env, user=config["User"]),
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
                    chroot.chroot_argv(extracted, ["pg_isready", "-q"], env, user=config["User"]), check=False
                )
                if ready.returncode == 0:
                    break
                assert server.poll() is None, f"the server stopped: {server.communicate()[0]}"
                assert time.monotonic() < deadline, "the server did not become ready in 120 s"
                time.sleep(0.5)
            results = {}
            for sql in (query, "SHOW server_encoding", "SHOW lc_collate", "SHOW listen_addresses"):
                result = subprocess.run(
                    chroot.chroot_argv(extracted, [*psql, sql], env, user=config["User"]),
                    capture_output=True,
                    text=True,
                )
                assert result.returncode == 0, result.stderr
                results[sql] = result.stdout.strip()
            assert results[query] == f"{names.BACKUP_ROLE},{names.MONITOR_ROLE}"
            assert results["SHOW server_encoding"] == "UTF8"
            assert results["SHOW lc_collate"] == contents.BASE.lang
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
        again = json.loads((tmp_path / "again" / contents.RESULT_FILE).read_text())
        assert again["ref"] == built.ref
    finally:
        chroot.remove_tree(tmp_path / "again")


def test_a_second_build_is_cached(built: image.BuiltImage) -> None:
    started = time.monotonic()
    assert image.build() == built
    assert time.monotonic() - started < 10
