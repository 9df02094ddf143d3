"""Kubernetes resource quantities (`50Gi`, `500m`, `1.5`), parsed to compare them."""

import re
from decimal import Decimal, InvalidOperation
from typing import Final

_SUFFIXES: Final[dict[str, Decimal]] = {
    "": Decimal(1),
    "m": Decimal("0.001"),
    "k": Decimal(10) ** 3,
    "M": Decimal(10) ** 6,
    "G": Decimal(10) ** 9,
    "T": Decimal(10) ** 12,
    "P": Decimal(10) ** 15,
    "E": Decimal(10) ** 18,
    "Ki": Decimal(2) ** 10,
    "Mi": Decimal(2) ** 20,
    "Gi": Decimal(2) ** 30,
    "Ti": Decimal(2) ** 40,
    "Pi": Decimal(2) ** 50,
    "Ei": Decimal(2) ** 60,
}
_QUANTITY = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$")


def parse_quantity(text: str) -> Decimal:
    """The value of a quantity in base units; ValueError if it is not one."""
    match = _QUANTITY.match(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a Kubernetes quantity (e.g. 500m, 2Gi, 50Gi)")
    try:
        return Decimal(match.group(1)) * _SUFFIXES[match.group(2) or ""]
    except InvalidOperation:
        raise ValueError(f"{text!r} is not a Kubernetes quantity") from None


def is_byte_quantity(text: str) -> bool:
    """Memory and storage sizes: whole bytes, no milli suffix."""
    match = _QUANTITY.match(text.strip())
    return bool(match) and match.group(2) != "m"  # type: ignore[union-attr]
