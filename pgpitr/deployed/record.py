"""The settings of a deployment that a later one may not change freely, as a stack output."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from pgpitr.deployed.locations import LocationSettings, opened_locations
from pgpitr.settings.bucket import AwsBucketSettings
from pgpitr.settings.stack import StackSettings

OUTPUT_NAME = "deployedSettings"
FORMAT = 1


@dataclass(frozen=True)
class DeployedSettings:
    """`objectLock` and `bucketName` are the settings (None: off, or a generated name), not
    what AWS made of them."""

    namespace: str
    bucket_provider: str
    bucket_name: str | None
    object_lock: bool
    encryption_secret: str | None = None
    """The Secret the archive's current key comes from (None: no encryption)."""
    retired_secrets: tuple[str, ...] = ()
    """backup.retiredEncryptionSecrets."""
    locations: tuple[LocationSettings, ...] = ()
    """The settings of each location of the primary's archive, first to current
    (pgpitr.deployed.locations)."""
    storage_size: str | None = None
    """storage.size (None: recorded by a pgpitr that did not record it)."""
    storage_class: str | None = None
    """storage.storageClass (None: the cluster's default class)."""
    postgres_version: int | None = None
    """postgresVersion (None: recorded by a pgpitr that did not record it)."""
    format: int = FORMAT

    @staticmethod
    def of(settings: StackSettings, previous: DeployedSettings | None = None) -> DeployedSettings:
        """The record of a deployment of `settings` over `previous` (None: a new stack)."""
        bucket = settings.bucket
        backup = settings.backup
        current = LocationSettings(backup.encryption.method if backup.encryption else None, backup.encryption_secret)
        return DeployedSettings(
            namespace=settings.namespace,
            bucket_provider=bucket.provider,
            bucket_name=bucket.name,
            object_lock=isinstance(bucket, AwsBucketSettings) and bucket.object_lock is not None,
            encryption_secret=backup.encryption_secret,
            retired_secrets=tuple(backup.retired_encryption_secrets),
            locations=opened_locations(previous.locations if previous else (), current),
            storage_size=settings.storage.size,
            storage_class=settings.storage.storage_class,
            postgres_version=settings.postgres_version,
        )

    def output(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "retired_secrets": list(self.retired_secrets),
            "locations": [location.output() for location in self.locations],
        }

    @staticmethod
    def from_output(value: Any) -> DeployedSettings | None:
        """The previous deployment's record; None when there is none (a new stack, one
        destroyed, or one deployed by a pgpitr that did not export it)."""
        # Outputs come back as JSON: numbers may be floats, and null values may be dropped.
        if not isinstance(value, dict) or value.get("format") != FORMAT:
            return None
        try:
            bucket_name = value.get("bucket_name")
            secret = value.get("encryption_secret")
            size, storage_class = value.get("storage_size"), value.get("storage_class")
            version = value.get("postgres_version")
            return DeployedSettings(
                namespace=str(value["namespace"]),
                bucket_provider=str(value["bucket_provider"]),
                bucket_name=None if bucket_name is None else str(bucket_name),
                object_lock=bool(value.get("object_lock", False)),
                encryption_secret=None if secret is None else str(secret),
                retired_secrets=tuple(str(name) for name in value.get("retired_secrets") or ()),
                locations=tuple(LocationSettings.from_output(raw) for raw in value.get("locations") or ()),
                storage_size=None if size is None else str(size),
                storage_class=None if storage_class is None else str(storage_class),
                postgres_version=None if version is None else int(version),
            )
        except (KeyError, ValueError):
            return None
