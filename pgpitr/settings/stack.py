"""StackSettings: every `pgpitr:*` key of a stack, with its default."""

import re
from typing import Any, Self

from pydantic import Field, field_validator, model_validator

from pgpitr.parameters.check import problems
from pgpitr.settings.aws import Identity, ImageSettings
from pgpitr.settings.backup import BackupSettings
from pgpitr.settings.base import SettingsModel
from pgpitr.settings.bucket import AwsBucketSettings, BucketSettings, S3CompatibleBucketSettings, default_provider
from pgpitr.settings.credentials import CredentialsSettings
from pgpitr.settings.database import PostgresqlParameters, ResourceSettings, StorageSettings
from pgpitr.settings.monitoring import MonitoringSettings
from pgpitr.settings.restore import RestoreSettings
from pgpitr.settings.verify import VerifySettings
from pgpitr.versions import DEFAULT_POSTGRES_VERSION, DEFAULT_WALG_VERSION, SUPPORTED_POSTGRES_VERSIONS, WALG_RELEASES

PRIMARY_NAME = "postgres"
"""Name of the primary's StatefulSet, Service and archive prefix."""
_NAMESPACE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_IDENTITY_WITHOUT_AWS = (
    "identity: does not apply with bucket.provider s3Compatible (the pods use bucket.credentialsSecret); remove it"
)


class StackSettings(SettingsModel):
    """Everything a stack can configure. Keys are the names typed with `pulumi config set`."""

    namespace: str = "database"
    postgres_version: int = DEFAULT_POSTGRES_VERSION
    walg_version: str = DEFAULT_WALG_VERSION
    image: ImageSettings = ImageSettings()
    bucket: BucketSettings = AwsBucketSettings()
    identity: Identity | None = None
    """AWS buckets only; defaults to {mode: irsa}, whose ARNs must then be set."""
    credentials: CredentialsSettings = CredentialsSettings()
    archive_timeout: int = Field(60, ge=10, le=3600)
    postgresql: PostgresqlParameters = PostgresqlParameters({})
    storage: StorageSettings = StorageSettings()
    resources: ResourceSettings = ResourceSettings()
    backup: BackupSettings = BackupSettings()
    monitoring: MonitoringSettings = MonitoringSettings()
    restore: RestoreSettings = RestoreSettings()
    verify: VerifySettings = VerifySettings()

    @model_validator(mode="before")
    @classmethod
    def _defaults(cls, data: Any) -> Any:
        """An AWS bucket unless `bucket.provider` says otherwise; its pods' identity IRSA
        unless `identity` says otherwise. An S3-compatible store needs no AWS identity."""
        if not isinstance(data, dict):
            return data
        bucket = default_provider(data.get("bucket", {}))
        data = {**data, "bucket": bucket}
        provider = bucket.get("provider") if isinstance(bucket, dict) else None
        if provider == "s3Compatible" and "identity" in data:
            # Refused whatever it holds: its own errors (a missing ARN...) would mislead.
            raise ValueError(_IDENTITY_WITHOUT_AWS)
        if "identity" not in data and provider == "aws":
            data["identity"] = {"mode": "irsa"}
        return data

    @model_validator(mode="after")
    def _aws_settings_need_aws(self) -> Self:
        if isinstance(self.bucket, S3CompatibleBucketSettings) and self.identity is not None:
            raise ValueError(_IDENTITY_WITHOUT_AWS)
        return self

    @property
    def aws_bucket(self) -> AwsBucketSettings | None:
        return self.bucket if isinstance(self.bucket, AwsBucketSettings) else None

    @field_validator("namespace")
    @classmethod
    def _namespace(cls, value: str) -> str:
        if not _NAMESPACE.match(value):
            raise ValueError(f"{value!r} is not a Kubernetes namespace name")
        return value

    @field_validator("postgres_version")
    @classmethod
    def _postgres_version(cls, value: int) -> int:
        if value not in SUPPORTED_POSTGRES_VERSIONS:
            raise ValueError(f"{value} is not supported; use one of {', '.join(map(str, SUPPORTED_POSTGRES_VERSIONS))}")
        return value

    @field_validator("walg_version")
    @classmethod
    def _walg_version(cls, value: str) -> str:
        if value not in WALG_RELEASES:
            raise ValueError(
                f"{value!r} is not a release pgpitr pins; known: {', '.join(WALG_RELEASES)}"
                " (add one to pgpitr/versions.py with its commit)"
            )
        return value

    @model_validator(mode="after")
    def _parameters_postgresql_accepts(self) -> Self:
        """Each `postgresql` value as this major's own catalogue says it may be."""
        found = problems(self.postgresql.root, self.postgres_version)
        if found:
            name, message = next(iter(found.items()))
            raise ValueError(f"postgresql.{name}: {message}")
        return self

    @model_validator(mode="after")
    def _restored_name_differs(self) -> Self:
        if self.restore.name == PRIMARY_NAME:
            raise ValueError(f"restore.name: must differ from the primary's name {PRIMARY_NAME!r}")
        return self
