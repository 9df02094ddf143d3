"""CloudWatch alarms on the backup bucket's size (S3's daily BucketSizeBytes metric):
a sudden daily growth, and optionally an absolute size."""

import pulumi
import pulumi_aws as aws

from pgpitr.settings.verify import StorageWatchSettings

GIB = 1024**3
Query = aws.cloudwatch.MetricAlarmMetricQueryArgs
DAY_SECONDS = 86400


class StorageWatch(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        bucket_name: pulumi.Input[str],
        settings: StorageWatchSettings,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("pgpitr:index:StorageWatch", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        size = aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
            namespace="AWS/S3",
            metric_name="BucketSizeBytes",
            dimensions={"BucketName": bucket_name, "StorageType": "StandardStorage"},
            period=DAY_SECONDS,
            stat="Average",
        )

        def alarm(suffix: str, description: str, threshold_gib: float, queries: list[Query]) -> None:
            aws.cloudwatch.MetricAlarm(
                f"{name}-{suffix}",
                alarm_description=f"pgpitr: {description}",
                comparison_operator="GreaterThanThreshold",
                evaluation_periods=1,
                threshold=threshold_gib * GIB,
                treat_missing_data="notBreaching",
                alarm_actions=settings.alarm_actions,
                metric_queries=queries,
                opts=child,
            )

        alarm(
            "daily-growth",
            "the backup bucket grew faster than verify.storage.maxDailyGrowthGiB in a day",
            settings.max_daily_growth_gib,
            [
                Query(id="size", metric=size, return_data=False),
                Query(id="growth", expression="DIFF(size)", label="Daily growth (bytes)", return_data=True),
            ],
        )
        if settings.max_size_gib is not None:
            alarm(
                "size",
                "the backup bucket is larger than verify.storage.maxSizeGiB",
                settings.max_size_gib,
                [Query(id="size", metric=size, return_data=True)],
            )
        self.register_outputs({})
