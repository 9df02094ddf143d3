"""Drill stacks whose stack file is Pulumi.dev.yaml with some settings changed."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import yaml

from drill import deployment
from drill.deployment import DrillDeployment

ROOT = Path(__file__).resolve().parents[2]


def dev_stack_file(directory: Path, name: str, change: Callable[[dict[str, Any]], None]) -> Path:
    """Pulumi.<name>.yaml in `directory`: Pulumi.dev.yaml's config with `change` applied
    (the stack's name names its archive prefix, <name>/postgres)."""
    document = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())
    change(document["config"])
    path = directory / f"Pulumi.{name}.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


@contextlib.contextmanager
def changed_dev_stack(
    directory: Path, name: str, change: Callable[[dict[str, Any]], None]
) -> Iterator[DrillDeployment]:
    """A drill stack (S3 server and primary) on dev_stack_file, stopped and removed after."""
    stack_file = dev_stack_file(directory, name, change)
    running = deployment.up(directory / "stack", str(stack_file))
    try:
        yield running
    finally:
        deployment.down(directory / "stack")
