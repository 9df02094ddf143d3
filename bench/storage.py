"""The benchmark's storage: one S3 server on loopback over TLS (pgBackRest speaks only
HTTPS to S3), used by WAL-G, pgBackRest and the raw copy alike, with the drill's
credentials and a self-signed certificate for 127.0.0.1.

Two servers: SeaweedFS (the default; Go, serves TLS itself) and moto behind the drill's
TLS gateway (`--storage moto`; single-threaded Python, it limits every transfer)."""

from __future__ import annotations

import json
import subprocess
import sys
from abc import ABC, abstractmethod
from dataclasses import dataclass, field, fields
from importlib.metadata import version
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from bench.seaweedfs import build_weed
from bench.versions import BENCH_SEAWEEDFS, SeaweedfsRelease
from drill.environment import DRILL_ACCESS_KEY_ID, DRILL_REGION, DRILL_SECRET_ACCESS_KEY
from drill.state import free_port
from harness import processes
from harness.paths import REPOSITORY_ROOT as ROOT

BUCKET = "pgpitr-bench"
STORAGE_SERVERS = ("seaweedfs", "moto")
"""`--storage` choices; the first is the default."""
STARTUP_TIMEOUT = 60.0
PROBE_KEY = "bench/.storage-ready"
PROBE_CLIENT = Config(connect_timeout=2, read_timeout=5, retries={"max_attempts": 1})
"""Readiness probes fail fast: the deadline is wait_for's, not boto3's retries."""


def write_self_signed_certificate(certificate: Path, key: Path) -> None:
    """A two-day certificate for localhost and 127.0.0.1, which the clients trust by file."""
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(certificate),
        ],
        check=True,
        capture_output=True,
    )


def free_ports(count: int, taken: set[int]) -> list[int]:
    """`count` free ports on 127.0.0.1, none in `taken` nor twice: each probe releases its
    port, so the next one may get the same again."""
    ports: list[int] = []
    while len(ports) < count:
        port = free_port()
        if port not in taken and port not in ports:
            ports.append(port)
    return ports


@dataclass
class Server:
    """A process start() started, and the file its output goes to."""

    pid: int
    log: Path


@dataclass
class TlsStorage(ABC):
    """An S3 server of the benchmark: start() runs it and creates the bucket, stop()
    stops whatever start() started, also after a start that failed halfway."""

    directory: Path
    port: int = field(init=False, default=0)
    """The TLS endpoint's port, on 127.0.0.1."""
    servers: list[Server] = field(init=False, default_factory=list)

    @property
    @abstractmethod
    def name(self) -> str:
        """The server and its version, as results.json and the progress lines name it."""

    @abstractmethod
    def start_servers(self) -> None:
        """Starts the server's processes (self.run_server) with TLS on self.port."""

    @property
    def certificate(self) -> Path:
        return self.directory / "s3-cert.pem"

    @property
    def private_key(self) -> Path:
        return self.directory / "s3-key.pem"

    @property
    def endpoint(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        write_self_signed_certificate(self.certificate, self.private_key)
        self.port = free_port()
        self.start_servers()
        processes.wait_for(self.answers, STARTUP_TIMEOUT, f"the S3 API of {self.name}")
        self.client("s3").create_bucket(Bucket=BUCKET)
        processes.wait_for(self.stores_objects, STARTUP_TIMEOUT, f"{self.name} to store an object")

    def run_server(self, argv: list[str], env: dict[str, str], log_name: str) -> None:
        log = self.directory / log_name
        self.servers.append(Server(processes.start_background(argv, env, log, container=False), log))

    def check_running(self) -> None:
        for server in self.servers:
            if not processes.alive(server.pid):
                raise processes.HarnessError(
                    f"the S3 server ({self.name}) exited while starting; its log: {server.log}"
                )

    def answers(self) -> bool:
        """Whether the S3 API answers a signed request over TLS."""
        self.check_running()
        try:
            self.client("s3", PROBE_CLIENT).list_buckets()
        except (BotoCoreError, ClientError):
            return False
        return True

    def stores_objects(self) -> bool:
        """Whether the bucket takes an object (SeaweedFS: its volume server has joined)."""
        self.check_running()
        client = self.client("s3", PROBE_CLIENT)
        try:
            client.put_object(Bucket=BUCKET, Key=PROBE_KEY, Body=b"ready")
            client.delete_object(Bucket=BUCKET, Key=PROBE_KEY)
        except (BotoCoreError, ClientError):
            return False
        return True

    def client(self, service: str, config: Config | None = None) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=DRILL_REGION,
            verify=str(self.certificate),
            aws_access_key_id=DRILL_ACCESS_KEY_ID,
            aws_secret_access_key=DRILL_SECRET_ACCESS_KEY,
            config=config,
        )

    def bytes_under(self, prefix: str) -> int:
        total = 0
        for page in self.client("s3").get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix):
            total += sum(int(item["Size"]) for item in page.get("Contents", []))
        return total

    def delete_under(self, prefix: str) -> None:
        client = self.client("s3")
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix):
            keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
            if keys:
                client.delete_objects(Bucket=BUCKET, Delete={"Objects": keys})

    def stop(self) -> None:
        while self.servers:
            processes.stop_pid(self.servers.pop().pid)


