"""Plain-text secrets (policy/plaintext_secrets.py): credentials only from Secrets, none in
a ConfigMap."""

from __future__ import annotations

import ast
import base64
from collections.abc import Callable
from typing import Any

import pytest
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

from pgpitr_runtime import names
from policy import plaintext_secrets
from tests.mocks.harness import Recorded, Resource, containers
from tests.policy.analyzer import (
    PRIMARY,
    PRIMARY_CONFIG,
    REPOSITORY_ROOT,
    RESTORED_STATEFULSET,
    changed,
    container_of,
    only_violation,
    violations,
)

SECRETS = "no-plaintext-secrets"
BACKUP_CRONJOB = ("kubernetes:batch/v1:CronJob", "postgres-backup-cronjob")
LEAKED = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
PEM_KEY = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBkg\n-----END EC PRIVATE KEY-----\n"
PGP_KEY = "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQOYBF\n-----END PGP PRIVATE KEY BLOCK-----\n"


def set_env(container: str, name: str, entry: dict[str, Any]) -> Callable[[dict[str, Any]], object]:
    """Replaces how `container` (of a StatefulSet) sets `name` with `entry`."""

    def change(inputs: dict[str, Any]) -> None:
        env = container_of(inputs, container)["env"]
        (index,) = [i for i, e in enumerate(env) if e["name"] == name]
        env[index] = {"name": name, **entry}

    return change


def job_with_env(*env: dict[str, Any]) -> Resource:
    job = {"spec": {"template": {"spec": {"containers": [{"name": "task", "image": "busybox", "env": list(env)}]}}}}
    return Resource("kubernetes:batch/v1:Job", "task", job, {})


def config_map(data: dict[str, Any], field: str = "data") -> Resource:
    return Resource("kubernetes:core/v1:ConfigMap", "extra", {"metadata": {"name": "extra"}, field: data}, {})


@pytest.mark.parametrize(
    "name",
    [
        "AWS_SECRET_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID",
        "AWS_SESSION_TOKEN",
        "PGPASSWORD",
        "POSTGRES_PASSWORD",
        "PGPITR_BACKUP_PASSWORD",
        "PGPITR_MONITOR_PASSWORD",
        "DATA_SOURCE_PASS",
        "WALG_LIBSODIUM_KEY",
        "WALG_PGP_KEY",
        "WALG_PGP_KEY_PASSPHRASE",
        "REPLICATION_PASSWORD",
        "MY_API_SECRET",
        "db_password",
        "superuser-password",
        "secret",
    ],
)
def test_credential_names(name: str) -> None:
    assert plaintext_secrets.is_credential_name(name)


@pytest.mark.parametrize(
    "name",
    ["WALG_LIBSODIUM_KEY_TRANSFORM", "POSTGRES_PASSWORD_FILE", "PGUSER", "WALG_S3_PREFIX", "AWS_REGION", "PGPASSFILE"],
)
def test_names_that_are_not_credentials(name: str) -> None:
    assert not plaintext_secrets.is_credential_name(name)


