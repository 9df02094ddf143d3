"""Changes to a deployed stack that would lose or strand the archive, refused with one
line each, naming the setting and the way to do it instead."""

from __future__ import annotations

from pgpitr.deployed.record import DeployedSettings

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
