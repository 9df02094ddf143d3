"""Settings of the PostgreSQL server itself: parameters, volume and container resources."""

import re
from typing import Literal, Self

from pydantic import Field, RootModel, field_validator, model_validator

from pgpitr.parameters.values import Scalar
from pgpitr.postgresql_conf import OWNED_SETTINGS
from pgpitr.quantities import is_byte_quantity, parse_quantity
from pgpitr.settings.base import SettingsModel

_PARAMETER = re.compile(r"^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?$")
_STORAGE_CLASS = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")


class PostgresqlParameters(RootModel[dict[str, Scalar]]):
    """Extra postgresql.conf parameters; the archiving settings pgpitr owns are refused."""

    root: dict[str, Scalar] = Field(default_factory=dict)

    @field_validator("root")
    @classmethod
    def _not_owned(cls, value: dict[str, Scalar]) -> dict[str, Scalar]:
        for name in value:
            if not _PARAMETER.match(name):
                raise ValueError(f"{name!r} is not a PostgreSQL parameter name")
            if name in OWNED_SETTINGS:
                raise ValueError(
                    f"{name} is set by pgpitr (archiving and recovery depend on it);"
                    " use archiveTimeout / restore.* instead, or remove it"
                )
        return value


def _byte_quantity(value: str) -> str:
    if not is_byte_quantity(value) or parse_quantity(value) <= 0:
        raise ValueError(f"{value!r} is not a size; write it like 50Gi")
    return value


class StorageSettings(SettingsModel):
    size: str = "50Gi"
    storage_class: str | None = None
    empty_volume: Literal["restore", "refuse"] = "restore"
    """What the primary does when it finds its volume empty while its archive holds the
    database (a lost volume, a namespace move, `pulumi destroy` and `up` over a kept
    bucket): `restore` brings it back from the archive with every archived commit;
    `refuse` keeps the pod from starting, saying why, for a person to decide. An empty
    database never starts over a used archive."""

    @field_validator("size")
    @classmethod
    def _size(cls, value: str) -> str:
        _byte_quantity(value)
        if parse_quantity(value) < parse_quantity("1Gi"):
            raise ValueError(f"{value} is too small for a PostgreSQL volume; use at least 1Gi")
        return value

    @field_validator("storage_class")
    @classmethod
    def _class_name(cls, value: str | None) -> str | None:
        if value is not None and not _STORAGE_CLASS.match(value):
            raise ValueError(f"{value!r} is not a StorageClass name")
        return value


class ResourceAmounts(SettingsModel):
    cpu: str
    memory: str

    @field_validator("cpu")
    @classmethod
    def _cpu(cls, value: str) -> str:
        if parse_quantity(value) <= 0:
            raise ValueError(f"{value!r} is not a CPU amount; write it like 500m or 2")
        return value

    @field_validator("memory")
    @classmethod
    def _memory(cls, value: str) -> str:
        return _byte_quantity(value)


class ResourceSettings(SettingsModel):
    requests: ResourceAmounts = ResourceAmounts(cpu="500m", memory="1Gi")
    limits: ResourceAmounts = ResourceAmounts(cpu="1000m", memory="2Gi")

    @model_validator(mode="after")
    def _limits_cover_requests(self) -> Self:
        for field in ("cpu", "memory"):
            request, limit = getattr(self.requests, field), getattr(self.limits, field)
            if parse_quantity(limit) < parse_quantity(request):
                raise ValueError(f"limits.{field}: {limit} is below requests.{field} {request}")
        return self
