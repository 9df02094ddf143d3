"""Real dependencies of the tests. A missing one fails the test that needs it, naming
what to install: a skipped check is not a passed one."""

import shutil

import pytest


def require_program(program: str, how: str = "run `make setup`") -> str:
    """The path of `program`, or a failure saying it is missing and how to get it."""
    path = shutil.which(program)
    if path is None:
        pytest.fail(f"{program} is not installed; {how}", pytrace=False)
    return path
