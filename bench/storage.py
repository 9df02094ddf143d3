"""The benchmark's storage: one S3 server on loopback over TLS (pgBackRest speaks only
HTTPS to S3), used by WAL-G, pgBackRest and the raw copy alike."""

from __future__ import annotations

import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from drill import processes
from drill.environment import DRILL_ACCESS_KEY_ID, DRILL_REGION, DRILL_SECRET_ACCESS_KEY
from drill.state import free_port

BUCKET = "pgpitr-bench"
ROOT = Path(__file__).resolve().parent.parent


@dataclass
class TlsStorage:
    directory: Path
    port: int = 0
    pid: int | None = None
    gateway_pid: int | None = None

    @property
    def certificate(self) -> Path:
        return self.directory / "s3-cert.pem"

    @property
    def endpoint(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        key = self.directory / "s3-key.pem"
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
                str(self.certificate),
            ],
            check=True,
            capture_output=True,
        )
        # moto serves plain HTTP and the drill's gateway terminates TLS: pgBackRest
        # rejects moto's own TLS server (its connections end without close_notify).
        server_port, self.port = free_port(), free_port()
        self.pid = processes.start_background(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(server_port)],
            {"PATH": "/usr/bin:/bin", "HOME": str(self.directory)},
            self.directory / "s3-server.log",
            container=False,
        )
        processes.wait_for(lambda: self._listening(server_port), 60, "the S3 server")
        self.gateway_pid = processes.start_background(
            [
                sys.executable,
                "-m",
                "drill.s3_gateway",
                str(self.port),
                str(server_port),
                str(self.certificate),
                str(key),
            ],
            {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
            self.directory / "s3-gateway.log",
            container=False,
        )
        processes.wait_for(lambda: self._listening(self.port), 60, "the TLS S3 endpoint")
        self.client("s3").create_bucket(Bucket=BUCKET)

    @staticmethod
    def _listening(port: int) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            return False

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=DRILL_REGION,
            verify=str(self.certificate),
            aws_access_key_id=DRILL_ACCESS_KEY_ID,
            aws_secret_access_key=DRILL_SECRET_ACCESS_KEY,
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
        processes.stop_pid(self.gateway_pid)
        processes.stop_pid(self.pid)
