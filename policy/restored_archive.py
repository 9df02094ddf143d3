"""The restored instance never archives into the archive it was restored from."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Final

from pulumi_policy import ReportViolation, ResourceValidationArgs

if TYPE_CHECKING or __package__:  # policy.<module>, as the tests and mypy import it
    from .kubernetes_props import RESTORED_ROLE, ROLE_LABEL, STATEFULSET_TYPE, pod_containers, pod_spec
    from .props import describe, elements, lookup
else:  # a top-level module: Pulumi runs the pack with policy/ first on sys.path
    from kubernetes_props import RESTORED_ROLE, ROLE_LABEL, STATEFULSET_TYPE, pod_containers, pod_spec
    from props import describe, elements, lookup

ARCHIVE: Final = "PGPITR_ARCHIVE"
SOURCE_ARCHIVE: Final = "PGPITR_SOURCE_ARCHIVE"
LOCATIONS_SUFFIX: Final = ".locations"
"""An archive is its first location and, beside it, its manifest and later locations
(pgpitr_runtime/archive.py)."""


def plain_env(container: Mapping[str, object]) -> dict[str, str]:
    """name -> value of the env entries with a plain string value (the last one wins);
    values from Secrets, ConfigMaps or unknown during preview are left out."""
    env: dict[str, str] = {}
    for entry in elements(lookup(container, "env")):
        name, value = lookup(entry, "name"), lookup(entry, "value")
        if isinstance(name, str) and isinstance(value, str):
            env[name] = value
    return env


def same_or_inside(prefix: str, source: str) -> bool:
    """True when archiving to `prefix` writes into the archive at `source` (its first
    location, or the folder beside it with its manifest and later locations)."""
    own = prefix.rstrip("/")
    for theirs in (source.rstrip("/"), source.rstrip("/") + LOCATIONS_SUFFIX):
        if own in (theirs, theirs + LOCATIONS_SUFFIX) or own.startswith(f"{theirs}/"):
            return True
    return False


def validate_restored_archive(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    """A restored instance never archives into the archive it was restored from: no
    container's PGPITR_ARCHIVE is (or is inside) any container's PGPITR_SOURCE_ARCHIVE."""
    if args.resource_type != STATEFULSET_TYPE or lookup(args.props, "metadata", "labels", ROLE_LABEL) != RESTORED_ROLE:
        return
    containers = [(label, plain_env(container)) for label, container in pod_containers(pod_spec(args))]
    sources = sorted({env[SOURCE_ARCHIVE] for _, env in containers if SOURCE_ARCHIVE in env})
    for label, env in containers:
        own = env.get(ARCHIVE)
        for source in sources:
            if own is not None and same_or_inside(own, source):
                report_violation(
                    f"{describe(args)}: {label} sets {ARCHIVE} {own!r}, the source archive "
                    f"({SOURCE_ARCHIVE} {source!r}); give the restored instance its own prefix so it "
                    "never writes into the archive it restores from.",
                    args.urn,
                )
