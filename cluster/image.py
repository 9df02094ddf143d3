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
import re
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final

from cluster import oci_layout
from cluster.config import IMAGE_REPOSITORY
from harness import mounts
from harness.build_cache import ensure_folder, exclusive
from harness.debian import PackagesError, install_missing, missing_packages
from harness.paths import REPOSITORY_ROOT, TOOLS_DIR
from harness.progress import Progress as HarnessProgress
from harness.toolchain import ToolchainError, build_walg, daemon_client_path
from pgpitr.versions import DEFAULT_WALG_VERSION, POSTGRES_IMAGE_SUFFIX, WALG_RELEASES, WalgRelease, image_tag
from pgpitr_runtime import names

CACHE_DIR: Final = TOOLS_DIR / "image"
ROOTFS_SCRIPT: Final = Path(__file__).resolve().with_name("image-rootfs.sh")

POSTGRES_MAJOR: Final = 15
"""The PostgreSQL that Debian's release (POSTGRES_IMAGE_SUFFIX, bookworm) ships."""
IMAGE_NAME: Final = IMAGE_REPOSITORY
DEBOOTSTRAP_VARIANT: Final = "minbase"
DEFAULT_PATH: Final = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
"""PATH of Debian's container images, which the official postgres image extends."""
POSTGRES_PORT: Final = 5432

WALG_BUILD: Final = "wal-g build"
"""The source of a copy that is the WAL-G binary built from source (the Dockerfile's
walg stage; harness.toolchain.build_walg here)."""
WALG_DAEMON_CLIENT_BUILD: Final = "wal-g daemon client build"
"""The source of a copy that is WAL-G's daemon client, built beside the WAL-G binary."""
BUILT_SOURCES: Final = frozenset({WALG_BUILD, WALG_DAEMON_CLIENT_BUILD})
"""Sources of copies that are built, not taken from the repository."""
IGNORED_NAMES: Final = frozenset({"__pycache__"})
"""Left out of copied folders, as .dockerignore leaves them out of the build context."""

RESULT_FILE: Final = "image.json"
"""Written last in a finished image folder: what `python -m cluster.image` prints."""

ARCHITECTURES: Final = {"amd64": "amd64", "arm64": "arm64"}
"""Debian architecture to the OCI (Go) name, for the architectures this is known to build on."""


class ImageError(RuntimeError):
    """A step of the build failed; the message is one line saying which and why."""


# --- What the image contains ---------------------------------------------------------


@dataclass(frozen=True)
class Copy:
    """A Dockerfile COPY: `source` is a repository path (ending in "/": the folder's
    content) or one of BUILT_SOURCES; `destination` an absolute path in the image ("/" at the end:
    into that folder)."""

    source: str
    destination: str


@dataclass(frozen=True)
class PgpitrLayer:
    """What docker/Dockerfile adds to the postgres base image, in Dockerfile terms; a test
    compares it with the Dockerfile, so the published and the local image cannot drift."""

    packages: tuple[str, ...]
    """Debian packages installed on top of PostgreSQL."""
    copies: tuple[Copy, ...]
    env: tuple[tuple[str, str], ...]
    user: str
    entrypoint: tuple[str, ...]
    cmd: tuple[str, ...]


def pgpitr_layer(walg: WalgRelease) -> PgpitrLayer:
    return PgpitrLayer(
        packages=("ca-certificates", "python3", *walg.runtime_packages),
        copies=(
            Copy(WALG_BUILD, f"{names.IMAGE_BIN_DIR}/wal-g"),
            Copy(WALG_DAEMON_CLIENT_BUILD, f"{names.IMAGE_BIN_DIR}/{names.WALG_DAEMON_CLIENT}"),
            Copy("docker/bin/", f"{names.IMAGE_BIN_DIR}/"),
            Copy("pgpitr_runtime/", f"{names.IMAGE_LIB_DIR}/pgpitr_runtime/"),
        ),
        env=((names.PGPITR_LIB, names.IMAGE_LIB_DIR),),
        user=f"{names.POSTGRES_UID}:{names.POSTGRES_UID}",
        entrypoint=(f"{names.IMAGE_BIN_DIR}/{names.ENTRYPOINT_SCRIPT}",),
        cmd=("postgres",),
    )


