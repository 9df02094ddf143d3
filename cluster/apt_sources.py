"""Where the image's Debian packages come from: the sources apt uses on this machine,
one-line and deb822, and the mirror and sources the image gets."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cluster.image_contents import ImageError


@dataclass(frozen=True)
class AptSource:
    uri: str
    suite: str
    components: tuple[str, ...]


def apt_sources(etc_apt: Path = Path("/etc/apt")) -> list[AptSource]:
    """The binary package sources apt uses: sources.list and sources.list.d/*.list (one
    line each), sources.list.d/*.sources (deb822); other files there apt ignores too."""
    found: list[AptSource] = []
    one_line = [etc_apt / "sources.list", *sorted((etc_apt / "sources.list.d").glob("*.list"))]
    for path in one_line:
        if path.is_file():
            found += _one_line_sources(path.read_text())
    for path in sorted((etc_apt / "sources.list.d").glob("*.sources")):
        found += _deb822_sources(path.read_text())
    return found


def _one_line_sources(text: str) -> list[AptSource]:
    found = []
    for line in text.splitlines():
        fields = re.sub(r"\[[^\]]*\]", " ", line.split("#", 1)[0]).split()
        if len(fields) >= 3 and fields[0] == "deb":
            found.append(AptSource(fields[1].rstrip("/"), fields[2], tuple(fields[3:])))
    return found


def _deb822_sources(text: str) -> list[AptSource]:
    found = []
    for paragraph in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        key = ""
        for line in paragraph.splitlines():
            if line.startswith("#") or not line.strip():
                continue
            if line[0].isspace() and key:
                fields[key] += " " + line.strip()
            elif ":" in line:
                key, value = line.split(":", 1)
                key = key.strip().lower()
                fields[key] = value.strip()
        if "deb" not in fields.get("types", "").split() or fields.get("enabled", "yes").lower() == "no":
            continue
        components = tuple(fields.get("components", "").split())
        for uri in fields.get("uris", "").split():
            for suite in fields.get("suites", "").split():
                found.append(AptSource(uri.rstrip("/"), suite, components))
    return found


def debian_mirror(sources: Sequence[AptSource], suite: str) -> str:
    """The mirror apt installs `suite` from, for debootstrap."""
    for source in sources:
        if source.suite == suite and "main" in source.components:
            return source.uri
    raise ImageError(f"apt has no source for Debian {suite} main; add one to /etc/apt/sources.list.d/")


def image_apt_sources(sources: Sequence[AptSource], suite: str) -> list[AptSource]:
    """The image's apt sources: the release, its updates and security suites from the
    mirrors apt uses here (a Debian container image has these three), main only."""
    wanted = (suite, f"{suite}-updates", f"{suite}-security")
    chosen: dict[str, AptSource] = {}
    for source in sources:
        if source.suite in wanted and "main" in source.components and source.suite not in chosen:
            chosen[source.suite] = AptSource(source.uri, source.suite, ("main",))
    return [chosen[name] for name in wanted if name in chosen]


def sources_list(sources: Sequence[AptSource]) -> str:
    return "".join(f"deb {s.uri} {s.suite} {' '.join(s.components)}\n" for s in sources)
