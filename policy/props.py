"""Reading props as Pulumi passes them: camelCase, wrapped in proxies that raise when a
value is unknown during preview. Every read goes through `lookup`, which turns such values
into `UNKNOWN`, and the policies skip what they cannot know instead of reporting it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final, TypeGuard

from pulumi_policy import ResourceValidationArgs
from pulumi_policy.proxy import (
    UNKNOWN_ARCHIVE_VALUE,
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_ASSET_VALUE,
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_OBJECT_VALUE,
    UNKNOWN_STRING_VALUE,
    UnknownValueError,
)

_UNKNOWN_SENTINELS: Final = frozenset(
    {
        UNKNOWN_ARCHIVE_VALUE,
        UNKNOWN_ARRAY_VALUE,
        UNKNOWN_ASSET_VALUE,
        UNKNOWN_BOOLEAN_VALUE,
        UNKNOWN_NUMBER_VALUE,
        UNKNOWN_OBJECT_VALUE,
        UNKNOWN_STRING_VALUE,
    }
)


class Unknown:
    """The type of `UNKNOWN`: a value Pulumi cannot know until the update runs."""

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Final = Unknown()


def known(value: object) -> object:
    """`value`, or `UNKNOWN` when it is one of Pulumi's preview placeholders."""
    if isinstance(value, str) and value in _UNKNOWN_SENTINELS:
        return UNKNOWN
    return value


def is_list(value: object) -> TypeGuard[Sequence[object]]:
    """A JSON array (a list or Pulumi's list proxy), not a string."""
    return isinstance(value, Sequence) and not isinstance(value, str | bytes)


def lookup(value: object, *path: str | int) -> object:
    """Follows `path` through mappings and lists: the value found, None where a step is
    absent (or not a container), `UNKNOWN` where a step cannot be known during preview."""
    current = known(value)
    for step in path:
        if current is UNKNOWN:
            return UNKNOWN
        try:
            if isinstance(step, str) and isinstance(current, Mapping):
                current = current.get(step)
            elif isinstance(step, int) and is_list(current):
                current = current[step] if -len(current) <= step < len(current) else None
            else:
                return None
        except UnknownValueError:
            return UNKNOWN
        current = known(current)
    return current


def elements(value: object) -> list[object]:
    """The elements of a list, each possibly `UNKNOWN`; [] for anything that is not a list."""
    if not is_list(value):
        return []
    return [lookup(value, index) for index in range(len(value))]


def plain_strings(values: object) -> list[str]:
    """A string or a list of strings (IAM's Action and Resource), unknown parts left out."""
    value = known(values)
    if isinstance(value, str):
        return [value]
    return [item for item in elements(value) if isinstance(item, str)]


def describe(args: ResourceValidationArgs) -> str:
    """How a violation names the resource: its kind and its Pulumi name."""
    return f"{args.resource_type.rsplit(':', 1)[-1]} {args.name!r}"
