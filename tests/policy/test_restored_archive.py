"""The restored instance (policy/restored_archive.py) never archives into the archive it
was restored from."""

from __future__ import annotations

from typing import Any

import pytest
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

from pgpitr.container_env import restore_digest, restore_target_summary
from pgpitr_runtime.recovery import RecoveryTarget
from policy import restored_archive
from tests.mocks.harness import Recorded, containers, env_of
from tests.policy.analyzer import (
    PRIMARY,
    RESTORED_STATEFULSET,
    changed,
    container_of,
    only_violation,
    pod_of,
    seen_by,
    violations,
)


def test_onprem_restored_instance_archives_to_its_own_prefix(onprem_restored: Recorded) -> None:
    (statefulset,) = seen_by("restored-never-archives-into-source", onprem_restored)
    postgres = env_of(container_of(statefulset.inputs, "postgres"))
    digest = restore_digest(restore_target_summary(RecoveryTarget("xid", "771"), "auto"))
    assert postgres["PGPITR_ARCHIVE"] == f"s3://pgpitr-backups/onprem/postgres-restored/{digest}"
    assert postgres["PGPITR_SOURCE_ARCHIVE"] == "s3://pgpitr-backups/onprem/postgres"

    def into_source(inputs: dict[str, Any]) -> None:
        env = {e["name"]: e for e in container_of(inputs, "postgres")["env"]}
        env["PGPITR_ARCHIVE"]["value"] = env["PGPITR_SOURCE_ARCHIVE"]["value"]

    broken = changed(onprem_restored, *RESTORED_STATEFULSET, into_source)
    assert "'s3://pgpitr-backups/onprem/postgres'" in only_violation("restored-never-archives-into-source", broken)


def test_restored_variant_has_what_the_restore_policy_compares(restored: Recorded) -> None:
    (statefulset,) = seen_by("restored-never-archives-into-source", restored)
    envs = [env_of(c) for c in containers(statefulset.inputs["spec"]["template"]["spec"]).values()]
    pairs = [(e["PGPITR_ARCHIVE"], e["PGPITR_SOURCE_ARCHIVE"]) for e in envs if "PGPITR_SOURCE_ARCHIVE" in e]
    assert pairs and all(own != source and not restored_archive.same_or_inside(own, source) for own, source in pairs)


def test_restored_archiving_into_the_source_is_refused(restored: Recorded) -> None:
    def change(inputs: dict[str, Any]) -> None:
        postgres = container_of(inputs, "postgres")
        env = {e["name"]: e for e in postgres["env"]}
        env["PGPITR_ARCHIVE"]["value"] = env["PGPITR_SOURCE_ARCHIVE"]["value"]

    message = only_violation("restored-never-archives-into-source", changed(restored, *RESTORED_STATEFULSET, change))
    assert "StatefulSet 'postgres-restored-statefulset': container 'postgres' sets PGPITR_ARCHIVE" in message
    assert "'s3://backups-a1b2c3d/dev/postgres'" in message and "its own prefix" in message


@pytest.mark.parametrize(
    "own",
    [
        "s3://backups-a1b2c3d/dev/postgres.locations",
        "s3://backups-a1b2c3d/dev/postgres.locations/",
        "s3://backups-a1b2c3d/dev/postgres.locations/2",
        "s3://backups-a1b2c3d/dev/postgres/inside",
    ],
)
def test_restored_archiving_beside_the_source_is_refused(restored: Recorded, own: str) -> None:
    """The source archive is also its manifest and later locations, under `.locations`."""

    def change(inputs: dict[str, Any]) -> None:
        env = {e["name"]: e for e in container_of(inputs, "postgres")["env"]}
        env["PGPITR_ARCHIVE"]["value"] = own

    message = only_violation("restored-never-archives-into-source", changed(restored, *RESTORED_STATEFULSET, change))
    assert f"container 'postgres' sets PGPITR_ARCHIVE {own!r}" in message


@pytest.mark.parametrize(
    ("own", "inside"),
    [
        ("s3://b/dev/postgres", True),
        ("s3://b/dev/postgres.locations/3", True),
        ("s3://b/dev/postgres-restored/0a1b2c3d", False),
        ("s3://b/dev/postgres.locationsx", False),
        ("s3://b/dev/postgres-restored.locations", False),
    ],
)
def test_same_or_inside_knows_the_locations_folder(own: str, inside: bool) -> None:
    assert restored_archive.same_or_inside(own, "s3://b/dev/postgres") is inside


def test_sidecar_archiving_into_the_source_is_refused(restored: Recorded) -> None:
    def change(inputs: dict[str, Any]) -> None:
        container_of(inputs, "exporter")["env"].append(
            {"name": "PGPITR_ARCHIVE", "value": "s3://backups-a1b2c3d/dev/postgres/"}
        )

    message = only_violation("restored-never-archives-into-source", changed(restored, *RESTORED_STATEFULSET, change))
    assert "container 'exporter' sets PGPITR_ARCHIVE" in message


def test_prefix_from_a_secret_or_unknown_is_skipped(restored: Recorded) -> None:
    replaced: list[str] = []

    def change(inputs: dict[str, Any]) -> None:
        for name, container in containers(pod_of(inputs)).items():
            for entry in container["env"]:
                if entry["name"] == "PGPITR_ARCHIVE":
                    replaced.append(name)
                    if name == "postgres":
                        entry["value"] = UNKNOWN_STRING_VALUE
                    else:
                        entry.pop("value")
                        entry["valueFrom"] = {"configMapKeyRef": {"name": "x", "key": "prefix"}}

    assert violations("restored-never-archives-into-source", [changed(restored, *RESTORED_STATEFULSET, change)]) == []
    assert sorted(replaced) == ["postgres", "restore"]


def test_primary_statefulset_is_not_judged_as_restored(dev: Recorded) -> None:
    def change(inputs: dict[str, Any]) -> None:
        env = container_of(inputs, "postgres")["env"]
        prefix = next(e["value"] for e in env if e["name"] == "PGPITR_ARCHIVE")
        env.append({"name": "PGPITR_SOURCE_ARCHIVE", "value": prefix})

    assert violations("restored-never-archives-into-source", [changed(dev, *PRIMARY, change)]) == []
