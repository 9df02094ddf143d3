"""The README's "Without AWS" section stays true to the code: the example stack file is
the shipped one, and the image build it shows passes the arguments pulumi would."""

import re
import shlex
from pathlib import Path

from components.image import image_build_args
from pgpitr.versions import DEFAULT_POSTGRES_VERSION, DEFAULT_WALG_VERSION, WALG_RELEASES, image_tag

ROOT = Path(__file__).resolve().parents[2]


def without_aws_section() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Without AWS\n", 1)[1]
    return section.split("\n## ", 1)[0]


def code_block(text: str, language: str, containing: str) -> str:
    blocks: list[str] = re.findall(rf"^```{language}\n(.*?)^```$", text, flags=re.MULTILINE | re.DOTALL)
    (block,) = [b for b in blocks if containing in b]
    return block


def test_the_example_stack_file_is_the_shipped_one_verbatim() -> None:
    shown = code_block(without_aws_section(), "yaml", "provider: s3Compatible")
    assert shown == (ROOT / "Pulumi.onprem.yaml").read_text()


def test_the_image_build_passes_what_pulumi_passes() -> None:
    command = code_block(without_aws_section(), "bash", "docker buildx build")
    words = shlex.split(command.split("\ndocker buildx imagetools", 1)[0])
    assert words[:5] == ["docker", "buildx", "build", "-f", "docker/Dockerfile"] and words[-1] == "."
    shown = dict(words[i + 1].split("=", 1) for i, word in enumerate(words) if word == "--build-arg")
    release = WALG_RELEASES[DEFAULT_WALG_VERSION]
    assert shown == image_build_args(DEFAULT_POSTGRES_VERSION, release)
    tag = words[words.index("--tag") + 1]
    assert tag.endswith(f":{image_tag(DEFAULT_POSTGRES_VERSION, release)}")
