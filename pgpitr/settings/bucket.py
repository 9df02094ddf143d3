"""Where the archive lives: an S3 bucket pgpitr creates in AWS (with its KMS key), or a
bucket that already exists on any S3-compatible store (MinIO, Ceph RGW, SeaweedFS, R2,
Wasabi, GCS interoperability), reached with credentials from an existing Secret."""

import re
from typing import Annotated, Any, Literal, Self

from pydantic import Field, field_validator, model_validator

from pgpitr.settings.base import SettingsModel
from pgpitr_runtime import names

_BUCKET_NAME = re.compile(r"^(?!xn--)(?!.*-s3alias$)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
KUBERNETES_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
"""A Secret's name (DNS subdomain)."""


def check_secret_name(value: str) -> str:
    if value == "":
        raise ValueError("is empty; name an existing Secret in the stack's namespace")
    if not KUBERNETES_NAME.match(value):
        raise ValueError(f"{value!r} is not a Kubernetes Secret name (lowercase letters, digits, '-' and '.')")
    return value


_SECRET_KEY = re.compile(r"^[-._a-zA-Z0-9]{1,253}$")
_ENDPOINT = re.compile(r"^https?://[^\s/]+(/[^\s]*)?$")
_REGION = re.compile(r"^[a-z0-9-]{1,64}$")


def check_secret_key(value: str) -> str:
    """A key inside a Secret."""
    if not _SECRET_KEY.match(value):
        raise ValueError(f"{value!r} is not a key a Secret can hold (letters, digits, '-', '_' and '.')")
    return value


def _check_bucket_name(value: str | None) -> str | None:
    if value is not None and (not _BUCKET_NAME.match(value) or ".." in value):
        raise ValueError("must be 3-63 lowercase letters, digits, dots or hyphens (an S3 bucket name)")
    return value


class ObjectLockSettings(SettingsModel):
    """S3 Object Lock default retention: backups cannot be deleted or overwritten for `days`."""

    mode: Literal["GOVERNANCE", "COMPLIANCE"]
    days: int = Field(ge=1, le=36500)


class AwsBucketSettings(SettingsModel):
    """provider: aws (the default): pgpitr creates the bucket, its KMS key and the roles."""

    provider: Literal["aws"] = "aws"
    name: str | None = Field(None, description="Bucket name; unset generates one.")
    force_destroy: bool = False
    noncurrent_version_expiration_days: int = Field(30, ge=1, le=3650)
    object_lock: ObjectLockSettings | None = None
    retain_on_destroy: bool = Field(
        True,
        description=(
            "true: the bucket, its KMS key and key alias and the bucket's guards (public access block,"
            " TLS-only policy, encryption, versioning, ownership, lifecycle, object lock) are left in"
            " AWS when `pulumi destroy`, a replacement or a change to the program deletes them, so"
            " the archive outlives the stack and stays readable. false: they are deleted, the bucket"
            " first with its guards and the key only once the bucket is gone; a bucket that cannot be"
            " deleted (not empty, forceDestroy false) keeps its guards and its key."
        ),
    )

    @field_validator("name")
    @classmethod
    def _valid_bucket_name(cls, value: str | None) -> str | None:
        return _check_bucket_name(value)


class CredentialsSecretRef(SettingsModel):
    """An existing Secret in the stack's namespace holding the store's access keys."""

    name: str
    access_key_id_key: str = names.AWS_ACCESS_KEY_ID
    secret_access_key_key: str = names.AWS_SECRET_ACCESS_KEY

    _secret_name = field_validator("name")(check_secret_name)
    _secret_keys = field_validator("access_key_id_key", "secret_access_key_key")(check_secret_key)


class SecretKeyRef(SettingsModel):
    """One key of an existing Secret in the stack's namespace."""

    name: str
    key: str

    _secret_name = field_validator("name")(check_secret_name)
    _secret_key = field_validator("key")(check_secret_key)


AWS_ONLY_KEYS = ("objectLock", "noncurrentVersionExpirationDays", "forceDestroy", "retainOnDestroy")


class S3CompatibleBucketSettings(SettingsModel):
    """provider: s3Compatible: an existing bucket on any S3 API; no AWS resource is made."""

    provider: Literal["s3Compatible"]
    endpoint: str
    insecure: bool = False
    """Allows an http:// endpoint (traffic and credentials unencrypted)."""
    name: str
    region: str = "us-east-1"
    """The region requests are signed for; a store with regions of its own wants its own."""
    force_path_style: bool = True
    credentials_secret: CredentialsSecretRef
    ca_secret: SecretKeyRef | None = None
    """A CA bundle for an endpoint whose certificate a public CA did not sign."""

    @model_validator(mode="before")
    @classmethod
    def _no_aws_only_keys(cls, data: Any) -> Any:
        for key in AWS_ONLY_KEYS:
            if isinstance(data, dict) and key in data:
                raise ValueError(
                    f"{key}: applies to bucket.provider aws only (pgpitr does not manage an"
                    " S3-compatible store's lifecycle or locks); remove it"
                )
        return data

    @field_validator("endpoint")
    @classmethod
    def _endpoint_url(cls, value: str) -> str:
        if not _ENDPOINT.match(value):
            raise ValueError(
                f"{value!r} is not the store's URL; write it like https://s3.example.internal:9000"
                " (scheme, host, optional port)"
            )
        return value

    @field_validator("region")
    @classmethod
    def _region_name(cls, value: str) -> str:
        if not _REGION.match(value):
            raise ValueError(
                f"{value!r} is not a region name; write it like us-east-1 (the store's region, if it has one)"
            )
        return value

    @field_validator("name")
    @classmethod
    def _valid_bucket_name(cls, value: str) -> str:
        checked = _check_bucket_name(value)
        assert checked is not None
        return checked

    @model_validator(mode="after")
    def _tls_unless_insecure(self) -> Self:
        if self.endpoint.startswith("http://") and not self.insecure:
            raise ValueError(
                "endpoint: http:// sends the archive and the credentials unencrypted; use https://"
                " or set bucket.insecure: true"
            )
        return self


BucketSettings = Annotated[AwsBucketSettings | S3CompatibleBucketSettings, Field(discriminator="provider")]


def default_provider(data: Any) -> Any:
    """`bucket` without a provider is an AWS bucket (what pgpitr did before providers)."""
    if isinstance(data, dict) and "provider" not in data:
        return {**data, "provider": "aws"}
    return data
