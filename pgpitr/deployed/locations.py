"""The primary archive's locations as this stack's deployments opened them, for the
`archiveLocations` output.

The primary opens a new location when it starts with other encryption settings than its
current location's (pgpitr_runtime.archive.settle): the method, the Secret holding the key,
or encryption turned on or off. The record keeps the settings of each location in order,
so the program names them by the same rule, without reading the bucket. The archive's
manifest stays the authority: the record starts again after `pulumi destroy`, and it
cannot see a location opened by a pgpitr older than the record, or settings reverted
before the primary restarted with them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pgpitr_runtime.archive import MANIFEST_OBJECT, Encryption, describe_encryption, location_prefix, manifest_folder


@dataclass(frozen=True)
class LocationSettings:
    """What a location is written with: an encryption method and its Secret, or neither."""

    method: str | None = None
    secret: str | None = None

    def encryption(self) -> Encryption | None:
        if self.method is None or self.secret is None:
            return None
        return Encryption(self.method, self.secret)

    def output(self) -> dict[str, str | None]:
        return {"method": self.method, "secret": self.secret}

    @staticmethod
    def from_output(value: Any) -> LocationSettings:
        if not isinstance(value, dict):
            raise ValueError(f"a location's settings are an object, not {value!r}")
        method, secret = value.get("method"), value.get("secret")
        return LocationSettings(None if method is None else str(method), None if secret is None else str(secret))


def opened_locations(previous: tuple[LocationSettings, ...], current: LocationSettings) -> tuple[LocationSettings, ...]:
    """The locations after a deployment with `current`: the previous ones, and one more when
    `current` differs from the settings of the last (a new stack starts with one)."""
    if previous and previous[-1] == current:
        return previous
    return (*previous, current)


def locations_output(walg_prefix: str, locations: tuple[LocationSettings, ...]) -> dict[str, Any]:
    """`archiveLocations`: the manifest, the current location and the earlier ones, newest first."""

    def described(number: int, settings: LocationSettings) -> dict[str, Any]:
        return {
            "number": number,
            "prefix": location_prefix(walg_prefix, number),
            "encryption": describe_encryption(settings.encryption()),
        }

    numbered = [described(number, settings) for number, settings in enumerate(locations, start=1)]
    return {
        "manifest": f"{manifest_folder(walg_prefix)}/{MANIFEST_OBJECT}",
        "current": numbered[-1],
        "earlier": list(reversed(numbered[:-1])),
    }