def component_env_names() -> set[str]:
    """Every variable components/*.py sets by secretKeyRef: the first argument of each
    `secret_env(...)` and `<credentials>.env(...)` call, names.X resolved."""
    found: set[str] = set()
    for path in sorted((REPOSITORY_ROOT / "components").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            func = node.func
            called = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            if called not in ("secret_env", "env"):
                continue
            first = node.args[0]
            if isinstance(first, ast.Attribute) and isinstance(first.value, ast.Name) and first.value.id == "names":
                found.add(getattr(names, first.attr))
            elif isinstance(first, ast.Constant) and isinstance(first.value, str):
                found.add(first.value)
    return found


def secret_ref_env_names(recorded: Recorded) -> set[str]:
    """Every variable a recorded stack's containers read by secretKeyRef."""
    found: set[str] = set()
    for resource in recorded.resources:
        spec = resource.inputs.get("spec", {})
        pod = spec.get("jobTemplate", {}).get("spec", spec).get("template", {}).get("spec")
        for container in containers(pod).values() if pod else []:
            found |= {e["name"] for e in container.get("env", []) if "secretKeyRef" in e.get("valueFrom", {})}
    return found


def test_credential_names_cover_every_secret_the_components_put_in_env(
    restored: Recorded, onprem_restored: Recorded
) -> None:
    from_components = component_env_names()
    secret_names = {
        value
        for key, value in vars(names).items()
        if key.isupper() and isinstance(value, str) and value in from_components
    }
    assert {
        names.AWS_ACCESS_KEY_ID,
        names.AWS_SECRET_ACCESS_KEY,
        names.PGPASSWORD,
        names.POSTGRES_PASSWORD,
        names.PGPITR_BACKUP_PASSWORD,
        names.PGPITR_MONITOR_PASSWORD,
        names.WALG_LIBSODIUM_KEY,
        names.WALG_PGP_KEY,
        names.WALG_PGP_KEY_PASSPHRASE,
    } <= secret_names, "the scan of components/ missed a secret_env or credentials.env call"
    rendered = secret_ref_env_names(restored) | secret_ref_env_names(onprem_restored)
    assert rendered <= from_components
    assert [name for name in sorted(from_components | rendered) if not plaintext_secrets.is_credential_name(name)] == []
    assert secret_names <= plaintext_secrets.CREDENTIAL_ENV_NAMES


def test_literal_aws_secret_key_is_refused(onprem: Recorded) -> None:
    resource = changed(onprem, *PRIMARY, set_env("postgres", "AWS_SECRET_ACCESS_KEY", {"value": LEAKED}))
    message = only_violation(SECRETS, resource)
    assert "StatefulSet 'postgres-statefulset': container 'postgres' sets AWS_SECRET_ACCESS_KEY to a literal value" in (
        message
    )
    assert "valueFrom.secretKeyRef" in message and LEAKED not in message


def test_literal_password_in_a_cronjob_is_refused(dev: Recorded) -> None:
    def change(inputs: dict[str, Any]) -> None:
        (backup,) = inputs["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
        (entry,) = [e for e in backup["env"] if e["name"] == "PGPASSWORD"]
        entry.pop("valueFrom")
        entry["value"] = "hunter2"

    message = only_violation(SECRETS, changed(dev, *BACKUP_CRONJOB, change))
    assert "CronJob 'postgres-backup-cronjob': container 'backup' sets PGPASSWORD to a literal value" in message
    assert "hunter2" not in message


def test_init_container_key_from_a_config_map_is_refused(onprem_restored: Recorded) -> None:
    from_config_map = {"valueFrom": {"configMapKeyRef": {"name": "keys", "key": "libsodium-key"}}}
    resource = changed(
        onprem_restored, *RESTORED_STATEFULSET, set_env("restore", "WALG_LIBSODIUM_KEY", from_config_map)
    )
    message = only_violation(SECRETS, resource)
    assert "init container 'restore' sets WALG_LIBSODIUM_KEY from configMapKeyRef, not a Secret" in message


def test_literal_secrets_in_a_job_are_refused() -> None:
    job = job_with_env(
        {"name": "MY_API_SECRET", "value": "s3cr3t"},
        {"name": "TLS_KEY", "value": PEM_KEY},
        {"name": "POSTGRES_PASSWORD_FILE", "value": "/run/secrets/password"},
        {"name": "WALG_LIBSODIUM_KEY_TRANSFORM", "value": "base64"},
        {"name": "PGPASSWORD", "value": ""},
    )
    messages = violations(SECRETS, [job])
    assert messages == [
        "Job 'task': container 'task' sets MY_API_SECRET to a literal value; "
        "read it from a Secret with valueFrom.secretKeyRef.",
        "Job 'task': container 'task' sets TLS_KEY to a literal private key; "
        "read it from a Secret with valueFrom.secretKeyRef.",
    ]


def test_secret_values_unknown_during_preview_are_skipped(onprem: Recorded) -> None:
    unknown = changed(onprem, *PRIMARY, set_env("postgres", "AWS_SECRET_ACCESS_KEY", {"value": UNKNOWN_STRING_VALUE}))
    assert violations(SECRETS, [unknown]) == []
    maps = [config_map({"password": UNKNOWN_STRING_VALUE}), config_map(UNKNOWN_STRING_VALUE)]  # type: ignore[arg-type]
    assert violations(SECRETS, maps) == []


def test_config_map_with_a_password_key_is_refused(onprem: Recorded) -> None:
    def change(inputs: dict[str, Any]) -> None:
        inputs["data"]["superuser-password"] = "hunter2"

    message = only_violation(SECRETS, changed(onprem, *PRIMARY_CONFIG, change))
    assert message == "ConfigMap 'postgres-config': data key 'superuser-password' is a credential; keep it in a Secret."


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"tls.key": PEM_KEY}, "data"),
        ({"walg-pgp": PGP_KEY}, "data"),
        ({"tls.key": base64.b64encode(PEM_KEY.encode()).decode()}, "binaryData"),
    ],
    ids=["pem", "pgp", "binary-pem"],
)
def test_config_map_with_a_private_key_is_refused(data: dict[str, str], field: str) -> None:
    message = only_violation(SECRETS, config_map(data, field))
    assert f"ConfigMap 'extra': {field} key '{next(iter(data))}' holds a private key; keep it in a Secret." == message


def test_config_map_without_secrets_passes() -> None:
    public = {"ca.crt": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", "password_file": "", "x": "1"}
    assert violations(SECRETS, [config_map(public)]) == []
