"""An S3 server that enforces IAM: moto in server mode with INITIAL_NO_AUTH_ACTION_COUNT,
so the setup below runs unauthenticated and every request after it is checked against
the calling user's policy. Each pgpitr identity becomes an IAM user whose policy is the
document the program generates for its role.

What moto does not check (seen with moto 5.2): the `s3:prefix` condition on ListBucket
(listing another prefix is allowed), and KMS permissions behind SSE-KMS. Tests must not
claim those; the policy documents themselves are checked for them under mocks.

One thing moto gets wrong is corrected here (`python -m tests.support.iam_sandbox` runs moto's
server with the fix): DeleteObjects, the batch delete WAL-G's `delete` uses. AWS checks
s3:DeleteObject on each key and reports the refused ones in the response's Errors;
moto checks it on the bucket ARN, so a policy granting s3:DeleteObject on a prefix (as
every pgpitr policy does) could delete nothing at all, and a refused delete would prove
nothing.
"""

from __future__ import annotations

import json
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from drill.state import free_port
from harness import processes
from harness.paths import REPOSITORY_ROOT

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
            [sys.executable, "-m", "tests.support.iam_sandbox", "-H", "127.0.0.1", "-p", str(self.port)],
            {
                "PATH": "/usr/bin:/bin",
                "HOME": str(self.directory),
                "PYTHONPATH": str(REPOSITORY_ROOT),
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


def authorize_batch_deletes_per_key() -> None:
    """Makes moto's DeleteObjects check s3:DeleteObject on every key against the caller's
    IAM policies, delete the permitted keys and report the others as AccessDenied, as
    AWS does. Replaces moto's handler of `POST /bucket?delete` (moto 5.2)."""
    from xml.etree import ElementTree

    from moto.core.responses import ActionResult
    from moto.s3.exceptions import MalformedXML, S3AccessDeniedError
    from moto.s3.responses import S3Response

    original = S3Response._bucket_response_post

    def bucket_response_post(self: Any, request: Any, bucket_name: str) -> Any:
        self.path = self._get_path(request)
        if not request.headers.get("Content-Length") or not self.is_delete_keys():
            return original(self, request, bucket_name)
        objects = [
            {local_name(field.tag): field.text for field in element if field.text}  # VersionId may be empty
            for element in ElementTree.fromstring(self.body)
            if local_name(element.tag) == "Object"
        ]
        if not objects:
            raise MalformedXML()
        permitted, errors = [], []
        for obj in objects:
            self.data["Action"] = "DeleteObject"
            try:
                self._authenticate_and_authorize_s3_action(bucket_name=bucket_name, key_name=obj["Key"])
            except S3AccessDeniedError:
                errors.append({"Key": obj["Key"], "Code": "AccessDenied", "Message": "Access Denied"})
            else:
                permitted.append(obj)
        bypass = self.headers.get("x-amz-bypass-governance-retention", "").lower() == "true"
        deleted, locked = self.backend.delete_objects(bucket_name, permitted, bypass) if permitted else ([], [])
        errors += [
            {"Key": key, "Code": "AccessDenied", "Message": "Access Denied because object protected by object lock."}
            for key in locked
        ]
        self.data["Action"] = "DeleteObjects"
        return self.serialized(
            ActionResult(
                {
                    "Deleted": [
                        {
                            "Key": key,
                            "VersionId": version or None,
                            "DeleteMarkerVersionId": marker or None,
                            "DeleteMarker": True if marker else None,
                        }
                        for key, version, marker in deleted
                    ],
                    "Errors": errors,
                }
            )
        )

    S3Response._bucket_response_post = bucket_response_post  # type: ignore[method-assign]


def local_name(tag: str) -> str:
    """An XML tag without its namespace: {http://s3.amazonaws.com/doc/2006-03-01/}Key -> Key."""
    return tag.rsplit("}", 1)[-1]


if __name__ == "__main__":
    from moto.server import main

    authorize_batch_deletes_per_key()
    main(sys.argv[1:])
