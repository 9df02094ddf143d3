"""A CronJob as every pgpitr job runs: never two at once, history kept, a failed run
visible as a failed Job (no restarts in place), non-root, no service account token."""

import pulumi
import pulumi_kubernetes as k8s

from components.pod_parts import pod_security_context, scratch_volumes


def scheduled_job(
    resource_name: str,
    name: str,
    namespace: pulumi.Input[str],
    schedule: str,
    time_zone: str,
    container: k8s.core.v1.ContainerArgs,
    service_account: str,
    labels: dict[str, str],
    deadline_seconds: int,
    opts: pulumi.ResourceOptions,
    volumes: list[k8s.core.v1.VolumeArgs] | None = None,
) -> k8s.batch.v1.CronJob:
    return k8s.batch.v1.CronJob(
        resource_name,
        metadata=k8s.meta.v1.ObjectMetaArgs(name=name, namespace=namespace, labels=labels),
        spec=k8s.batch.v1.CronJobSpecArgs(
            schedule=schedule,
            time_zone=time_zone,
            concurrency_policy="Forbid",
            starting_deadline_seconds=3600,
            successful_jobs_history_limit=3,
            failed_jobs_history_limit=3,
            job_template=k8s.batch.v1.JobTemplateSpecArgs(
                metadata=k8s.meta.v1.ObjectMetaArgs(labels=labels),
                spec=k8s.batch.v1.JobSpecArgs(
                    backoff_limit=1,
                    active_deadline_seconds=deadline_seconds,
                    template=k8s.core.v1.PodTemplateSpecArgs(
                        metadata=k8s.meta.v1.ObjectMetaArgs(labels=labels),
                        spec=k8s.core.v1.PodSpecArgs(
                            restart_policy="Never",
                            service_account_name=service_account,
                            automount_service_account_token=False,
                            security_context=pod_security_context(),
                            containers=[container],
                            volumes=[*scratch_volumes(), *(volumes or [])],
                        ),
                    ),
                ),
            ),
        ),
        opts=opts,
    )
