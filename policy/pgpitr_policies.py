"""pgpitr's guardrails: the properties a point-in-time-recoverable PostgreSQL must keep.

Self-contained (pulumi_policy and the standard library only): a published pack is
packaged alone. Props arrive as Pulumi passes them, camelCase, wrapped in proxies that
raise when a value is unknown during preview; every read goes through `lookup`, which
turns such values into `UNKNOWN`, and the policies skip what they cannot know instead of
reporting it.

Both archive stores pass the same pack: the AWS policies judge only AWS resources, so a
stack without AWS (`bucket.provider: s3Compatible`) gives them nothing to check (and no
bucket to count), while the Kubernetes policies judge every stack alike.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from typing import Final, TypeGuard

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import (
    UNKNOWN_ARCHIVE_VALUE,
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_ASSET_VALUE,
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_OBJECT_VALUE,
    UNKNOWN_STRING_VALUE,
    UnknownValueError,
)

BUCKET_TYPES: Final = frozenset({"aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"})
ENCRYPTION_TYPES: Final = frozenset(
    {
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
    }
)
PUBLIC_ACCESS_BLOCK_TYPE: Final = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
ROLE_TYPE: Final = "aws:iam/role:Role"
ROLE_POLICY_TYPE: Final = "aws:iam/rolePolicy:RolePolicy"
IAM_POLICY_TYPE: Final = "aws:iam/policy:Policy"
STATEFULSET_TYPE: Final = "kubernetes:apps/v1:StatefulSet"
JOB_TYPE: Final = "kubernetes:batch/v1:Job"
CRONJOB_TYPE: Final = "kubernetes:batch/v1:CronJob"
CONFIG_MAP_TYPE: Final = "kubernetes:core/v1:ConfigMap"

ROLE_LABEL: Final = "pgpitr.io/role"
PRIMARY_ROLE: Final = "primary"
RESTORED_ROLE: Final = "restored"
POSTGRESQL_CONF_KEY: Final = "postgresql.conf"
KMS_ALGORITHM: Final = "aws:kms"
PUBLIC_ACCESS_FLAGS: Final = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
ARCHIVE_MODE_ON: Final = frozenset({"on", "true", "yes", "1", "always"})
WALG_PUSH: Final = re.compile(r"(?:\bwal-g\s+wal-push|(?<![\w-])pgpitr-wal-push)\b")
"""pgpitr's bounded wrapper (the shipped archive_command), or WAL-G itself."""
ARCHIVE: Final = "PGPITR_ARCHIVE"
SOURCE_ARCHIVE: Final = "PGPITR_SOURCE_ARCHIVE"
LOCATIONS_SUFFIX: Final = ".locations"
"""An archive is its first location and, beside it, its manifest and later locations
(pgpitr_runtime/archive.py)."""

_UNKNOWN_SENTINELS: Final = frozenset(
    {
        UNKNOWN_ARCHIVE_VALUE,
        UNKNOWN_ARRAY_VALUE,
        UNKNOWN_ASSET_VALUE,
        UNKNOWN_BOOLEAN_VALUE,
        UNKNOWN_NUMBER_VALUE,
        UNKNOWN_OBJECT_VALUE,
        UNKNOWN_STRING_VALUE,
    }
)


class Unknown:
    """The type of `UNKNOWN`: a value Pulumi cannot know until the update runs."""

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Final = Unknown()


# --- reading props -------------------------------------------------------------------


def known(value: object) -> object:
    """`value`, or `UNKNOWN` when it is one of Pulumi's preview placeholders."""
    if isinstance(value, str) and value in _UNKNOWN_SENTINELS:
        return UNKNOWN
    return value


def is_list(value: object) -> TypeGuard[Sequence[object]]:
    """A JSON array (a list or Pulumi's list proxy), not a string."""
    return isinstance(value, Sequence) and not isinstance(value, str | bytes)


