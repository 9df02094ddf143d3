"""Changes to a deployed stack that would lose or strand the archive, refused with one
line each, naming the setting and the way to do it instead."""

from __future__ import annotations

from pgpitr.deployed.record import DeployedSettings
from pgpitr.quantities import parse_quantity

PROJECT = "pgpitr"


def _line(key: str, message: str) -> str:
    return f"invalid stack config: {PROJECT}:{key}: {message}"


def refusals(previous: DeployedSettings | None, current: DeployedSettings, stack: str) -> list[str]:
    """Empty when `current` may be deployed over `previous`."""
    if previous is None:
        return []
    found = []
    if previous.namespace != current.namespace:
        found.append(
            _line(
                "namespace",
                f"cannot change on a deployed stack ({previous.namespace} -> {current.namespace}): a new primary"
                " would start in the new namespace on the same archive while the old one still runs, and the"
                " old namespace's volume would then be deleted. To move: `pulumi destroy` (the archive stays;"
                " a planned stop archives the last WAL), then `pulumi up` with the new namespace: the database"
                " comes back from the archive",
            )
        )
    if previous.bucket_provider != current.bucket_provider or previous.bucket_name != current.bucket_name:
        before = f"{previous.bucket_provider} {previous.bucket_name or '(generated)'}"
        after = f"{current.bucket_provider} {current.bucket_name or '(generated)'}"
        found.append(
            _line(
                "bucket.name" if previous.bucket_provider == current.bucket_provider else "bucket.provider",
                f"cannot change on a deployed stack ({before} -> {after}): the archive would stay behind in"
                f" the old bucket and the database would go on in an empty one. To move the archive, copy"
                f" everything under {stack}/ to the new bucket, then `pulumi destroy` and `pulumi up` with"
                " the new bucket: the database comes back from the copy",
            )
        )
    elif previous.object_lock != current.object_lock:
        found.append(
            _line(
                "bucket.objectLock",
                f"cannot be turned {'on' if current.object_lock else 'off'} on a deployed stack: S3 sets Object"
                " Lock when a bucket is created, so the bucket (and the archive in it) would be replaced."
                " Change its mode or days instead, or move the archive to a new bucket (see bucket.name)",
            )
        )
    found += storage_refusals(previous, current)
    if previous.postgres_version is not None and previous.postgres_version != current.postgres_version:
        found.append(
            _line(
                "postgresVersion",
                f"cannot change on a deployed stack yet ({previous.postgres_version} -> {current.postgres_version}):"
                " the data directory belongs to its major, and pgpitr has no upgrade path (pg_upgrade) yet;"
                " the new server would not start on it. Keep the version",
            )
        )
    still_readable = {current.encryption_secret, *current.retired_secrets}
    if previous.encryption_secret is not None and previous.encryption_secret not in still_readable:
        found.append(
            _line(
                "backup.encryption",
                f"the archive written so far is encrypted with the key in Secret {previous.encryption_secret}:"
                f" list {previous.encryption_secret} in backup.retiredEncryptionSecrets (and keep the Secret"
                " until retention has removed what it encrypted), or restores to any time before this change"
                " cannot read it",
            )
        )
    return found


def volume_grows(previous: DeployedSettings | None, current: DeployedSettings) -> bool:
    """`storage.size` is larger than the last deployment's (False when either is unknown)."""
    if previous is None or previous.storage_size is None or current.storage_size is None:
        return False
    return parse_quantity(current.storage_size) > parse_quantity(previous.storage_size)


def storage_refusals(previous: DeployedSettings, current: DeployedSettings) -> list[str]:
    """A volume grows in place; it cannot shrink or move to another StorageClass."""
    found = []
    before, after = previous.storage_size, current.storage_size
    if before is not None and after is not None and parse_quantity(after) < parse_quantity(before):
        found.append(
            _line(
                "storage.size",
                f"cannot shrink a deployed volume ({before} -> {after}): Kubernetes only grows volumes."
                " Keep the size, or, for a smaller volume, `pulumi destroy` (the archive stays), then"
                " `pulumi up` with the new size: the database comes back from the archive",
            )
        )
    if previous.storage_size is not None and previous.storage_class != current.storage_class:
        old, new = (name or "(the cluster default)" for name in (previous.storage_class, current.storage_class))
        found.append(
            _line(
                "storage.storageClass",
                f"cannot change on a deployed stack ({old} -> {new}): a volume stays in the class it"
                " was made in. To move: `pulumi destroy` (the archive stays), then `pulumi up` with the"
                " new class: the database comes back from the archive into a volume of that class",
            )
        )
    return found
