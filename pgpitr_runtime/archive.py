"""An instance's archive: the locations its WAL and base backups went to, in order.

WAL-G reads every object of a prefix with the one crypter it is given, so an archive
cannot mix encryptions: a change of the encryption method, of its key, or turning it on
or off opens a new *location* (a WAL-G prefix of its own) instead of writing into the
old one, which stays readable with the settings it was written with. The archive's
manifest, an object beside the locations, lists them and names the database (its
system identifier) they belong to: one database per archive.

    s3://bucket/<stack>/postgres                          location 1 (every archive's first)
    s3://bucket/<stack>/postgres.locations/manifest.json  the manifest
    s3://bucket/<stack>/postgres.locations/2              location 2, and so on

Later locations are siblings of the first, not inside it: WAL-G's `delete` lists its
prefix recursively and would take objects of a nested location for its own.

The primary settles its location when it starts (docker/bin/pgpitr-archive-settle), and
archives where the manifest says; every other workload (the backup and check jobs, a
restore) reads the manifest and never opens a location itself. This module is the pure
part: the manifest's format and the decisions. It ships in the image (stdlib only).
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Final

from pgpitr_runtime import names

LOCATIONS_SUFFIX: Final = ".locations"
MANIFEST_OBJECT: Final = "manifest.json"
FORMAT: Final = 1
METHODS: Final = ("libsodium", "pgp")
KEY_FILES: Final = {"libsodium": names.LIBSODIUM_KEY_FILE, "pgp": names.PGP_KEY_FILE}
KEY_VARIABLES: Final = (
    names.WALG_LIBSODIUM_KEY,
    names.WALG_LIBSODIUM_KEY_PATH,
    names.WALG_LIBSODIUM_KEY_TRANSFORM,
    names.WALG_PGP_KEY,
    names.WALG_PGP_KEY_PATH,
    names.WALG_PGP_KEY_PASSPHRASE,
    names.PGPITR_PGP_PASSPHRASE_FILE,
)
"""Every way WAL-G (and pgpitr's scripts) take a key: one location's settings replace them all."""


class ArchiveError(ValueError):
    """The archive cannot be used as asked; the message is one line saying why and what to do."""


@dataclass(frozen=True)
class Encryption:
    """Client-side encryption of a location: the method and the Secret holding its key."""

    method: str
    secret: str

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ArchiveError(f"unknown encryption method {self.method!r}; pgpitr knows {', '.join(METHODS)}")
        if not self.secret:
            raise ArchiveError(f"encryption {self.method} names no Secret holding its key")

    def describe(self) -> str:
        return f"{self.method} with the key in Secret {self.secret}"

    @staticmethod
    def from_env(env: Mapping[str, str]) -> Encryption | None:
        """The configured encryption (PGPITR_ENCRYPTION_METHOD and _SECRET), None for none."""
        method = env.get(names.PGPITR_ENCRYPTION_METHOD, "")
        if not method:
            return None
        return Encryption(method, env.get(names.PGPITR_ENCRYPTION_KEY_SOURCE, ""))


def describe_encryption(encryption: Encryption | None) -> str:
    return encryption.describe() if encryption else "no client-side encryption"


@dataclass(frozen=True)
class Location:
    number: int
    prefix: str
    """WALG_S3_PREFIX of the location."""
    encryption: Encryption | None
    opened: str
    """When pgpitr began archiving into it (RFC 3339)."""
    known: bool = True
    """False for a first location written before the archive had a manifest, with
    encryption settings other than the ones configured then: pgpitr does not know them."""

    def holds(self, encryption: Encryption | None) -> bool:
        """Whether this location is written with `encryption`."""
        return self.known and self.encryption == encryption

    def describe(self) -> str:
        settings = describe_encryption(self.encryption) if self.known else "encryption settings pgpitr does not know"
        return f"location {self.number} ({self.prefix}, {settings})"

    def to_json(self) -> dict[str, Any]:
        encryption = None
        if self.encryption is not None:
            encryption = {"method": self.encryption.method, "secret": self.encryption.secret}
        return {
            "number": self.number,
            "prefix": self.prefix,
            "encryption": encryption if self.known else "unknown",
            "opened": self.opened,
        }

    @staticmethod
    def from_json(raw: Mapping[str, Any]) -> Location:
        encryption = raw.get("encryption")
        known = encryption != "unknown"
        return Location(
            number=int(raw["number"]),
            prefix=str(raw["prefix"]),
            encryption=Encryption(str(encryption["method"]), str(encryption["secret"]))
            if isinstance(encryption, dict)
            else None,
            opened=str(raw["opened"]),
            known=known,
        )


def location_prefix(archive: str, number: int) -> str:
    return archive if number == 1 else f"{archive}{LOCATIONS_SUFFIX}/{number}"


def manifest_folder(archive: str) -> str:
    """The WAL-G prefix (for `wal-g st`) that holds the manifest."""
    return f"{archive}{LOCATIONS_SUFFIX}"


def now_text(now: datetime | None = None) -> str:
    return (now or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Manifest:
    archive: str
    system_identifier: str
    """The database whose archive this is (pg_controldata's system identifier)."""
    locations: tuple[Location, ...]

    def __post_init__(self) -> None:
        if not self.locations:
            raise ArchiveError(f"the manifest of {self.archive} lists no location")
        numbers = [location.number for location in self.locations]
        if numbers != list(range(1, len(numbers) + 1)):
            raise ArchiveError(f"the manifest of {self.archive} numbers its locations {numbers}, not 1, 2, ...")

    @property
    def current(self) -> Location:
        return self.locations[-1]

    def location(self, number: int) -> Location:
        for location in self.locations:
            if location.number == number:
                return location
        raise ArchiveError(f"{self.archive} has no location {number}")

    def opening(self, encryption: Encryption | None, now: str) -> Manifest:
        """This manifest with a new current location written with `encryption`."""
        number = self.current.number + 1
        new = Location(number, location_prefix(self.archive, number), encryption, now)
        return replace(self, locations=(*self.locations, new))

    def to_json(self) -> str:
        document = {
            "format": FORMAT,
            "archive": self.archive,
            "system_identifier": self.system_identifier,
            "locations": [location.to_json() for location in self.locations],
        }
        return json.dumps(document, indent=2) + "\n"

    @staticmethod
    def from_json(text: str, archive: str) -> Manifest:
        try:
            raw = json.loads(text)
            if raw.get("format") != FORMAT:
                raise ArchiveError(
                    f"the manifest of {archive} has format {raw.get('format')!r}; this pgpitr reads {FORMAT}"
                )
            manifest = Manifest(
                archive=str(raw["archive"]),
                system_identifier=str(raw["system_identifier"]),
                locations=tuple(Location.from_json(location) for location in raw["locations"]),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            if isinstance(error, ArchiveError):
                raise
            raise ArchiveError(f"the manifest of {archive} is not one pgpitr wrote: {error}") from None
        if manifest.archive != archive:
            raise ArchiveError(f"the manifest found beside {archive} belongs to {manifest.archive}")
        return manifest


def legacy_manifest(archive: str, encryption: Encryption | None, system_identifier: str = "") -> Manifest:
    """An archive written before pgpitr kept manifests: one location, the first, read
    with the configured settings (the ones it was written with, unless they changed)."""
    return Manifest(archive, system_identifier, (Location(1, archive, encryption, ""),))


def read_manifest(text: str, archive: str, encryption: Encryption | None) -> Manifest:
    """The manifest as `wal-g st cat` printed it, or the legacy one when there is none."""
    if not text.strip():
        return legacy_manifest(archive, encryption)
    return Manifest.from_json(text, archive)


def location_env(location: Location, configured: Encryption | None, keys_dir: str) -> dict[str, str | None]:
    """The WAL-G settings that read and write `location`: None means unset. The configured
    key comes from the container's own variables (fixed for its lifetime, from a
    secretKeyRef); the key of a location written with another Secret from that Secret's
    files in `keys_dir` (backup.retiredEncryptionSecrets, mounted read-only)."""
    env: dict[str, str | None] = dict.fromkeys(KEY_VARIABLES)
    env[names.WALG_S3_PREFIX] = location.prefix
    encryption = location.encryption
    if encryption is None:
        return env
    if encryption == configured:
        for variable in KEY_VARIABLES:
            env.pop(variable)
        return env
    key_file = f"{keys_dir}/{encryption.secret}/{KEY_FILES[encryption.method]}"
    if encryption.method == "libsodium":
        env[names.WALG_LIBSODIUM_KEY_PATH] = key_file
        env[names.WALG_LIBSODIUM_KEY_TRANSFORM] = "base64"
    else:
        env[names.WALG_PGP_KEY_PATH] = key_file
        env[names.PGPITR_PGP_PASSPHRASE_FILE] = f"{keys_dir}/{encryption.secret}/{names.PGP_PASSPHRASE_FILE}"
    return env


def render_env(env: Mapping[str, str | None], comment: str = "") -> str:
    """`env` as lines a bash script sources: unset for None, export otherwise."""
    lines = [f"# {comment}"] if comment else []
    unset = [name for name, value in env.items() if value is None]
    if unset:
        lines.append("unset " + " ".join(unset))
    lines += [f"export {name}={shlex.quote(value)}" for name, value in env.items() if value is not None]
    return "\n".join(lines) + "\n"


def refusal_for_another_database(archive: str, owner: str, system_identifier: str) -> ArchiveError:
    return ArchiveError(
        f"{archive} holds the archive of database {owner}, and this data directory is database"
        f" {system_identifier}: refusing to write into it (one database per archive; point this"
        " stack at its own bucket or stack name, or restore that database instead)"
    )


@dataclass(frozen=True)
class FirstLocation:
    """What the first location holds when an archive has no manifest yet."""

    system_identifiers: frozenset[str]
    """Of its base backups (WAL-G records them)."""
    used: bool
    """It holds backups or WAL."""
    readable: bool
    """The configured settings read it (checked on one of its objects)."""


@dataclass(frozen=True)
class Settlement:
    manifest: Manifest
    location: Location
    """Where this server archives."""
    changed: bool
    """The manifest must be written back."""


def settle(
    manifest: Manifest | None,
    archive: str,
    encryption: Encryption | None,
    system_identifier: str,
    first: FirstLocation | None,
    now: str,
) -> Settlement:
    """Where the database `system_identifier` archives, configured with `encryption`:
    the current location when it is written with the same settings, a new one when they
    changed (and, for an archive without a manifest, what its first location holds)."""
    if manifest is not None:
        if manifest.system_identifier != system_identifier:
            raise refusal_for_another_database(archive, manifest.system_identifier, system_identifier)
        if manifest.current.holds(encryption):
            return Settlement(manifest, manifest.current, changed=False)
        opened = manifest.opening(encryption, now)
        return Settlement(opened, opened.current, changed=True)
    if first is None or not first.used:
        created = Manifest(archive, system_identifier, (Location(1, archive, encryption, now),))
        return Settlement(created, created.current, changed=True)
    others = first.system_identifiers - {system_identifier}
    if others:
        raise refusal_for_another_database(archive, sorted(others)[0], system_identifier)
    if first.readable:
        adopted = Manifest(archive, system_identifier, (Location(1, archive, encryption, ""),))
        return Settlement(adopted, adopted.current, changed=True)
    unknown = Manifest(archive, system_identifier, (Location(1, archive, None, "", known=False),))
    opened = unknown.opening(encryption, now)
    return Settlement(opened, opened.current, changed=True)


def current_location(manifest: Manifest, encryption: Encryption | None, manifest_found: bool) -> Location:
    """The location a job (backup, chain check) works on: the one the primary archives to,
    which must be written with the job's own settings."""
    if not manifest_found:
        raise ArchiveError(
            f"{manifest.archive} has no manifest yet: the primary writes it when it starts with this pgpitr"
            " (its pod restarts with the next `pulumi up`)"
        )
    current = manifest.current
    if not current.holds(encryption):
        raise ArchiveError(
            f"the primary archives into {current.describe()}, not with {describe_encryption(encryption)} as"
            " configured: it opens the new location when it restarts with these settings"
        )
    return current