def lookup(value: object, *path: str | int) -> object:
    """Follows `path` through mappings and lists: the value found, None where a step is
    absent (or not a container), `UNKNOWN` where a step cannot be known during preview."""
    current = known(value)
    for step in path:
        if current is UNKNOWN:
            return UNKNOWN
        try:
            if isinstance(step, str) and isinstance(current, Mapping):
                current = current.get(step)
            elif isinstance(step, int) and is_list(current):
                current = current[step] if -len(current) <= step < len(current) else None
            else:
                return None
        except UnknownValueError:
            return UNKNOWN
        current = known(current)
    return current


def elements(value: object) -> list[object]:
    """The elements of a list, each possibly `UNKNOWN`; [] for anything that is not a list."""
    if not is_list(value):
        return []
    return [lookup(value, index) for index in range(len(value))]


def plain_strings(values: object) -> list[str]:
    """A string or a list of strings (IAM's Action and Resource), unknown parts left out."""
    value = known(values)
    if isinstance(value, str):
        return [value]
    return [item for item in elements(value) if isinstance(item, str)]


def describe(args: ResourceValidationArgs) -> str:
    """How a violation names the resource: its kind and its Pulumi name."""
    return f"{args.resource_type.rsplit(':', 1)[-1]} {args.name!r}"


# --- S3 ------------------------------------------------------------------------------


