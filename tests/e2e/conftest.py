"""End-to-end fixtures: a real PostgreSQL, the pinned WAL-G and an S3 server on loopback.

Never skipped: without the pinned WAL-G (`make setup` builds it) every test here fails
with the reason. Deselect them with `-m "not e2e"` on a machine that cannot build it.
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
        pytest.fail(f"end-to-end tests need the pinned WAL-G: {error}", pytrace=False)


@pytest.fixture(scope="module")
def stack(tools: Toolchain, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    directory: Path = tmp_path_factory.mktemp("drill") / "stack"
    running = local_stack.up(directory, "dev")
    yield running
    local_stack.down(directory)
