"""The drill's state folder: where everything lives and what is running, in state.json."""

from __future__ import annotations

import json
import os
import socket
from dataclasses import asdict, dataclass, field
from pathlib import Path

from harness.paths import REPOSITORY_ROOT

DEFAULT_DIR = REPOSITORY_ROOT / ".drill" / "default"
DIR_VARIABLE = "PGPITR_DRILL_DIR"


def state_dir(explicit: str | None = None) -> Path:
    """--dir, else PGPITR_DRILL_DIR, else .drill/default in the repository."""
    return Path(explicit or os.environ.get(DIR_VARIABLE) or DEFAULT_DIR).resolve()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class S3State:
    server_port: int
    endpoint_port: int
    """The port WAL-G uses: the gateway in front of the server."""
    bucket: str
    server_pid: int | None = None
    gateway_pid: int | None = None
    hanging: bool = False
    """The gateway answers nothing (DrillStorage.hang)."""
    scheme: str = "http"
    """https when the server runs with a certificate (the benchmark: pgBackRest needs TLS)."""
    ca_cert_file: str | None = None
    """With https: the certificate WAL-G trusts (WALG_S3_CA_CERT_FILE)."""

    @property
    def endpoint(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.endpoint_port}"


@dataclass
class InstanceState:
    name: str
    port: int
    pgdata: str
    log: str
    backup: str | None = None
    target: str | None = None
    recovery: dict[str, str] = field(default_factory=dict)
    """The restore script's recovery input, to run it again on a restart."""


@dataclass
class DrillState:
    dir: str
    stack: str
    superuser_password: str
    backup_password: str
    monitor_password: str
    s3: S3State
    primary: InstanceState
    restores: list[InstanceState] = field(default_factory=list)
    libsodium_key: str = ""
    """The drill's libsodium key (base64), when the stack encrypts backups with libsodium."""
    pgp_key: str = ""
    """The drill's armored PGP private key, when the stack encrypts backups with PGP."""
    pgp_passphrase: str = ""
    """The passphrase protecting `pgp_key`; empty for a key without one."""
    retired_keys: dict[str, dict[str, str]] = field(default_factory=dict)
    """Keys the stack encrypted with before (backup.retiredEncryptionSecrets): Secret name ->
    its files (libsodium-key, or pgp-key and pgp-passphrase), as a cluster mounts them."""

    @property
    def path(self) -> Path:
        return Path(self.dir)

    def save(self) -> None:
        (self.path / "state.json").write_text(json.dumps(asdict(self), indent=2) + "\n")

    @staticmethod
    def load(directory: Path) -> DrillState | None:
        file = directory / "state.json"
        if not file.exists():
            return None
        raw = json.loads(file.read_text())
        return DrillState(
            dir=raw["dir"],
            stack=raw["stack"],
            superuser_password=raw["superuser_password"],
            backup_password=raw["backup_password"],
            monitor_password=raw["monitor_password"],
            s3=S3State(**raw["s3"]),
            primary=InstanceState(**raw["primary"]),
            restores=[InstanceState(**r) for r in raw.get("restores", [])],
            libsodium_key=raw.get("libsodium_key", ""),
            pgp_key=raw.get("pgp_key", ""),
            pgp_passphrase=raw.get("pgp_passphrase", ""),
            retired_keys=raw.get("retired_keys", {}),
        )

    def dsn(self, instance: InstanceState, user: str = "postgres", password: str | None = None) -> str:
        secret = password if password is not None else self.superuser_password
        return f"postgresql://{user}:{secret}@127.0.0.1:{instance.port}/postgres"
