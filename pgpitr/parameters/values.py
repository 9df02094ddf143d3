"""Whether PostgreSQL would accept a value for a parameter, by its own rules (guc.c's
parse_bool, parse_int, parse_real and enum lookup): numbers in C's notations, a unit
where the parameter has one (memory: B kB MB GB TB; time: us ms s min h d), the range
checked in the parameter's base unit after PostgreSQL's rounding, enum values without
regard to case. None when it would; otherwise what is wrong, for one line."""

from __future__ import annotations

import math
import re
from typing import Final

from pgpitr.parameters.catalogue import Parameter

Scalar = str | int | float | bool
"""A postgresql.conf value as stack config gives it (pgpitr.postgresql_conf writes it)."""

_BOOL_WORDS: Final = ("true", "false", "yes", "no", "on", "off", "1", "0")
_MEMORY_UNITS: Final = {"B": 1, "kB": 1024, "MB": 1024**2, "GB": 1024**3, "TB": 1024**4}
_TIME_UNITS: Final = {"us": 0.001, "ms": 1, "s": 1000, "min": 60_000, "h": 3_600_000, "d": 86_400_000}
_MEMORY_BASES: Final = {"B": 1, "kB": 1024, "8kB": 8192, "MB": 1024**2}
_TIME_BASES: Final = {"ms": 1, "s": 1000, "min": 60_000}
_INTEGER_PREFIX: Final = re.compile(r"\s*[+-]?(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)")
_REAL_PREFIX: Final = re.compile(r"\s*[+-]?((\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|inf(inity)?|nan)", re.IGNORECASE)


def is_bool(text: str) -> bool:
    """parse_bool: a word of _BOOL_WORDS or a prefix naming only one ("of", not "o")."""
    lowered = text.lower()
    matches = {word for word in _BOOL_WORDS if lowered and word.startswith(lowered)}
    if lowered == "o":
        return False
    return len({word in ("true", "yes", "on", "1") for word in matches}) == 1


def _units_of(base: str) -> dict[str, float] | None:
    """The units a value may carry and their size in `base`; None for no unit."""
    if base in _MEMORY_BASES:
        return {unit: size / _MEMORY_BASES[base] for unit, size in _MEMORY_UNITS.items()}
    if base in _TIME_BASES:
        return {unit: size / _TIME_BASES[base] for unit, size in _TIME_UNITS.items()}
    return None


def _number(text: str, integer: bool) -> tuple[float, str] | None:
    """The leading number as C would read it (strtol base 0, then strtod on `.`/`e`) and
    what follows it; None when there is no number."""
    match = _INTEGER_PREFIX.match(text) if integer else None
    if match is not None and text[match.end() : match.end() + 1] not in (".", "e", "E"):
        digits = match.group(0).strip()
        sign = -1 if digits.startswith("-") else 1
        digits = digits.lstrip("+-")
        base = 16 if digits[:2].lower() == "0x" else 8 if digits.startswith("0") and len(digits) > 1 else 10
        return sign * int(digits, base), text[match.end() :]
    match = _REAL_PREFIX.match(text)
    if match is None:
        return None
    return float(match.group(0)), text[match.end() :]


def _with_unit(value: float, unit: str, parameter: Parameter) -> float | str:
    """`value` `unit` in the parameter's base unit (convert_to_base_unit, with its rounding
    of fractions to the next smaller unit), or what is wrong."""
    units = _units_of(parameter.unit or "")
    if units is None:
        return f"is not {_describe(parameter)}"
    if unit not in units:
        return f"valid units for it are {', '.join(units)}"
    names = list(units)
    converted = value * units[unit]
    smaller = names.index(unit) - 1
    if smaller >= 0:
        converted = _round(converted / units[names[smaller]]) * units[names[smaller]]
    return converted


def _round(value: float) -> float:
    """rint(): to the nearest integer, halves to even, as C's default rounding mode does."""
    return float(round(value))


def _describe(parameter: Parameter) -> str:
    kind = "an integer" if parameter.type == "integer" else "a number"
    units = _units_of(parameter.unit or "")
    if units is None:
        return kind
    return f"{kind} with a unit ({', '.join(units)}; without one, in {parameter.unit})"


def _range(parameter: Parameter) -> str:
    def shown(bound: float | None) -> str:
        return "" if bound is None else f"{int(bound) if float(bound).is_integer() else bound}"

    unit = f" {parameter.unit}" if parameter.unit else ""
    return f"{shown(parameter.min)} .. {shown(parameter.max)}{unit}"


def _numeric_problem(text: str, parameter: Parameter) -> str | None:
    integer = parameter.type == "integer"
    parsed = _number(text, integer)
    if parsed is None or math.isnan(parsed[0]):
        return f"is not {_describe(parameter)}"
    value, rest = parsed
    rest = rest.strip()
    if rest:
        converted = _with_unit(value, rest, parameter)
        if isinstance(converted, str):
            return converted
        value = converted
    if integer:
        value = _round(value)
    low = parameter.min if parameter.min is not None else -math.inf
    high = parameter.max if parameter.max is not None else math.inf
    if not low <= value <= high:
        return f"{text} is outside the valid range ({_range(parameter)})"
    return None


def problem(parameter: Parameter, value: Scalar) -> str | None:
    """None when PostgreSQL accepts `value` for `parameter` as pgpitr writes it
    (pgpitr.postgresql_conf.literal); otherwise why not."""
    text = ("on" if value else "off") if isinstance(value, bool) else str(value)
    if parameter.type == "string":
        return None
    if parameter.type == "bool":
        return None if is_bool(text) else "is not a boolean (on, off, true, false, yes, no, 1, 0)"
    if parameter.type == "enum":
        allowed = {choice.lower() for choice in parameter.values}
        if {"on", "off"} <= allowed and is_bool(text):
            return None  # PostgreSQL's hidden boolean spellings of such enums
        if text.lower() in allowed:
            return None
        return f"must be one of {', '.join(parameter.values)}"
    if isinstance(value, bool):
        return f"is not {_describe(parameter)}"
    return _numeric_problem(text, parameter)
