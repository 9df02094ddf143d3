"""What `cluster up` recorded: the processes it started, the machine as it was before
(restored by `cluster down`), and the generated credentials (kept across `down`)."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cluster.config import PASSWORD_KEYS, WorkDir
from harness.progress import Progress as HarnessProgress


class ClusterError(RuntimeError):
    """A step of the harness failed; the message is one line saying which and why."""


class Progress(HarnessProgress):
    """`cluster up`, `down`, `scenario`...: one line per step, seconds since the command began."""

    def __init__(self) -> None:
        super().__init__("cluster")


@dataclass
class ProcessRecord:
    pid: int
    program: str
    """argv[0], checked against /proc/<pid>/cmdline so a reused pid is never taken for ours."""
    log: str
    fingerprint: str = ""
    """Digest of its command line and configuration files: a change restarts it."""


@dataclass
class Baseline:
    """The machine before the first `cluster up`: what `cluster down` puts back."""

    sysctls: dict[str, str]
    existing_paths: dict[str, bool]
    """Directories outside the work dir that kubelet, containerd and CNI create, and
    whether each existed: only those that did not are removed."""
    iptables_chains: dict[str, list[str]]
    """"table:chain" per family (ipv4, ipv6): only chains that were not there are removed."""
    cgroups: list[str]
    nft_tables: list[str] = field(default_factory=list)
    """nf_tables tables ("family name"): those made since are removed."""


@dataclass
class ClusterState:
    processes: dict[str, ProcessRecord] = field(default_factory=dict)
    owners: list[int] = field(default_factory=list)
    """Pids of the `cluster up` runs whose mark (harness.processes.OWNER_VARIABLE) our
    processes carry; containerd's shims inherit it."""
    baseline: Baseline | None = None
    images: dict[str, str] = field(default_factory=dict)
    """Image name -> manifest digest, as imported."""
    image_ref: str | None = None
    """pgpitr's image by digest: the stack's `image.ref`."""
    namespace: str | None = None
    """The stack's namespace, where `cluster up` put the Secrets."""

    @classmethod
    def load(cls, work: WorkDir) -> ClusterState:
        if not work.state_file.is_file():
            return cls()
        data: dict[str, Any] = json.loads(work.state_file.read_text())
        baseline = data.get("baseline")
        return cls(
            processes={name: ProcessRecord(**record) for name, record in data.get("processes", {}).items()},
            owners=[int(owner) for owner in data.get("owners", [])],
            baseline=Baseline(**baseline) if baseline else None,
            images=dict(data.get("images", {})),
            image_ref=data.get("image_ref"),
            namespace=data.get("namespace"),
        )

    def save(self, work: WorkDir) -> None:
        work.root.mkdir(parents=True, exist_ok=True)
        partial = work.state_file.with_suffix(".partial")
        partial.write_text(json.dumps(asdict(self), indent=2, sort_keys=True) + "\n")
        partial.replace(work.state_file)


@dataclass(frozen=True)
class Credentials:
    """The S3 keys and database passwords, generated once and kept in the work dir."""

    s3_access_key_id: str
    s3_secret_access_key: str
    passwords: dict[str, str]

    @classmethod
    def ensure(cls, work: WorkDir) -> Credentials:
        if work.secrets_file.is_file():
            data: dict[str, Any] = json.loads(work.secrets_file.read_text())
            return cls(data["s3_access_key_id"], data["s3_secret_access_key"], dict(data["passwords"]))
        created = cls(
            s3_access_key_id="PGPITR" + secrets.token_hex(7).upper(),
            s3_secret_access_key=secrets.token_urlsafe(30),
            passwords={key: secrets.token_urlsafe(24) for key in PASSWORD_KEYS},
        )
        work.root.mkdir(parents=True, exist_ok=True)
        write_private(work.secrets_file, json.dumps(asdict(created), indent=2) + "\n")
        return created


def write_private(path: Path, content: str | bytes) -> None:
    """Writes a file only its owner can read, replacing it atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(content.encode() if isinstance(content, str) else content)
    partial.replace(path)


def write_if_changed(path: Path, content: str) -> bool:
    """Writes `content` unless the file has it already (kube-proxy exits when its
    configuration file is written to, even with the same content). True if it wrote."""
    if path.is_file() and path.read_text() == content:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)
    return True
