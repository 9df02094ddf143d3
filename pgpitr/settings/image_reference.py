"""What an image reference must look like wherever the stack names one."""

import re

IMAGE_REFERENCE = re.compile(
    r"^[a-z0-9][a-z0-9.-]*(:[0-9]+)?(/[a-z0-9][a-z0-9._-]*)+(:\w[\w.-]{0,127}|@sha256:[0-9a-f]{64})$"
)
"""registry/repository:tag or registry/repository@sha256:<digest>: the registry is explicit,
so a node never guesses one (Docker Hub is not assumed)."""


def check_image_reference(value: str) -> str:
    if not IMAGE_REFERENCE.match(value):
        raise ValueError(
            f"{value!r} is not an image reference; use registry/repository@sha256:<digest> or registry/repository:tag"
        )
    return value