@dataclass(frozen=True)
class BaseImage:
    """What the official postgres image (Debian variant) provides that pgpitr's layer and
    its scripts rely on, made here from Debian's packages by cluster/image-rootfs.sh."""

    suite: str
    postgres_major: int
    uid: int
    """uid and gid of the postgres user."""
    locale: str
    """Generated in the image (/etc/locale.gen's spelling)."""
    lang: str
    data_dir: str
    """PGDATA's default and the image's volume; writable by any user, as there."""
    socket_dir: str

    @property
    def bin_dir(self) -> str:
        return f"/usr/lib/postgresql/{self.postgres_major}/bin"

    @property
    def env(self) -> tuple[tuple[str, str], ...]:
        return (
            ("PATH", f"{DEFAULT_PATH}:{self.bin_dir}"),
            ("LANG", self.lang),
            ("PG_MAJOR", str(self.postgres_major)),
            ("PGDATA", self.data_dir),
        )


BASE: Final = BaseImage(
    suite=POSTGRES_IMAGE_SUFFIX,
    postgres_major=POSTGRES_MAJOR,
    uid=names.POSTGRES_UID,
    locale="en_US.UTF-8",
    lang="en_US.utf8",
    data_dir=names.IMAGE_DATA_MOUNT,
    socket_dir=names.IMAGE_SOCKET_DIR,
)
POSTGRES_PROGRAMS: Final = ("postgres", "initdb", "pg_ctl", "pg_isready", "psql")
"""Found through PATH in the official image; pgpitr's scripts call them by name."""


def image_config(base: BaseImage, layer: PgpitrLayer, architecture: str) -> dict[str, Any]:
    """The image's OCI configuration without its layers: the official image's settings
    (PATH, LANG, PGDATA, port, volume, stop signal) and pgpitr's layer's."""
    env = dict(base.env) | dict(layer.env)
    return {
        "architecture": architecture,
        "os": "linux",
        "config": {
            "User": layer.user,
            "Env": [f"{key}={value}" for key, value in env.items()],
            "Entrypoint": list(layer.entrypoint),
            "Cmd": list(layer.cmd),
            "ExposedPorts": {f"{POSTGRES_PORT}/tcp": {}},
            "Volumes": {base.data_dir: {}},
            "StopSignal": "SIGINT",
        },
    }


@dataclass(frozen=True)
class LayerFile:
    """A file pgpitr's layer adds: from `source` on this machine to `destination` in the
    image, owned by root with `mode`, as a Dockerfile COPY makes it."""

    source: Path
    destination: str
    mode: int


def layer_files(layer: PgpitrLayer, walg_binary: Path, root: Path = REPOSITORY_ROOT) -> list[LayerFile]:
    files = []
    for copy in layer.copies:
        if copy.source == WALG_BUILD:
            sources = [(walg_binary, copy.destination)]
        elif copy.source == WALG_DAEMON_CLIENT_BUILD:
            sources = [(daemon_client_path(walg_binary), copy.destination)]
        elif copy.source.endswith("/"):
            folder = root / copy.source
            sources = [
                (path, copy.destination + path.relative_to(folder).as_posix())
                for path in sorted(folder.rglob("*"))
                if path.is_file() and not IGNORED_NAMES & set(path.relative_to(folder).parts)
            ]
        else:
            path = root / copy.source
            target = copy.destination + path.name if copy.destination.endswith("/") else copy.destination
            sources = [(path, target)]
        for source, destination in sources:
            if not source.is_file():
                raise ImageError(f"{source} does not exist; the image's layer needs it")
            files.append(LayerFile(source, destination, stat.S_IMODE(source.stat().st_mode)))
    return files


# --- Where the packages come from -------------------------------------------------------


@dataclass(frozen=True)
class AptSource:
    uri: str
    suite: str
    components: tuple[str, ...]


def apt_sources(etc_apt: Path = Path("/etc/apt")) -> list[AptSource]:
    """The binary package sources apt uses: sources.list and sources.list.d/*.list (one
    line each), sources.list.d/*.sources (deb822); other files there apt ignores too."""
    found: list[AptSource] = []
    one_line = [etc_apt / "sources.list", *sorted((etc_apt / "sources.list.d").glob("*.list"))]
    for path in one_line:
        if path.is_file():
            found += _one_line_sources(path.read_text())
    for path in sorted((etc_apt / "sources.list.d").glob("*.sources")):
        found += _deb822_sources(path.read_text())
    return found


def _one_line_sources(text: str) -> list[AptSource]:
    found = []
    for line in text.splitlines():
        fields = re.sub(r"\[[^\]]*\]", " ", line.split("#", 1)[0]).split()
        if len(fields) >= 3 and fields[0] == "deb":
            found.append(AptSource(fields[1].rstrip("/"), fields[2], tuple(fields[3:])))
    return found


