"""What pgpitr's local image holds (cluster/image.py builds it): the base, set up as the
published postgres image is, and pgpitr's layer on top, from one description
(`pgpitr_layer`) that a test compares with docker/Dockerfile: WAL-G built by
harness.toolchain, docker/bin, pgpitr_runtime, the same environment, user, entrypoint
and command."""

from __future__ import annotations

import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from cluster.config import IMAGE_REPOSITORY
from harness.paths import REPOSITORY_ROOT, TOOLS_DIR
from harness.toolchain import daemon_client_path
from pgpitr.versions import POSTGRES_IMAGE_SUFFIX, WalgRelease
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
