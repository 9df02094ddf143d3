"""Settings of the recoverability checks that run on the cluster by themselves."""

from pydantic import Field, field_validator

from pgpitr.quantities import is_byte_quantity
from pgpitr.settings.backup import CronSchedule
from pgpitr.settings.base import SettingsModel


class RestoreDrillSettings(SettingsModel):
    """A scheduled restore of the latest backup, replayed to the end of the archive, in a
    throwaway pod; `sql` is an optional check that must return true."""

    enabled: bool = True
    schedule: CronSchedule = "0 4 1 * *"
    sql: str | None = Field(None, min_length=1, description="A query that must return true on the restored copy")
    scratch_size: str | None = Field(None, description="emptyDir size for the restored copy; default storage.size")
    deadline_hours: int = Field(12, ge=1, le=72)
    margin_hours: int = Field(24, ge=1, le=24 * 14, description="How late a successful drill may be before alerting")

    @field_validator("scratch_size")
    @classmethod
    def _scratch(cls, value: str | None) -> str | None:
        if value is not None and not is_byte_quantity(value):
            raise ValueError(f"{value!r} is not a size; write it like 50Gi")
        return value


class WalChainSettings(SettingsModel):
    """A scheduled `wal-g wal-verify integrity timeline`."""

    enabled: bool = True
    schedule: CronSchedule = "30 3 * * *"


class StorageWatchSettings(SettingsModel):
    """CloudWatch alarms on the bucket's daily BucketSizeBytes metric."""

    enabled: bool = True
    max_daily_growth_gib: float = Field(
        50, gt=0, alias="maxDailyGrowthGiB", description="Alarm when the bucket grows more than this in a day"
    )
    max_size_gib: float | None = Field(
        None, gt=0, alias="maxSizeGiB", description="Alarm when the bucket is larger than this"
    )
    alarm_actions: list[str] = Field(default_factory=list, description="SNS topic ARNs to notify")

    @field_validator("alarm_actions")
    @classmethod
    def _arns(cls, value: list[str]) -> list[str]:
        for arn in value:
            if not arn.startswith("arn:aws"):
                raise ValueError(f"{arn!r} is not an ARN (e.g. an SNS topic's)")
        return value


class VerifySettings(SettingsModel):
    drill: RestoreDrillSettings = RestoreDrillSettings()
    wal_chain: WalChainSettings = WalChainSettings()
    storage: StorageWatchSettings = StorageWatchSettings()