@dataclass
class MotoStorage(TlsStorage):
    """moto serves plain HTTP and the drill's gateway terminates TLS: pgBackRest rejects
    moto's own TLS server (its connections end without close_notify)."""

    @property
    def name(self) -> str:
        return f"moto {version('moto')} behind the drill's TLS gateway"

    def start_servers(self) -> None:
        [server_port] = free_ports(1, taken={self.port})
        self.run_server(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(server_port)],
            {"PATH": "/usr/bin:/bin", "HOME": str(self.directory)},
            "s3-server.log",
        )
        gateway = ["drill.s3_gateway", str(self.port), str(server_port), str(self.certificate), str(self.private_key)]
        self.run_server(
            [sys.executable, "-m", *gateway], {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}, "s3-gateway.log"
        )


@dataclass(frozen=True)
class SeaweedfsPorts:
    """Every port `weed server` listens on, all on 127.0.0.1: set explicitly, since its
    defaults (8333, 9333, ... and gRPC at port + 10000) may be taken."""

    s3: int
    s3_grpc: int
    master: int
    master_grpc: int
    volume: int
    volume_grpc: int
    filer: int
    filer_grpc: int

    @staticmethod
    def free(s3: int) -> SeaweedfsPorts:
        names = [item.name for item in fields(SeaweedfsPorts) if item.name != "s3"]
        return SeaweedfsPorts(s3=s3, **dict(zip(names, free_ports(len(names), taken={s3}), strict=True)))


def s3_identities(access_key: str, secret_key: str) -> dict[str, Any]:
    """SeaweedFS's -s3.config: one identity with every right, the drill's credentials."""
    return {
        "identities": [
            {
                "name": "pgpitr-bench",
                "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
                "actions": ["Admin", "Read", "List", "Tagging", "Write"],
            }
        ]
    }


@dataclass
class SeaweedfsStorage(TlsStorage):
    """SeaweedFS's `weed server` (master, volume server, filer, S3 API in one process),
    serving TLS itself on the S3 port; its data lives under `directory`."""

    weed: Path
    release: SeaweedfsRelease = BENCH_SEAWEEDFS

    @property
    def name(self) -> str:
        return f"seaweedfs {self.release.release} ({self.release.version})"

    @property
    def identities_file(self) -> Path:
        return self.directory / "s3-identities.json"

    @property
    def data_dir(self) -> Path:
        return self.directory / "seaweedfs"

    def server_argv(self, ports: SeaweedfsPorts) -> list[str]:
        """Every listener on 127.0.0.1, no telemetry, TLS on the S3 port with the storage's
        certificate. The filer's and S3 API's Unix sockets are in `directory`; the gRPC ones
        are in /tmp whatever the flags, and weed removes them when it stops."""
        return [
            str(self.weed),
            "-logtostderr",  # into s3-server.log, not files in /tmp
            "server",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-dir={self.data_dir}",
            f"-master.port={ports.master}",
            f"-master.port.grpc={ports.master_grpc}",
            "-master.telemetry=false",
            f"-volume.port={ports.volume}",
            f"-volume.port.grpc={ports.volume_grpc}",
            "-volume.preStopSeconds=0",  # no clients to drain at stop(): saves 10 s
            "-filer",
            f"-filer.port={ports.filer}",
            f"-filer.port.grpc={ports.filer_grpc}",
            f"-filer.localSocket={self.directory / 'filer.sock'}",
            "-s3",
            f"-s3.port={ports.s3}",
            f"-s3.port.grpc={ports.s3_grpc}",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            f"-s3.localSocket={self.directory / 's3.sock'}",
            f"-s3.config={self.identities_file}",
            f"-s3.cert.file={self.certificate}",
            f"-s3.key.file={self.private_key}",
        ]

    def start_servers(self) -> None:
        identities = s3_identities(DRILL_ACCESS_KEY_ID, DRILL_SECRET_ACCESS_KEY)
        self.identities_file.write_text(json.dumps(identities, indent=2) + "\n")
        self.data_dir.mkdir(exist_ok=True)
        argv = self.server_argv(SeaweedfsPorts.free(self.port))
        self.run_server(argv, {"PATH": "/usr/bin:/bin", "HOME": str(self.directory)}, "s3-server.log")


def storage_server(choice: str, directory: Path) -> TlsStorage:
    """The `--storage` server, not started; SeaweedFS's weed is built first if it is not cached."""
    if choice == "moto":
        return MotoStorage(directory)
    if choice == "seaweedfs":
        return SeaweedfsStorage(directory, weed=build_weed())
    raise ValueError(f"unknown storage server {choice!r}; one of {', '.join(STORAGE_SERVERS)}")
