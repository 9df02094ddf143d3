"""Shared fixtures: the dev stack's config as the CLI would pass it."""

import copy
import json
from typing import Any

import pytest

from tests.mocks.harness import stack_file_config


@pytest.fixture
def dev_config() -> dict[str, Any]:
    """Pulumi.dev.yaml's config, objects decoded so tests can change them."""
    decoded: dict[str, Any] = {}
    for key, value in stack_file_config().items():
        try:
            decoded[key] = json.loads(value)
        except ValueError:
            decoded[key] = value
    return copy.deepcopy(decoded)
