"""An S3 server that enforces IAM: moto in server mode with INITIAL_NO_AUTH_ACTION_COUNT,
so the setup below runs unauthenticated and every request after it is checked against
the calling user's policy. Each pgpitr identity becomes an IAM user whose policy is the
document the program generates for its role.

What moto does not check (seen with moto 5.2): the `s3:prefix` condition on ListBucket
(listing another prefix is allowed), and KMS permissions behind SSE-KMS. Tests must not
claim those; the policy documents themselves are checked for them under mocks.
"""

from __future__ import annotations

import json
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from drill import processes
from drill.state import free_port

REGION = "us-east-1"
ADMIN = "pgpitr-admin"
ADMIN_POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
"""Only for the sandbox's own setup and inspection, never a pgpitr identity."""


@dataclass(frozen=True)
class Credentials:
    access_key_id: str
    secret_access_key: str


@dataclass
class IamSandbox:
    """`users` maps a user name to the policy document it gets."""

    directory: Path
    buckets: list[str]
    users: dict[str, dict[str, Any]]
    port: int = field(default_factory=free_port)
    pid: int | None = None
    credentials: dict[str, Credentials] = field(default_factory=dict)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def setup_calls(self) -> int:
        """Requests the unauthenticated setup makes: buckets, then per user three calls."""
        return len(self.buckets) + 3 * (len(self.users) + 1)

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.pid = processes.start_background(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            {
                "PATH": "/usr/bin:/bin",
                "HOME": str(self.directory),
                "INITIAL_NO_AUTH_ACTION_COUNT": str(self.setup_calls()),
            },
            self.directory / "moto-iam.log",
            container=False,
        )
        # A TCP probe, not an API call: every request before the setup counts.
        processes.wait_for(self._listening, 60, "the IAM-enforcing S3 server to listen")
        anonymous = Credentials("setup", "setup-secret")
        s3 = self.client("s3", anonymous)
        for bucket in self.buckets:
            s3.create_bucket(Bucket=bucket)
        iam = self.client("iam", anonymous)
        for user, policy in {ADMIN: ADMIN_POLICY, **self.users}.items():
            iam.create_user(UserName=user)
            iam.put_user_policy(UserName=user, PolicyName=f"{user}-policy", PolicyDocument=json.dumps(policy))
            key = iam.create_access_key(UserName=user)["AccessKey"]
            self.credentials[user] = Credentials(key["AccessKeyId"], key["SecretAccessKey"])

    def _listening(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True
        except OSError:
            return False

    def client(self, service: str, who: Credentials | str) -> Any:
        credentials = self.credentials[who] if isinstance(who, str) else who
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=credentials.access_key_id,
            aws_secret_access_key=credentials.secret_access_key,
        )

    def stop(self) -> None:
        processes.stop_pid(self.pid)
