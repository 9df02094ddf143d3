"""Reads this stack's raw config from the Pulumi runtime and validates it."""

from typing import Any

import pulumi
from pulumi.runtime import config as runtime_config

from pgpitr.settings import SettingsError, StackSettings, parse_settings


def raw_stack_config() -> tuple[dict[str, Any], set[str]]:
    """Every config key the CLI (or a test's mocks) passed in, and which are secrets.

    pulumi.Config reads one key at a time; listing them all is what lets a typo in a
    key name fail instead of being silently ignored.
    """
    values: dict[str, Any] = dict(runtime_config.get_config_env())
    values.update(runtime_config.CONFIG.get())
    secret_keys = set(runtime_config.get_config_secret_keys_env())
    secret_keys.update(key for key in values if runtime_config.is_config_secret(key))
    return values, secret_keys


def load_settings() -> StackSettings:
    """The validated settings, or a one-line pulumi.RunError (no traceback) naming the key."""
    values, secret_keys = raw_stack_config()
    try:
        return parse_settings(values, secret_keys)
    except SettingsError as error:
        raise pulumi.RunError(str(error)) from None
