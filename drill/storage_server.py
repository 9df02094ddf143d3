"""The drill's storage: an S3 server (moto) on loopback, reached by WAL-G through a
gateway (drill/s3_gateway.py) that can refuse connections or accept and never answer,
so the tests can make storage fail the two ways a real endpoint does."""

from __future__ import annotations

import socket
import sys
from typing import Any, Final

import boto3

from drill import environment
from drill.state import DrillState
from harness import processes
from harness.paths import REPOSITORY_ROOT
from harness.processes import HarnessError

S3_START_TIMEOUT: Final = 60.0
GATEWAY_START_TIMEOUT: Final = 30.0


class DrillStorage:
    def __init__(self, state: DrillState) -> None:
        self.state = state

    def client(self) -> Any:
        """boto3 against the S3 server itself (not the gateway), for setup and inspection."""
        return boto3.client(
            "s3",
            endpoint_url=f"http://127.0.0.1:{self.state.s3.server_port}",
            region_name=environment.DRILL_REGION,
            aws_access_key_id=environment.DRILL_ACCESS_KEY_ID,
            aws_secret_access_key=environment.DRILL_SECRET_ACCESS_KEY,
        )

    def start_server(self) -> None:
        s3 = self.state.s3
        s3.server_pid = processes.start_background(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(s3.server_port)],
            {"PATH": "/usr/bin:/bin", "HOME": str(self.state.path)},
            self.state.path / "s3-server.log",
            container=False,
        )
        processes.wait_for(self._server_answers, S3_START_TIMEOUT, "the S3 server to answer")

    def _server_answers(self) -> bool:
        try:
            self.client().list_buckets()
            return True
        except Exception:
            if not processes.alive(self.state.s3.server_pid):
                raise HarnessError(f"the S3 server exited; see {self.state.path / 's3-server.log'}") from None
            return False

    def create_bucket(self) -> None:
        client = self.client()
        client.create_bucket(Bucket=self.state.s3.bucket)
        client.put_bucket_versioning(Bucket=self.state.s3.bucket, VersioningConfiguration={"Status": "Enabled"})

    def start_gateway(self, target: str | None = None) -> None:
        """The gateway WAL-G talks to, forwarding to the server (or to `target`: "hang")."""
        s3 = self.state.s3
        s3.gateway_pid = processes.start_background(
            [sys.executable, "-m", "drill.s3_gateway", str(s3.endpoint_port), target or str(s3.server_port)],
            {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPOSITORY_ROOT)},
            self.state.path / "s3-gateway.log",
            container=False,
        )
        processes.wait_for(self.gateway_accepts, GATEWAY_START_TIMEOUT, "the S3 gateway to listen")
        self.state.save()

    def gateway_accepts(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.state.s3.endpoint_port), timeout=1):
                return True
        except OSError:
            return False

    def stop(self) -> None:
        """A storage outage as WAL-G sees it: the endpoint refuses connections."""
        processes.stop_pid(self.state.s3.gateway_pid)
        self.state.s3.gateway_pid = None
        self.state.save()

    def hang(self) -> None:
        """Storage as WAL-G sees it when the endpoint accepts connections and never answers."""
        self.stop()
        self.start_gateway("hang")
        self.state.s3.hanging = True
        self.state.save()

    def start(self) -> None:
        """Storage answering again (after `stop` or `hang`)."""
        if self.state.s3.hanging:
            self.stop()
            self.state.s3.hanging = False
        if not processes.alive(self.state.s3.gateway_pid):
            self.start_gateway()
