"""End-to-end fixtures: a real PostgreSQL, the pinned WAL-G and an S3 server on loopback.

Never skipped: without the pinned WAL-G (`make setup` builds it) every test here fails
with the reason. Deselect them with `-m "not e2e"` on a machine that cannot build it.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest

from drill import deployment, postgres
from drill.deployment import DrillDeployment
from harness.toolchain import Toolchain, ToolchainError, toolchain


@pytest.fixture(scope="session")
def tools() -> Toolchain:
    try:
        return toolchain()
    except ToolchainError as error:
        pytest.fail(f"end-to-end tests need the pinned WAL-G: {error}", pytrace=False)


@pytest.fixture(scope="module")
def shared_stack(tools: Toolchain, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DrillDeployment]:
    """One local stack per test module (starting one takes seconds, not milliseconds)."""
    directory: Path = tmp_path_factory.mktemp("drill") / "stack"
    running = deployment.up(directory, "dev")
    yield running
    deployment.down(directory)


@pytest.fixture
def stack(shared_stack: DrillDeployment) -> Iterator[DrillDeployment]:
    """The module's stack, healthy for every test whatever the test before did: storage
    answering, the primary running and its archive caught up; after the test, restored
    instances it left are removed."""
    healthy(shared_stack)
    yield shared_stack
    for instance in list(shared_stack.state.restores):
        shared_stack.remove_restored(instance)


def healthy(stack: DrillDeployment) -> None:
    stack.storage.start()
    if not postgres.running(stack.primary_base):
        stack.start_primary()
    stack.switch_wal_and_wait_archived(timeout=300)
