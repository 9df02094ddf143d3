"""pgpitr's image built on this machine, without Docker or a registry.

`python -m cluster.image` makes the image docker/Dockerfile describes from parts this
machine can get, and prints one JSON object: `ref` (the image by manifest digest, for
`image.ref`), `name` (by tag), `layout` (an OCI image layout), `archive` (that layout as
the tar `ctr -n k8s.io images import` takes) and `size_bytes` (the archive's size).

1. The base: `debootstrap --variant=minbase` of the Debian release the published image
   is built on, from the mirror apt uses, with Debian's PostgreSQL in place of the
   official postgres image, set up the way that image is (cluster/image-rootfs.sh: uid
   999, a UTF-8 LANG, no cluster, PATH to the server's programs).
2. pgpitr's layer on top, from one description (`pgpitr_layer`) that a test compares
   with docker/Dockerfile: WAL-G built by harness.toolchain, docker/bin, pgpitr_runtime,
   the same environment, user, entrypoint and command. Each program is run once inside
   it, as the Dockerfile's last RUN does.
3. An OCI image layout written by hand: one uncompressed layer made with
   `tar --numeric-owner`, its config, the manifest, and index.json naming the image
   `localhost/pgpitr/postgres:<tag>`; `localhost/` so the CRI does not rewrite the name.

Each step is cached under .tools/image/ and keyed by a digest of its inputs; with
nothing changed, a run takes a second or two. Building needs root (debootstrap, chroot,
mount); debootstrap is installed when missing. Mounts made inside a root file system
are always unmounted, also when a step fails.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final

from cluster import oci_layout
from cluster.apt_sources import AptSource, apt_sources, debian_mirror, image_apt_sources, sources_list
from cluster.chroot import chroot_argv, chroot_mounts, remove_tree, run_logged
from cluster.image_contents import (
    ARCHITECTURES,
    BASE,
    CACHE_DIR,
    DEBOOTSTRAP_VARIANT,
    IMAGE_NAME,
    POSTGRES_PROGRAMS,
    RESULT_FILE,
    ROOTFS_SCRIPT,
    ImageError,
    LayerFile,
    PgpitrLayer,
    image_config,
    layer_files,
    pgpitr_layer,
)
from harness.build_cache import ensure_folder, exclusive
from harness.debian import PackagesError, install_missing, missing_packages
from harness.progress import Progress as HarnessProgress
from harness.toolchain import ToolchainError, build_walg
from pgpitr.versions import DEFAULT_WALG_VERSION, WALG_RELEASES, WalgRelease, image_tag
from pgpitr_runtime import names

# --- The steps ----------------------------------------------------------------------------


class Progress(HarnessProgress):
    """The image build's progress lines: seconds since the build began."""

    def __init__(self) -> None:
        super().__init__("cluster.image", decimals=0)


def digest_of(*parts: object) -> str:
    """A short digest of JSON-able parts: the cache key of a step."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


HOST_PACKAGES: Final = ("debootstrap",)
"""Debian packages the build needs beyond a Debian system's essentials."""


def ensure_host_packages(progress: Progress) -> None:
    """debootstrap and what the build runs on this machine (harness.debian)."""
    missing = missing_packages(HOST_PACKAGES)
    if not missing:
        return
    progress.step(f"installing {' '.join(missing)} (apt-get)")
    try:
        install_missing(missing)
    except PackagesError as error:
        raise ImageError(str(error)) from None


def debootstrap_program() -> str:
    return shutil.which("debootstrap") or "/usr/sbin/debootstrap"


@dataclass(frozen=True)
class Plan:
    """Every step's inputs and where its result is cached."""

    architecture: str
    mirror: str
    image_sources: tuple[AptSource, ...]
    layer: PgpitrLayer
    files: tuple[LayerFile, ...]
    config: dict[str, Any]
    tag: str

    @property
    def debootstrap_key(self) -> str:
        return digest_of(BASE.suite, DEBOOTSTRAP_VARIANT, self.mirror, self.architecture)

    @property
    def base_key(self) -> str:
        return digest_of(
            self.debootstrap_key,
            asdict(BASE),
            self.layer.packages,
            sources_list(self.image_sources),
            ROOTFS_SCRIPT.read_text(),
        )

    @property
    def image_key(self) -> str:
        return digest_of(
            self.base_key,
            self.config,
            self.tag,
            [(f.destination, f.mode, file_sha256(f.source)) for f in self.files],
            Path(__file__).read_text(),  # how the layer is made
            Path(oci_layout.__file__).read_text(),  # and written
        )

    @property
    def debootstrap_dir(self) -> Path:
        return CACHE_DIR / f"debootstrap-{BASE.suite}-{self.debootstrap_key}"

    @property
    def base_dir(self) -> Path:
        return CACHE_DIR / f"base-pg{BASE.postgres_major}-{self.base_key}"

    def image_dir(self, key: str) -> Path:
        return CACHE_DIR / f"image-{self.tag}-{key}"


