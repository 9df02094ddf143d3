"""The catalogue of one major: each parameter's type, unit, range, allowed values and
context (which says whether a reload applies it or only a restart does)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Final, Literal

ParameterType = Literal["bool", "integer", "real", "string", "enum"]
RESTART_CONTEXTS: Final = frozenset({"postmaster", "internal"})
"""Contexts whose parameters a reload does not change: pending_restart until a restart."""


def catalogue_path(major: int) -> Path:
    return Path(__file__).with_name(f"pg{major}.json")


@dataclass(frozen=True)
class Parameter:
    name: str
    type: ParameterType
    context: str
    unit: str | None = None
    """The base unit of an integer or real ("kB", "8kB", "ms", "s", "min"...), or None."""
    min: float | None = None
    max: float | None = None
    values: tuple[str, ...] = ()
    """An enum's values, as pg_settings lists them."""

    @property
    def needs_restart(self) -> bool:
        return self.context in RESTART_CONTEXTS


@dataclass(frozen=True)
class Catalogue:
    major: int
    version: str
    """The release it was generated from, e.g. 17.6."""
    parameters: dict[str, Parameter]


@cache
def load(major: int) -> Catalogue:
    raw = json.loads(catalogue_path(major).read_text())
    parameters = {
        name: Parameter(
            name=name,
            type=entry["type"],
            context=entry["context"],
            unit=entry.get("unit"),
            min=entry.get("min"),
            max=entry.get("max"),
            values=tuple(entry.get("values", ())),
        )
        for name, entry in raw["parameters"].items()
    }
    return Catalogue(major, raw["version"], parameters)
