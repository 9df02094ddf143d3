"""What the least-privilege tests share: an S3 server enforcing IAM (tests.support.iam_sandbox)
whose users hold the policies the program renders for the three pgpitr identities.

The fixtures are bound into each test module that uses them (`sandbox = iam.sandbox`),
so every module gets a fresh, empty server.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.iam_sandbox import IamSandbox

BUCKET = "pgpitr-least-privilege"
OTHER_BUCKET = "someone-elses-bucket"
SOURCE = "dev/postgres"
"""The primary's archive prefix; the restored instance and the verify jobs read it."""
RESTORED = "dev/postgres-restored"
"""The restored instance's own archive prefix."""
ROLES = {"primary": "postgres", "restored": "postgres-restored", "verify": "postgres-verify"}
"""Identity (sandbox user) -> the name of its role in the program."""


@functools.cache
def rendered_policies() -> dict[str, dict[str, Any]]:
    """The three roles' policies, exactly as the program renders them under mocks."""
    from tests.mocks.harness import run_program, stack_file_config

    config: dict[str, Any] = dict(stack_file_config())
    config["pgpitr:bucket"] = json.dumps({"name": BUCKET})
    config["pgpitr:restore"] = json.dumps({"enabled": True, "archive": True, "target": {"latest": True}})
    recorded = run_program(config)
    return {
        who: recorded.one("aws:iam/rolePolicy:RolePolicy", f"dev-{role}-walg-storage").json("policy")
        for who, role in ROLES.items()
    }


def backup_key_arn(policy: dict[str, Any]) -> str:
    """The KMS key a storage policy lets its holder use (the bucket's SSE-KMS key)."""
    (statement,) = (s for s in policy["Statement"] if s.get("Sid") == "UseBackupKey")
    (arn,) = statement["Resource"]
    return str(arn)


@pytest.fixture(scope="module")
def policies() -> dict[str, dict[str, Any]]:
    return rendered_policies()


@pytest.fixture(scope="module")
def sandbox(policies: dict[str, dict[str, Any]], tmp_path_factory: pytest.TempPathFactory) -> Iterator[IamSandbox]:
    """A new IAM-enforcing S3 server with BUCKET and OTHER_BUCKET, both empty, and one
    user per identity (plus the sandbox's admin); stopped after the module."""
    server = IamSandbox(tmp_path_factory.mktemp("iam"), [BUCKET, OTHER_BUCKET], policies)
    try:
        server.start()
        yield server
    finally:
        server.stop()
