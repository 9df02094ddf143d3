"""Settings of the image and of the pods' AWS identity."""

import re
from typing import Annotated, Literal, Self

from pydantic import Field, field_validator, model_validator

from pgpitr.settings.base import SettingsModel
from pgpitr.settings.image_reference import check_image_reference

Platform = Literal["linux/amd64", "linux/arm64"]
_OIDC_PROVIDER_ARN = re.compile(r"^arn:aws[a-z-]*:iam::[0-9]{12}:oidc-provider/.+$")


def _default_platforms() -> list[Platform]:
    return ["linux/amd64"]


class ImageSettings(SettingsModel):
    """Where the PostgreSQL + WAL-G image goes, or (`ref`) which existing one to run."""

    ref: str | None = Field(
        None,
        description="An image docker/Dockerfile produced, already in a registry"
        " (registry/repo@sha256:... or registry/repo:tag): nothing is built or pushed.",
    )
    repository: str | None = Field(
        None,
        description="Existing repository to push to (e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com/pg);"
        " unset creates an ECR repository.",
        pattern=r"^[a-z0-9][a-z0-9.-]*(:[0-9]+)?(/[a-z0-9][a-z0-9._-]*)+$",
    )
    platforms: list[Platform] = Field(default_factory=_default_platforms, min_length=1)
    push: bool = True

    @field_validator("ref")
    @classmethod
    def _image_reference(cls, value: str | None) -> str | None:
        if value == "":
            raise ValueError(
                "is empty; name an image docker/Dockerfile produced (registry/repository@sha256:<digest>"
                " or registry/repository:tag), or remove image.ref to have pgpitr build one"
            )
        return None if value is None else check_image_reference(value)

    @model_validator(mode="after")
    def _ref_builds_nothing(self) -> Self:
        """With `ref` nothing is built or pushed, so the build's settings would be ignored."""
        build_keys = [
            f"image.{type(self).model_fields[name].alias or name}"
            for name in ("repository", "platforms", "push")
            if name in self.model_fields_set
        ]
        if self.ref is not None and build_keys:
            raise ValueError(
                f"ref: an existing image is run as it is (nothing is built or pushed);"
                f" remove {' and '.join(build_keys)}"
            )
        return self


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
