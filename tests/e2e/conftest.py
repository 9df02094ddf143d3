"""End-to-end fixtures: a real PostgreSQL, the pinned WAL-G and an S3 server on loopback.

Skipped, with the reason, when WAL-G could not be built on this machine (`make setup`
records why in .tools/); everything else in the suite still runs.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest

from drill import local_stack
from drill.local_stack import LocalStack
from drill.toolchain import Toolchain, ToolchainError, toolchain


@pytest.fixture(scope="session")
def tools() -> Toolchain:
    try:
        return toolchain()
    except ToolchainError as error:
        pytest.skip(f"end-to-end tests need the pinned WAL-G: {error}")


@pytest.fixture(scope="module")
def stack(tools: Toolchain, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    directory: Path = tmp_path_factory.mktemp("drill") / "stack"
    running = local_stack.up(directory, "dev")
    yield running
    local_stack.down(directory)
