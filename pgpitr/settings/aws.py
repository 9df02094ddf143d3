"""Settings of the AWS half: the image, the backup bucket and the pods' identity."""

import re
from typing import Annotated, Literal

from pydantic import Field, field_validator

from pgpitr.settings.base import SettingsModel

Platform = Literal["linux/amd64", "linux/arm64"]
_BUCKET_NAME = re.compile(r"^(?!xn--)(?!.*-s3alias$)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_OIDC_PROVIDER_ARN = re.compile(r"^arn:aws[a-z-]*:iam::[0-9]{12}:oidc-provider/.+$")


def _default_platforms() -> list[Platform]:
    return ["linux/amd64"]


class ImageSettings(SettingsModel):
    """Where the PostgreSQL + WAL-G image goes."""

    repository: str | None = Field(
        None,
        description="Existing repository to push to (e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com/pg);"
        " unset creates an ECR repository.",
        pattern=r"^[a-z0-9][a-z0-9.-]*(:[0-9]+)?(/[a-z0-9][a-z0-9._-]*)+$",
    )
    platforms: list[Platform] = Field(default_factory=_default_platforms, min_length=1)
    push: bool = True


class ObjectLockSettings(SettingsModel):
    """S3 Object Lock default retention: backups cannot be deleted or overwritten for `days`."""

    mode: Literal["GOVERNANCE", "COMPLIANCE"]
    days: int = Field(ge=1, le=36500)


class BucketSettings(SettingsModel):
    name: str | None = Field(None, description="Bucket name; unset generates one.")
    force_destroy: bool = False
    noncurrent_version_expiration_days: int = Field(30, ge=1, le=3650)
    object_lock: ObjectLockSettings | None = None

    @field_validator("name")
    @classmethod
    def _valid_bucket_name(cls, value: str | None) -> str | None:
        if value is not None and (not _BUCKET_NAME.match(value) or ".." in value):
            raise ValueError("must be 3-63 lowercase letters, digits, dots or hyphens (an S3 bucket name)")
        return value


class IrsaIdentity(SettingsModel):
    """IAM Roles for Service Accounts: the role trusts the cluster's OIDC provider."""

    mode: Literal["irsa"]
    oidc_provider_arn: str = Field(pattern=_OIDC_PROVIDER_ARN.pattern)
    oidc_issuer_url: str = Field(pattern=r"^https://[^\s]+$")

    @property
    def issuer_host_path(self) -> str:
        """The issuer as IAM condition keys spell it: no scheme."""
        return self.oidc_issuer_url.removeprefix("https://").rstrip("/")


class PodIdentity(SettingsModel):
    """EKS Pod Identity: the role trusts pods.eks.amazonaws.com, bound by an association."""

    mode: Literal["podIdentity"]
    cluster_name: str = Field(pattern=r"^[0-9A-Za-z][A-Za-z0-9\-_]{0,99}$")


class StaticKeysIdentity(SettingsModel):
    """Access keys for clusters outside EKS; set both with `pulumi config set --secret --path`."""

    mode: Literal["staticKeys"]
    access_key_id: str = Field(pattern=r"^(AKIA|ASIA)[A-Z0-9]{12,124}$")
    secret_access_key: str = Field(min_length=16)


Identity = Annotated[IrsaIdentity | PodIdentity | StaticKeysIdentity, Field(discriminator="mode")]
