"""Reading a `Pulumi.<stack>.yaml` the way the CLI hands its config to the program."""

import json
from pathlib import Path

import yaml


def read_stack_file(path: Path) -> dict[str, str]:
    """The stack's config: strings stay strings, objects and numbers become JSON text."""
    document = yaml.safe_load(path.read_text()) or {}
    config = document.get("config") or {}
    return {key: value if isinstance(value, str) else json.dumps(value) for key, value in config.items()}