def make_plan(walg_binary: Path, walg: WalgRelease) -> Plan:
    machine = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True, check=True)
    architecture = ARCHITECTURES.get(machine.stdout.strip())
    if architecture is None:
        raise ImageError(f"building the image on {machine.stdout.strip()} is not supported (amd64 or arm64)")
    sources = apt_sources()
    layer = pgpitr_layer(walg)
    return Plan(
        architecture=architecture,
        mirror=debian_mirror(sources, BASE.suite),
        image_sources=tuple(image_apt_sources(sources, BASE.suite)),
        layer=layer,
        files=tuple(layer_files(layer, walg_binary)),
        config=image_config(BASE, layer, architecture),
        tag=image_tag(BASE.postgres_major, walg),
    )


def fresh_log(name: str) -> Path:
    """A step's log in the cache folder, emptied: it then holds the last attempt only."""
    log = CACHE_DIR / name
    log.write_text("")
    return log


def build_debootstrap(plan: Plan, target: Path) -> None:
    run_logged(
        [
            debootstrap_program(),
            f"--variant={DEBOOTSTRAP_VARIANT}",
            f"--arch={plan.architecture}",
            BASE.suite,
            str(target),
            plan.mirror,
        ],
        fresh_log("debootstrap.log"),
        f"debootstrap {BASE.suite}",
    )


def build_base(plan: Plan, target: Path) -> None:
    """A copy of the debootstrap result, with cluster/image-rootfs.sh run inside it."""
    log = fresh_log("base.log")
    run_logged(["cp", "-a", str(plan.debootstrap_dir), str(target)], log, "copying the debootstrap")
    (target / "etc" / "apt" / "sources.list").write_text(sources_list(plan.image_sources))
    (target / "etc" / "resolv.conf").unlink(missing_ok=True)
    shutil.copyfile("/etc/resolv.conf", target / "etc" / "resolv.conf")  # for apt, emptied below
    script = target / "tmp" / ROOTFS_SCRIPT.name
    shutil.copyfile(ROOTFS_SCRIPT, script)
    env = {
        "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME": "/root",
        "LC_ALL": "C",
        "POSTGRES_MAJOR": str(BASE.postgres_major),
        "POSTGRES_UID": str(BASE.uid),
        "PACKAGES": " ".join(plan.layer.packages),
        "LOCALE": BASE.locale,
        "LANG_VALUE": BASE.lang,
        "DATA_DIR": BASE.data_dir,
        "SOCKET_DIR": BASE.socket_dir,
    }
    env |= {key: value for key, value in os.environ.items() if key.lower() in {"http_proxy", "https_proxy"}}
    with chroot_mounts(target):
        run_logged(
            chroot_argv(target, ["/bin/bash", f"/tmp/{script.name}"], env),
            log,
            f"installing PostgreSQL {BASE.postgres_major} in the root file system ({ROOTFS_SCRIPT.name})",
        )
    script.unlink()
    # The container runtime provides these; the build machine's must not stay in the image.
    for name in ("resolv.conf", "hostname"):
        (target / "etc" / name).write_text("")


LAYER_FILES_MTIME: Final = 0
"""Modification time of pgpitr's files and the folders they change: the same files then
make the same layer, so a rebuild keeps the image's digest and workloads do not roll."""


def add_layer_files(root: Path, files: Sequence[LayerFile]) -> None:
    """pgpitr's files written into `root` as COPY makes them: root-owned, the source's
    mode, missing folders made 0755. A file already there is replaced, not written
    through (the root file system is a hard-linked copy of the cached base)."""
    touched: set[Path] = set()
    for file in files:
        target = root / file.destination.lstrip("/")
        missing = [parent for parent in target.parents if not parent.exists()]
        for folder in reversed(missing):
            folder.mkdir()
            folder.chmod(0o755)
            os.chown(folder, 0, 0)
        target.unlink(missing_ok=True)
        shutil.copyfile(file.source, target)
        target.chmod(file.mode)
        os.chown(target, 0, 0)
        touched |= {target, target.parent, *missing, *(folder.parent for folder in missing)}
    for path in touched:
        os.utime(path, (LAYER_FILES_MTIME, LAYER_FILES_MTIME), follow_symlinks=False)


def smoke_test(root: Path, plan: Plan, walg: WalgRelease) -> None:
    """Every program the image's scripts call, run once as the image's user with the
    image's environment (as the Dockerfile's last RUN does): PATH, the libraries WAL-G
    loads and the Python helpers are then known to work."""
    env = dict(item.split("=", 1) for item in plan.config["config"]["Env"])
    # The scripts run the helpers this way (pgpitr_runtime in docker/bin/pgpitr-lib.sh).
    helpers = ["env", f"PYTHONPATH={env[names.PGPITR_LIB]}", "python3", "-m", "pgpitr_runtime"]
    checks = [([program, "--version"], f"(PostgreSQL) {BASE.postgres_major}.") for program in POSTGRES_PROGRAMS]
    checks += [(["wal-g", "--version"], walg.tag), ([names.WALG_DAEMON_CLIENT, "--version"], walg.tag)]
    checks += [(helpers, "usage")]
    with chroot_mounts(root):
        for argv, expected in checks:
            result = subprocess.run(
                chroot_argv(root, argv, env | {"PYTHONDONTWRITEBYTECODE": "1"}, user=plan.layer.user),
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
            )
            if expected not in result.stdout + result.stderr:
                output = (result.stdout + result.stderr).strip().splitlines() or ["no output"]
                raise ImageError(f"`{' '.join(argv)}` in the image does not work: {output[-1]}")


