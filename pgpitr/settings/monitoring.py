"""Settings of the exporter sidecar and the PrometheusRule alerts."""

from pydantic import Field, field_validator

from pgpitr.settings.base import SettingsModel
from pgpitr.settings.image_reference import check_image_reference
from pgpitr.versions import POSTGRES_EXPORTER_IMAGE


class MonitoringSettings(SettingsModel):
    enabled: bool = True
    exporter_image: str = Field(
        POSTGRES_EXPORTER_IMAGE,
        description="The postgres_exporter sidecar's image, e.g. a copy in a private registry"
        " (registry/repository:tag or registry/repository@sha256:<digest>).",
    )
    rule_labels: dict[str, str] = Field(default_factory=lambda: {"release": "kube-prometheus-stack"})
    archive_lag_seconds: int = Field(600, ge=60, le=86400)
    backup_max_age_hours: int = Field(26, ge=1, le=24 * 60)
    runbook_url: str = Field(
        "https://github.com/pgpitr/pgpitr/blob/main/docs/runbook.md",
        pattern=r"^https://\S+$",
        description="Where the alerts' runbook_url links point (an anchor per alert is appended).",
    )

    @field_validator("exporter_image")
    @classmethod
    def _image_reference(cls, value: str) -> str:
        return check_image_reference(value)