def validate_bucket_encryption(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    """Every default-encryption rule is SSE-KMS (the backups' rotating customer key)."""
    if args.resource_type not in ENCRYPTION_TYPES:
        return
    rules = lookup(args.props, "rules")
    if rules is UNKNOWN:
        return
    fix = f"set rules[].applyServerSideEncryptionByDefault.sseAlgorithm to {KMS_ALGORITHM!r}"
    found = elements(rules)
    if not found:
        report_violation(f"{describe(args)} has no encryption rule: {fix}.", args.urn)
    for index, rule in enumerate(found):
        algorithm = lookup(rule, "applyServerSideEncryptionByDefault", "sseAlgorithm")
        if rule is UNKNOWN or algorithm is UNKNOWN or algorithm == KMS_ALGORITHM:
            continue
        report_violation(f"{describe(args)}: rule {index} encrypts with {algorithm!r}, not SSE-KMS: {fix}.", args.urn)


def validate_public_access_blocked(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    """All four public-access switches are on: the backup bucket is never public."""
    if args.resource_type != PUBLIC_ACCESS_BLOCK_TYPE:
        return
    for flag in PUBLIC_ACCESS_FLAGS:
        value = lookup(args.props, flag)
        if value is UNKNOWN or value is True:
            continue
        state = "is not set" if value is None else f"is {value!r}"
        report_violation(f"{describe(args)}: {flag} {state}; set {', '.join(PUBLIC_ACCESS_FLAGS)} to true.", args.urn)


def validate_buckets_protected(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    """Every bucket has an encryption configuration and a public access block. Counted,
    not matched by id: bucket ids are unknown during preview."""
    buckets = [r.name for r in args.resources if r.resource_type in BUCKET_TYPES]
    counts = Counter("encryption" if r.resource_type in ENCRYPTION_TYPES else r.resource_type for r in args.resources)
    companions = (
        ("encryption", "BucketServerSideEncryptionConfiguration", "an SSE-KMS BucketServerSideEncryptionConfiguration"),
        (PUBLIC_ACCESS_BLOCK_TYPE, "BucketPublicAccessBlock", "a BucketPublicAccessBlock with every flag true"),
    )
    for key, kind, fix in companions:
        if counts[key] < len(buckets):
            report_violation(
                f"{len(buckets)} S3 bucket(s) ({', '.join(sorted(buckets))}) but only {counts[key]} {kind}(s): "
                f"give every bucket {fix}.",
                None,
            )


# --- IAM -----------------------------------------------------------------------------


def policy_documents(args: ResourceValidationArgs) -> Iterator[tuple[str, object]]:
    """(where, document) for each IAM policy document the resource carries."""
    if args.resource_type in (ROLE_POLICY_TYPE, IAM_POLICY_TYPE):
        yield "policy", lookup(args.props, "policy")
    elif args.resource_type == ROLE_TYPE:
        yield "assumeRolePolicy", lookup(args.props, "assumeRolePolicy")
        inline = lookup(args.props, "inlinePolicies")
        for index, entry in enumerate(elements(inline)):
            yield f"inlinePolicies[{index}].policy", lookup(entry, "policy")


def wildcard_findings(document: object) -> list[str]:
    """What an Allow statement grants by wildcard: an Action `*` or `service:*`, a
    Resource `*`. Deny statements may use wildcards."""
    statements = lookup(document, "Statement")
    listed = [statements] if isinstance(statements, Mapping) else elements(statements)
    findings: list[str] = []
    for index, statement in enumerate(listed):
        if not isinstance(statement, Mapping) or lookup(statement, "Effect") == "Deny":
            continue
        sid = lookup(statement, "Sid")
        where = f"statement {index}" + (f" ({sid})" if isinstance(sid, str) and sid else "")
        findings.extend(
            f"{where} allows Action {action!r}: list the actions it needs"
            for action in plain_strings(lookup(statement, "Action"))
            if action == "*" or action.endswith(":*")
        )
        findings.extend(
            f"{where} allows Resource {resource!r}: scope it to the bucket, prefix or key ARNs"
            for resource in plain_strings(lookup(statement, "Resource"))
            if resource == "*"
        )
    return findings


def validate_iam_no_wildcards(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    """No Allow statement in a role, role policy or managed policy uses a wildcard."""
    for where, value in policy_documents(args):
        if value is UNKNOWN or value is None:
            continue
        document: object = value
        if isinstance(value, str):
            try:
                document = json.loads(value)
            except ValueError:
                report_violation(f"{describe(args)}: {where} is not valid JSON; give a JSON policy document.", args.urn)
                continue
        for finding in wildcard_findings(document):
            report_violation(f"{describe(args)}: {where} {finding}.", args.urn)


# --- Kubernetes workloads ------------------------------------------------------------


def pod_spec(args: ResourceValidationArgs) -> object:
    """The pod template's spec of a StatefulSet, Job or CronJob; None for other types."""
    if args.resource_type in (STATEFULSET_TYPE, JOB_TYPE):
        return lookup(args.props, "spec", "template", "spec")
    if args.resource_type == CRONJOB_TYPE:
        return lookup(args.props, "spec", "jobTemplate", "spec", "template", "spec")
    return None


def pod_containers(pod: object) -> list[tuple[str, Mapping[str, object]]]:
    """(label, container) for every known init container and container of a pod spec."""
    found: list[tuple[str, Mapping[str, object]]] = []
    for field, kind in (("initContainers", "init container"), ("containers", "container")):
        for index, container in enumerate(elements(lookup(pod, field))):
            if isinstance(container, Mapping):
                name = lookup(container, "name")
                found.append((f"{kind} {name!r}" if isinstance(name, str) else f"{kind} #{index}", container))
    return found


def is_root_uid(value: object) -> bool:
    """runAsUser 0 (the mock monitor and JSON may give it as 0.0)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and value == 0


def non_root_findings(pod: object, container: Mapping[str, object]) -> list[str]:
    """Why a container might run as root: runAsNonRoot false or unset, or runAsUser 0."""
    own = lookup(container, "securityContext", "runAsNonRoot")
    inherited = lookup(pod, "securityContext", "runAsNonRoot")
    findings: list[str] = []
    if own is False:
        findings.append("sets securityContext.runAsNonRoot false; set it true")
    elif own is None and inherited is not True and inherited is not UNKNOWN:
        findings.append("may run as root: set securityContext.runAsNonRoot true on the container or the pod")
    if is_root_uid(lookup(container, "securityContext", "runAsUser")):
        findings.append("sets securityContext.runAsUser 0 (root); use the postgres uid 999")
    return findings


def limit_findings(container: Mapping[str, object]) -> list[str]:
    """Which of the cpu and memory limits a container lacks."""
    limits = lookup(container, "resources", "limits")
    if limits is UNKNOWN:
        return []
    missing = [kind for kind in ("cpu", "memory") if lookup(limits, kind) in (None, "")]
    if not missing:
        return []
    return [f"has no {' or '.join(missing)} limit; set resources.limits.cpu and resources.limits.memory"]


def validate_containers(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    """Every container and init container runs non-root with cpu and memory limits."""
    pod = pod_spec(args)
    if pod is None or pod is UNKNOWN:
        return
    if is_root_uid(lookup(pod, "securityContext", "runAsUser")):
        report_violation(f"{describe(args)}: the pod sets securityContext.runAsUser 0 (root); use uid 999.", args.urn)
    for label, container in pod_containers(pod):
        for finding in non_root_findings(pod, container) + limit_findings(container):
            report_violation(f"{describe(args)}: {label} {finding}.", args.urn)


# --- postgresql.conf -----------------------------------------------------------------

_SETTING_LINE: Final = re.compile(r"([A-Za-z_][A-Za-z0-9_.]*)\s*=?\s*(.*)")
_BARE_VALUE: Final = re.compile(r"[^\s#]+")


def parse_conf_value(text: str) -> str | None:
    """The value at the start of `text`: a quoted string ('' and \\ escapes) or a bare
    word up to whitespace or `#`; None when there is none or the quote is unterminated."""
    if not text.startswith("'"):
        bare = _BARE_VALUE.match(text)
        return bare.group(0) if bare else None
    chars: list[str] = []
    index = 1
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text):
            chars.append(text[index + 1])
            index += 2
        elif char == "'" and text[index + 1 : index + 2] == "'":
            chars.append("'")
            index += 2
        elif char == "'":
            return "".join(chars)
        else:
            chars.append(char)
            index += 1
    return None


def parse_postgresql_conf(text: str) -> dict[str, str]:
    """name -> value (unquoted) of `name = value` lines; comments ignored, names
    case-insensitive, the last occurrence wins, as PostgreSQL reads the file."""
    settings: dict[str, str] = {}
    for line in text.splitlines():
        stripped = line.strip()
        match = _SETTING_LINE.fullmatch(stripped) if stripped and not stripped.startswith("#") else None
        value = parse_conf_value(match.group(2)) if match else None
        if match and value is not None:
            settings[match.group(1).lower()] = value
    return settings


def archiving_findings(settings: Mapping[str, str]) -> list[str]:
    """What keeps postgresql.conf from archiving every WAL segment through WAL-G."""
    findings: list[str] = []
    mode = settings.get("archive_mode")
    if mode is None or mode.lower() not in ARCHIVE_MODE_ON:
        state = "is not set (off)" if mode is None else f"is {mode!r}"
        findings.append(f"archive_mode {state}; set archive_mode = 'on'")
    command = settings.get("archive_command")
    if command is None or not WALG_PUSH.search(command):
        state = "is not set" if command is None else f"is {command!r}"
        findings.append(f"archive_command {state}; set archive_command = 'pgpitr-wal-push \"%p\"'")
    library = settings.get("archive_library")
    if library:
        findings.append(f"archive_library is {library!r}, which replaces archive_command; remove it")
    return findings


def validate_archiving(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    """The primary's postgresql.conf archives WAL with `wal-g wal-push`: without it there
    is no point-in-time recovery."""
    if args.resource_type != CONFIG_MAP_TYPE or lookup(args.props, "metadata", "labels", ROLE_LABEL) != PRIMARY_ROLE:
        return
    conf = lookup(args.props, "data", POSTGRESQL_CONF_KEY)
    if not isinstance(conf, str):
        return
    for finding in archiving_findings(parse_postgresql_conf(conf)):
        report_violation(f"{describe(args)}: {POSTGRESQL_CONF_KEY}: {finding}.", args.urn)


# --- the restored instance -----------------------------------------------------------


def plain_env(container: Mapping[str, object]) -> dict[str, str]:
    """name -> value of the env entries with a plain string value (the last one wins);
    values from Secrets, ConfigMaps or unknown during preview are left out."""
    env: dict[str, str] = {}
    for entry in elements(lookup(container, "env")):
        name, value = lookup(entry, "name"), lookup(entry, "value")
        if isinstance(name, str) and isinstance(value, str):
            env[name] = value
    return env


def same_or_inside(prefix: str, source: str) -> bool:
    """True when archiving to `prefix` writes into the archive at `source` (its first
    location, or the folder beside it with its manifest and later locations)."""
    own = prefix.rstrip("/")
    for theirs in (source.rstrip("/"), source.rstrip("/") + LOCATIONS_SUFFIX):
        if own in (theirs, theirs + LOCATIONS_SUFFIX) or own.startswith(f"{theirs}/"):
            return True
    return False


def validate_restored_archive(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    """A restored instance never archives into the archive it was restored from: no
    container's PGPITR_ARCHIVE is (or is inside) any container's PGPITR_SOURCE_ARCHIVE."""
    if args.resource_type != STATEFULSET_TYPE or lookup(args.props, "metadata", "labels", ROLE_LABEL) != RESTORED_ROLE:
        return
    containers = [(label, plain_env(container)) for label, container in pod_containers(pod_spec(args))]
    sources = sorted({env[SOURCE_ARCHIVE] for _, env in containers if SOURCE_ARCHIVE in env})
    for label, env in containers:
        own = env.get(ARCHIVE)
        for source in sources:
            if own is not None and same_or_inside(own, source):
                report_violation(
                    f"{describe(args)}: {label} sets {ARCHIVE} {own!r}, the source archive "
                    f"({SOURCE_ARCHIVE} {source!r}); give the restored instance its own prefix so it "
                    "never writes into the archive it restores from.",
                    args.urn,
                )


# --- plain-text secrets --------------------------------------------------------------

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


# --- the pack ------------------------------------------------------------------------

POLICY_RESOURCE_TYPES: Final[Mapping[str, frozenset[str]]] = {
    "s3-bucket-kms-encryption": ENCRYPTION_TYPES,
    "s3-public-access-blocked": frozenset({PUBLIC_ACCESS_BLOCK_TYPE}),
    "s3-bucket-protected": BUCKET_TYPES,
    "iam-no-wildcards": frozenset({ROLE_TYPE, ROLE_POLICY_TYPE, IAM_POLICY_TYPE}),
    "containers-non-root-with-limits": frozenset({STATEFULSET_TYPE, JOB_TYPE, CRONJOB_TYPE}),
    "postgres-archiving-on": frozenset({CONFIG_MAP_TYPE}),
    "restored-never-archives-into-source": frozenset({STATEFULSET_TYPE}),
    "no-plaintext-secrets": frozenset({STATEFULSET_TYPE, JOB_TYPE, CRONJOB_TYPE, CONFIG_MAP_TYPE}),
}
"""The resource types each policy looks at (the stack policy: the buckets it counts)."""

ALL_POLICIES: list[Policy] = [
    ResourceValidationPolicy(
        name="s3-bucket-kms-encryption",
        description="S3 default encryption uses SSE-KMS (aws:kms), so backups are encrypted with the stack's key.",
        validate=validate_bucket_encryption,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
    ResourceValidationPolicy(
        name="s3-public-access-blocked",
        description="S3 public access blocks turn on all four switches: backups are never public.",
        validate=validate_public_access_blocked,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
    StackValidationPolicy(
        name="s3-bucket-protected",
        description="Every S3 bucket comes with an encryption configuration and a public access block.",
        validate=validate_buckets_protected,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
    ResourceValidationPolicy(
        name="iam-no-wildcards",
        description="IAM Allow statements name their actions and resources: no '*' or 'service:*' actions, "
        "no '*' resource.",
        validate=validate_iam_no_wildcards,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
    ResourceValidationPolicy(
        name="containers-non-root-with-limits",
        description="Every container of a StatefulSet, Job or CronJob runs non-root and has cpu and memory limits.",
        validate=validate_containers,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
    ResourceValidationPolicy(
        name="postgres-archiving-on",
        description="The primary's postgresql.conf sets archive_mode on and archives with WAL-G (pgpitr-wal-push).",
        validate=validate_archiving,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
    ResourceValidationPolicy(
        name="restored-never-archives-into-source",
        description="A restored instance's PGPITR_ARCHIVE is never the source's archive (PGPITR_SOURCE_ARCHIVE).",
        validate=validate_restored_archive,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
    ResourceValidationPolicy(
        name="no-plaintext-secrets",
        description="Credentials reach containers only through valueFrom.secretKeyRef, and no ConfigMap holds "
        "a credential or a private key.",
        validate=validate_no_plaintext_secrets,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
]
