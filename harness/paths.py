"""Where the repository and its cached tools are."""

import os
from pathlib import Path
from typing import Final

from pgpitr_runtime import names

REPOSITORY_ROOT: Final = Path(__file__).resolve().parent.parent
TOOLS_DIR: Final = Path(os.environ.get(names.PGPITR_TOOLS_DIR, REPOSITORY_ROOT / ".tools"))
"""Built tools (WAL-G, the cluster's parts, SeaweedFS), cached by version and digest."""


def shown(path: Path) -> str:
    """`path` relative to the repository when it is inside it."""
    return str(path.relative_to(REPOSITORY_ROOT)) if path.is_relative_to(REPOSITORY_ROOT) else str(path)
