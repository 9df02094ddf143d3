"""The stack configuration contract: typed, validated models of `pgpitr:*` config keys."""

from pgpitr.settings.loading import SettingsError, parse_settings
from pgpitr.settings.stack import StackSettings

__all__ = ["SettingsError", "StackSettings", "parse_settings"]
