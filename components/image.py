"""The PostgreSQL + WAL-G image: an ECR repository (unless one is given) and the build."""

import pulumi
import pulumi_aws as aws
import pulumi_docker_build as docker_build

from pgpitr.settings.aws import ImageSettings
from pgpitr.versions import GO_BUILDER_IMAGE, POSTGRES_IMAGE_SUFFIX, WalgRelease, image_tag
from pgpitr_runtime import names

# Relative to the project directory, where `pulumi` runs the program: the state then
# holds the same paths on every machine.
BUILD_CONTEXT = "."
DOCKERFILE = "docker/Dockerfile"


def image_build_args(postgres_version: int, walg: WalgRelease) -> dict[str, str]:
    """Every ARG of docker/Dockerfile, from the pinned versions and the shared paths."""
    return {
        "POSTGRES_VERSION": str(postgres_version),
        "POSTGRES_IMAGE_SUFFIX": POSTGRES_IMAGE_SUFFIX,
        "GO_BUILDER_IMAGE": GO_BUILDER_IMAGE,
        # The same input docker/build-walg.sh gets from `make setup` (harness.toolchain).
        **walg.build_environment(),
        "WALG_BUILD_PACKAGES": " ".join(walg.build_packages),
        "WALG_RUNTIME_PACKAGES": " ".join(walg.runtime_packages),
        "PGPITR_LIB": names.IMAGE_LIB_DIR,
    }


class PostgresImage(pulumi.ComponentResource):
    """Builds docker/Dockerfile and pushes it; `ref` is `repository@sha256:...`, so
    workloads roll whenever the image really changes."""

    ref: pulumi.Output[str]
    repository_url: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        settings: ImageSettings,
        postgres_version: int,
        walg: WalgRelease,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("pgpitr:index:PostgresImage", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        registries: list[docker_build.RegistryArgs] = []
        if settings.repository is None:
            repository = aws.ecr.Repository(
                f"{name}-repository",
                image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(scan_on_push=True),
                image_tag_mutability="MUTABLE",
                encryption_configurations=[aws.ecr.RepositoryEncryptionConfigurationArgs(encryption_type="KMS")],
                force_delete=False,
                opts=child,
            )
            self.repository_url = repository.repository_url
            token = aws.ecr.get_authorization_token_output(registry_id=repository.registry_id)
            registries.append(
                docker_build.RegistryArgs(
                    address=repository.repository_url.apply(lambda url: url.split("/")[0]),
                    username=token.user_name,
                    password=pulumi.Output.secret(token.password),
                )
            )
        else:
            # Registry credentials come from the machine's docker login.
            self.repository_url = pulumi.Output.from_input(settings.repository)
        tag = image_tag(postgres_version, walg)
        image = docker_build.Image(
            f"{name}-build",
            context=docker_build.BuildContextArgs(location=BUILD_CONTEXT),
            dockerfile=docker_build.DockerfileArgs(location=DOCKERFILE),
            build_args=image_build_args(postgres_version, walg),
            platforms=[docker_build.Platform(p) for p in settings.platforms],
            push=settings.push,
            # Previews (every pull request) must not need a Docker daemon or a registry login.
            build_on_preview=False,
            tags=[self.repository_url.apply(lambda url: f"{url}:{tag}")],
            registries=registries,
            opts=child,
        )
        self.ref = image.ref
        self.register_outputs({"ref": self.ref, "repositoryUrl": self.repository_url})


def image_reference(settings: ImageSettings, postgres_version: int, walg: WalgRelease) -> pulumi.Output[str]:
    """`image.ref` as it is (nothing built, no registry made), else the image built here."""
    if settings.ref is not None:
        return pulumi.Output.from_input(settings.ref)
    return PostgresImage("postgres-image", settings, postgres_version, walg).ref
