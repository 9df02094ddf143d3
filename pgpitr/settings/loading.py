"""Turning raw stack config (`pgpitr:*` strings, objects as JSON) into StackSettings.

A bad value ends with one line naming the key, e.g.
`pgpitr:backup.retention.fullBackups: must be at least 1 (got 0)`.
"""

import difflib
import json
import re
from collections.abc import Collection, Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from pgpitr.settings.base import SettingsModel
from pgpitr.settings.bucket import AwsBucketSettings, S3CompatibleBucketSettings
from pgpitr.settings.stack import StackSettings

PROJECT = "pgpitr"
_FIELD_PREFIX = re.compile(r"^([a-zA-Z]+(?:\.[a-zA-Z_][a-zA-Z0-9_]*)*): (.*)$", re.DOTALL)
"""A message that starts with the key it is about (`storage.size: ...`); the later parts
may be PostgreSQL parameter names (`postgresql.shared_buffers: ...`)."""
_UNION_TAGS = frozenset(
    {"irsa", "podIdentity", "staticKeys", "aws", "s3Compatible", "str", "int", "bool", "float", "dict[str,str]"}
)


class SettingsError(Exception):
    """Invalid stack configuration; the message is one line naming the key and the fix."""


def _string_fields() -> set[str]:
    return {field.alias or name for name, field in StackSettings.model_fields.items() if field.annotation is str}


def _decode(key: str, value: Any) -> Any:
    """Config values arrive as strings; objects and numbers are JSON inside them."""
    if not isinstance(value, str) or key in _string_fields():
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _settings_models() -> list[type[BaseModel]]:
    models: list[type[BaseModel]] = []
    pending: list[type[BaseModel]] = [SettingsModel]
    while pending:
        model = pending.pop()
        pending.extend(model.__subclasses__())
        models.append(model)
    return models


def _aliases(model: type[BaseModel]) -> set[str]:
    return {field.alias or name for name, field in model.model_fields.items()}


def _all_aliases() -> list[str]:
    """Every key of every settings model, to suggest the one a typo meant."""
    return sorted(set().union(*(_aliases(model) for model in _settings_models())))


def _object_keys(class_name: object) -> str:
    """`must be an object` and, for a settings model, the keys it takes."""
    for model in _settings_models():
        if model.__name__ == class_name:
            return f"must be an object with the keys {', '.join(sorted(_aliases(model)))}"
    return "must be an object"


def _unknown_key(path: list[str]) -> str:
    key = path[-1]
    if path[:-1] == ["bucket"] and key in _aliases(S3CompatibleBucketSettings) - _aliases(AwsBucketSettings):
        return "applies to bucket.provider s3Compatible only; set bucket.provider: s3Compatible (the default is aws)"
    if key in _all_aliases():
        return "unknown key here"
    close = difflib.get_close_matches(key, _all_aliases(), n=1)
    return f"unknown key; did you mean {close[0]}?" if close else "unknown key"


def _describe(error: Mapping[str, Any]) -> tuple[list[str], str]:
    loc = [str(part) for part in error["loc"]]
    path = [part for part in loc if part not in _UNION_TAGS]
    message = str(error["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    kind = error["type"]
    if kind == "union_tag_invalid" and path and path[-1] == "bucket":
        path.append("provider")
        message = f"must be aws or s3Compatible (got {json.dumps(error.get('input', {}).get('provider'))})"
    elif kind == "extra_forbidden":
        message = _unknown_key(path)
    elif kind == "missing" and loc[:2] == ["bucket", "s3Compatible"] and loc[2:3] != ["caSecret"]:
        message = "is required with bucket.provider s3Compatible"
    elif kind == "model_type":
        message = _object_keys(error.get("ctx", {}).get("class_name"))
        message += f" (got {json.dumps(error.get('input'), default=str)})"
    elif kind in (
        "literal_error",
        "enum",
        "greater_than_equal",
        "less_than_equal",
        "int_parsing",
        "bool_parsing",
        "string_pattern_mismatch",
        "int_from_float",
        "string_type",
        "int_type",
        "dict_type",
        "list_type",
        "union_tag_invalid",
    ):
        message += f" (got {json.dumps(error.get('input'), default=str)})"
    elif kind == "missing":
        message = "is required here"
    match = _FIELD_PREFIX.match(message)
    if match:
        path += match.group(1).split(".")
        message = match.group(2)
    return path, message


def format_validation_error(error: ValidationError) -> str:
    parts = []
    for detail in error.errors():
        path, message = _describe(detail)
        key = ".".join(path)
        parts.append(f"{PROJECT}:{key}: {message}" if key else f"{PROJECT}: {message}")
    return "invalid stack config: " + "; ".join(dict.fromkeys(parts))


def parse_settings(raw: Mapping[str, Any], secret_keys: Collection[str] = ()) -> StackSettings:
    """Validate every `pgpitr:*` key of `raw`; other namespaces (aws:, kubernetes:) are left alone."""
    values = {}
    for full_key, value in raw.items():
        namespace, _, key = full_key.partition(":")
        if namespace == PROJECT:
            values[key] = _decode(key, value)
    try:
        settings = StackSettings.model_validate(values)
    except ValidationError as error:
        raise SettingsError(format_validation_error(error)) from None
    if (
        settings.identity is not None
        and settings.identity.mode == "staticKeys"
        and f"{PROJECT}:identity" not in secret_keys
    ):
        raise SettingsError(
            f"invalid stack config: {PROJECT}:identity.secretAccessKey: must be a secret; set it with"
            " `pulumi config set --secret --path identity.secretAccessKey ...`"
        )
    return settings
