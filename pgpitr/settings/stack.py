"""StackSettings: every `pgpitr:*` key of a stack, with its default."""

import re
from typing import Any, Self

from pydantic import Field, field_validator, model_validator

from pgpitr.settings.aws import BucketSettings, Identity, ImageSettings
from pgpitr.settings.backup import BackupSettings
from pgpitr.settings.base import SettingsModel
from pgpitr.settings.database import PostgresqlParameters, ResourceSettings, StorageSettings
from pgpitr.settings.monitoring import MonitoringSettings
from pgpitr.settings.restore import RestoreSettings
from pgpitr.settings.verify import VerifySettings
from pgpitr.versions import (
    DEFAULT_POSTGRES_VERSION,
    DEFAULT_WALG_VERSION,
    SUPPORTED_POSTGRES_VERSIONS,
    WALG_RELEASES,
)

PRIMARY_NAME = "postgres"
"""Name of the primary's StatefulSet, Service and archive prefix."""
_NAMESPACE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


class StackSettings(SettingsModel):
    """Everything a stack can configure. Keys are the names typed with `pulumi config set`."""

    namespace: str = "database"
    postgres_version: int = DEFAULT_POSTGRES_VERSION
    walg_version: str = DEFAULT_WALG_VERSION
    image: ImageSettings = ImageSettings()
    bucket: BucketSettings = BucketSettings()
    identity: Identity
    """Defaults to {mode: irsa}, whose ARNs must then be set."""
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
    def _default_identity(cls, data: Any) -> Any:
        if isinstance(data, dict) and "identity" not in data:
            return {**data, "identity": {"mode": "irsa"}}
        return data

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
    def _restored_name_differs(self) -> Self:
        if self.restore.name == PRIMARY_NAME:
            raise ValueError(f"restore.name: must differ from the primary's name {PRIMARY_NAME!r}")
        return self
