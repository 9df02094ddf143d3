"""The shipped stacks the policy tests judge: dev on AWS and onprem without AWS, each also
with a restored instance. The onprem runs are shared by every policy test module (no test
changes them: `changed` copies a resource before it breaks it)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.mocks.harness import Recorded, run_program
from tests.policy.analyzer import ONPREM_RESTORE, RESTORE, run_onprem


@pytest.fixture
def dev(dev_config: dict[str, Any]) -> Recorded:
    return run_program(dev_config)


@pytest.fixture
def restored(dev_config: dict[str, Any]) -> Recorded:
    dev_config["pgpitr:restore"] = RESTORE
    return run_program(dev_config)


@pytest.fixture(scope="session")
def onprem() -> Recorded:
    return run_onprem()


@pytest.fixture(scope="session")
def onprem_restored() -> Recorded:
    return run_onprem(ONPREM_RESTORE)