def _deb822_sources(text: str) -> list[AptSource]:
    found = []
    for paragraph in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        key = ""
        for line in paragraph.splitlines():
            if line.startswith("#") or not line.strip():
                continue
            if line[0].isspace() and key:
                fields[key] += " " + line.strip()
            elif ":" in line:
                key, value = line.split(":", 1)
                key = key.strip().lower()
                fields[key] = value.strip()
        if "deb" not in fields.get("types", "").split() or fields.get("enabled", "yes").lower() == "no":
            continue
        components = tuple(fields.get("components", "").split())
        for uri in fields.get("uris", "").split():
            for suite in fields.get("suites", "").split():
                found.append(AptSource(uri.rstrip("/"), suite, components))
    return found


def debian_mirror(sources: Sequence[AptSource], suite: str) -> str:
    """The mirror apt installs `suite` from, for debootstrap."""
    for source in sources:
        if source.suite == suite and "main" in source.components:
            return source.uri
    raise ImageError(f"apt has no source for Debian {suite} main; add one to /etc/apt/sources.list.d/")


def image_apt_sources(sources: Sequence[AptSource], suite: str) -> list[AptSource]:
    """The image's apt sources: the release, its updates and security suites from the
    mirrors apt uses here (a Debian container image has these three), main only."""
    wanted = (suite, f"{suite}-updates", f"{suite}-security")
    chosen: dict[str, AptSource] = {}
    for source in sources:
        if source.suite in wanted and "main" in source.components and source.suite not in chosen:
            chosen[source.suite] = AptSource(source.uri, source.suite, ("main",))
    return [chosen[name] for name in wanted if name in chosen]


def sources_list(sources: Sequence[AptSource]) -> str:
    return "".join(f"deb {s.uri} {s.suite} {' '.join(s.components)}\n" for s in sources)


# --- Mounts and commands inside a root file system ----------------------------------------


def unmount_below(root: Path) -> None:
    """Unmounts everything at or under `root`, deepest first; fails if anything stays."""
    left = mounts.unmount_under([root])
    if left:
        raise ImageError(f"could not unmount {', '.join(left)}; unmount them by hand")


def remove_tree(path: Path) -> None:
    """Removes a root file system being built, after making sure nothing is mounted in it."""
    if path.exists():
        unmount_below(path)
        shutil.rmtree(path)


DEVICES: Final = (("null", 1, 3), ("zero", 1, 5), ("full", 1, 7), ("random", 1, 8), ("urandom", 1, 9), ("tty", 5, 0))
"""The character devices a container runtime gives every container."""


@contextlib.contextmanager
def chroot_mounts(root: Path, devices: bool = False) -> Iterator[None]:
    """/proc mounted in `root` while the block runs, and with `devices` a fresh /dev (a
    tmpfs with the usual devices and /dev/shm, as a container gets) instead of the root
    file system's own. Everything is unmounted afterwards, whatever happens."""
    try:
        _mount(["-t", "proc", "proc"], root / "proc")
        if devices:
            dev = root / "dev"
            _mount(["-t", "tmpfs", "-o", "mode=0755,nosuid", "tmpfs"], dev)
            for name, major, minor in DEVICES:
                os.mknod(dev / name, 0o666 | stat.S_IFCHR, os.makedev(major, minor))
                (dev / name).chmod(0o666)
            (dev / "shm").mkdir()
            _mount(["-t", "tmpfs", "-o", "mode=1777,nosuid,nodev", "shm"], dev / "shm")
        yield
    finally:
        unmount_below(root)


def _mount(arguments: Sequence[str], point: Path) -> None:
    point.mkdir(exist_ok=True)
    result = subprocess.run(["mount", *arguments, str(point)], capture_output=True, text=True)
    if result.returncode != 0:
        raise ImageError(f"mount {' '.join(arguments)} {point} failed: {result.stderr.strip()}")


def chroot_argv(root: Path, argv: Sequence[str], env: Mapping[str, str], user: str | None = None) -> list[str]:
    """`argv` run in `root` with exactly `env` (nothing of this process's environment),
    as `user` ("uid:gid") when given."""
    userspec = [f"--userspec={user}"] if user else []
    return ["chroot", *userspec, str(root), "/usr/bin/env", "-i", *(f"{k}={v}" for k, v in env.items()), *argv]


def run_logged(argv: Sequence[str], log: Path, what: str, env: Mapping[str, str] | None = None) -> None:
    """Runs `argv` with its output in `log`; a failure names `what` and the log's last line."""
    with log.open("a") as log_file:
        log_file.write(f"$ {' '.join(argv)}\n")
        log_file.flush()
        returncode = subprocess.run(
            argv, stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT, env=env
        ).returncode
    if returncode != 0:
        lines = [line.strip() for line in log.read_text().splitlines() if line.strip()]
        raise ImageError(f"{what} failed: {(lines or ['no output'])[-1]} (full log: {log})")


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
