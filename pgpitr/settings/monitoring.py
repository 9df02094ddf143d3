"""Settings of the exporter sidecar and the PrometheusRule alerts."""

from pydantic import Field

from pgpitr.settings.base import SettingsModel


class MonitoringSettings(SettingsModel):
    enabled: bool = True
    rule_labels: dict[str, str] = Field(default_factory=lambda: {"release": "kube-prometheus-stack"})
    archive_lag_seconds: int = Field(600, ge=60, le=86400)
    backup_max_age_hours: int = Field(26, ge=1, le=24 * 60)
    runbook_url: str = Field(
        "https://github.com/pgpitr/pgpitr/blob/main/docs/runbook.md",
        pattern=r"^https://\S+$",
        description="Where the alerts' runbook_url links point (an anchor per alert is appended).",
    )