# --- The build ------------------------------------------------------------------------------


@dataclass(frozen=True)
class BuiltImage:
    ref: str
    """The image by manifest digest: what `image.ref` takes."""
    name: str
    """The image by tag, as index.json names it for containerd."""
    layout: Path
    archive: Path
    size_bytes: int

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "layout": str(self.layout), "archive": str(self.archive)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> BuiltImage:
        return cls(data["ref"], data["name"], Path(data["layout"]), Path(data["archive"]), int(data["size_bytes"]))


def build_lock(progress: Progress) -> contextlib.AbstractContextManager[None]:
    """One build at a time: a second waits for the first, then finds its result cached.
    (The steps' own cache entries lock CACHE_DIR/.lock; this is the whole build's.)"""
    return exclusive(
        CACHE_DIR / ".build.lock", lambda: progress.step("waiting for another build of the image to finish")
    )


def cached_step(result: Path, progress: Progress, message: str, cold: str, make: Callable[[Path], None]) -> None:
    """`result`, made by `make(partial)` unless it exists (harness.build_cache: an
    interrupted step is redone, never reused). `cold` says how long the step takes."""
    if result.exists():
        progress.step(f"{message}: cached")
        return
    progress.step(f"{message}: building, {cold}")
    ensure_folder(result, make, Path.exists, remove=remove_tree, create=False)


def build(progress: Progress | None = None, walg: WalgRelease | None = None) -> BuiltImage:
    """Builds whatever is missing and returns the image (see the module's docstring)."""
    progress = progress or Progress()
    walg = walg or WALG_RELEASES[DEFAULT_WALG_VERSION]
    if os.geteuid() != 0:
        raise ImageError("building the image needs root (debootstrap, chroot, mount); run it as root")
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    with build_lock(progress):
        try:
            walg_binary = build_walg(walg)
        except ToolchainError as error:
            raise ImageError(str(error)) from None
        progress.step(f"WAL-G {walg.tag}: {walg_binary}")
        plan = make_plan(walg_binary, walg)
        image_dir = plan.image_dir(plan.image_key)
        if (image_dir / RESULT_FILE).is_file():
            progress.step(f"image {IMAGE_NAME}:{plan.tag}: cached in {image_dir}")
            return BuiltImage.from_json(json.loads((image_dir / RESULT_FILE).read_text()))

        ensure_host_packages(progress)
        cached_step(
            plan.debootstrap_dir,
            progress,
            f"debootstrap --variant={DEBOOTSTRAP_VARIANT} {BASE.suite} from {plan.mirror}",
            "about a minute",
            lambda target: build_debootstrap(plan, target),
        )
        cached_step(
            plan.base_dir,
            progress,
            f"PostgreSQL {BASE.postgres_major} and {' '.join(plan.layer.packages)} in the root file system",
            "about a minute",
            lambda target: build_base(plan, target),
        )
        cached_step(
            image_dir,
            progress,
            f"pgpitr's layer, checked, and the OCI layout of {IMAGE_NAME}:{plan.tag}",
            "about 10 seconds",
            lambda target: build_image(plan, walg, target, image_dir),
        )
        for stale in CACHE_DIR.glob("image-*"):
            if stale != image_dir:
                remove_tree(stale)
        built = BuiltImage.from_json(json.loads((image_dir / RESULT_FILE).read_text()))
        progress.step(f"image {built.ref}: {built.size_bytes / 1e6:.0f} MB")
        return built


def build_image(plan: Plan, walg: WalgRelease, target: Path, final: Path) -> None:
    """pgpitr's layer on a hard-linked copy of the base, checked, then the layout of it,
    in `target`, which becomes `final` when this succeeded."""
    target.mkdir()
    rootfs = target / "rootfs"
    run_logged(["cp", "-al", str(plan.base_dir), str(rootfs)], fresh_log("image.log"), "copying the base")
    add_layer_files(rootfs, plan.files)
    smoke_test(rootfs, plan, walg)
    name = f"{IMAGE_NAME}:{plan.tag}"
    try:
        layout = oci_layout.write_layout(rootfs, plan.config, name, target / "layout")
        remove_tree(rootfs)
        archive = target / "image.tar"
        oci_layout.write_archive(layout.path, archive)
    except oci_layout.LayoutError as error:
        raise ImageError(str(error)) from None
    built = BuiltImage(
        ref=f"{IMAGE_NAME}@{layout.manifest_digest}",
        name=name,
        layout=final / "layout",
        archive=final / "image.tar",
        size_bytes=archive.stat().st_size,
    )
    (target / RESULT_FILE).write_text(json.dumps(built.to_json(), indent=2) + "\n")


def main() -> int:
    try:
        built = build()
    except ImageError as error:
        print(f"cluster.image: {error}", file=sys.stderr)
        return 1
    print(json.dumps(built.to_json()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
