"""Plain-text secrets: containers read credentials from Secrets, and no ConfigMap holds a
credential or a private key."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Final

from pulumi_policy import ReportViolation, ResourceValidationArgs

if TYPE_CHECKING or __package__:  # policy.<module>, as the tests and mypy import it
    from .kubernetes_props import CONFIG_MAP_TYPE, pod_containers, pod_spec
    from .props import UNKNOWN, describe, elements, lookup
else:  # a top-level module: Pulumi runs the pack with policy/ first on sys.path
    from kubernetes_props import CONFIG_MAP_TYPE, pod_containers, pod_spec
    from props import UNKNOWN, describe, elements, lookup

CREDENTIAL_ENV_NAMES: Final = frozenset(
    {
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "PGPASSWORD",
        "POSTGRES_PASSWORD",
        "PGPITR_BACKUP_PASSWORD",
        "PGPITR_MONITOR_PASSWORD",
        "DATA_SOURCE_PASS",
        "WALG_LIBSODIUM_KEY",
        "WALG_PGP_KEY",
        "WALG_PGP_KEY_PASSPHRASE",
    }
)
"""Variables that carry a credential whatever they are called (pgpitr_runtime/names.py's
secret-carrying names, the exporter's password, AWS's keys), beside CREDENTIAL_MARKERS."""
CREDENTIAL_MARKERS: Final = ("PASSWORD", "SECRET", "PASSPHRASE")
"""Any name containing one of these (after normalize_key) is a credential..."""
PATH_SUFFIX: Final = "_FILE"
"""...unless it ends in _FILE: POSTGRES_PASSWORD_FILE names the file that holds the secret."""
PRIVATE_KEY: Final = re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----")
"""PEM (PKCS#1, PKCS#8, EC, OpenSSH, encrypted) and armored PGP private keys."""
SECRET_KEY_REF: Final = "secretKeyRef"


def normalize_key(name: str) -> str:
    """`name` in upper case with `-` and `.` as `_`: ConfigMap keys are spelled
    `superuser-password` where variables are spelled SUPERUSER_PASSWORD."""
    return name.upper().replace("-", "_").replace(".", "_")


def is_credential_name(name: str) -> bool:
    """A variable or key that holds a credential: one of CREDENTIAL_ENV_NAMES, or a name
    containing PASSWORD, SECRET or PASSPHRASE that does not end in _FILE."""
    key = normalize_key(name)
    if key in CREDENTIAL_ENV_NAMES:
        return True
    return not key.endswith(PATH_SUFFIX) and any(marker in key for marker in CREDENTIAL_MARKERS)


def holds_private_key(value: object) -> bool:
    """A string with a PEM or PGP private key block in it."""
    return isinstance(value, str) and PRIVATE_KEY.search(value) is not None


def decoded(value: object) -> object:
    """A ConfigMap binaryData value (base64) as text; the value itself when it is not base64."""
    if not isinstance(value, str):
        return value
    try:
        return base64.b64decode(value, validate=True).decode("utf-8", errors="replace")
    except (binascii.Error, ValueError):
        return value


def env_secret_findings(container: Mapping[str, object]) -> list[str]:
    """Where a container's env puts a credential in plain text: a credential-like variable
    with a literal value (or one read from a ConfigMap or elsewhere) instead of
    valueFrom.secretKeyRef, or any variable whose literal value is a private key. Empty
    values carry nothing; values unknown during preview are skipped. Never quotes a value."""
    fix = "read it from a Secret with valueFrom.secretKeyRef"
    findings: list[str] = []
    for entry in elements(lookup(container, "env")):
        name, value, source = lookup(entry, "name"), lookup(entry, "value"), lookup(entry, "valueFrom")
        if not isinstance(name, str) or value is UNKNOWN or source is UNKNOWN:
            continue
        literal = isinstance(value, str) and value != ""
        if literal and is_credential_name(name):
            findings.append(f"sets {name} to a literal value; {fix}")
        elif literal and holds_private_key(value):
            findings.append(f"sets {name} to a literal private key; {fix}")
        elif is_credential_name(name) and isinstance(source, Mapping) and lookup(source, SECRET_KEY_REF) is None:
            kinds = ", ".join(sorted(str(kind) for kind in source)) or "an empty valueFrom"
            findings.append(f"sets {name} from {kinds}, not a Secret; {fix}")
    return findings


def config_map_secret_findings(config_map: object) -> list[str]:
    """Where a ConfigMap holds a credential: a data or binaryData key that names one (with
    a non-empty value), or a value with a private key in it."""
    fix = "keep it in a Secret"
    findings: list[str] = []
    for field, decode in (("data", False), ("binaryData", True)):
        entries = lookup(config_map, field)
        if not isinstance(entries, Mapping):
            continue
        for key in entries:
            value = lookup(entries, key)
            if value is UNKNOWN or not isinstance(key, str):
                continue
            if is_credential_name(key) and value not in (None, ""):
                findings.append(f"{field} key {key!r} is a credential; {fix}")
            elif holds_private_key(decoded(value) if decode else value):
                findings.append(f"{field} key {key!r} holds a private key; {fix}")
    return findings


def validate_no_plaintext_secrets(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    """No credential in plain text: containers of StatefulSets, Jobs and CronJobs read
    credential-like variables from Secrets, and no ConfigMap holds a credential or a
    private key."""
    if args.resource_type == CONFIG_MAP_TYPE:
        for finding in config_map_secret_findings(args.props):
            report_violation(f"{describe(args)}: {finding}.", args.urn)
        return
    pod = pod_spec(args)
    if pod is None or pod is UNKNOWN:
        return
    for label, container in pod_containers(pod):
        for finding in env_secret_findings(container):
            report_violation(f"{describe(args)}: {label} {finding}.", args.urn)
