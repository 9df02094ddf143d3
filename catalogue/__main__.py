"""python -m catalogue [MAJOR ...]: writes pgpitr/parameters/pgNN.json for each major
(default: every one pgpitr supports) from that major's real pg_settings."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from catalogue.dump import read_catalogue, throwaway_server
from catalogue.servers import binaries
from catalogue.sources import SOURCES, NpmBinaries
from harness.processes import HarnessError
from pgpitr.parameters.catalogue import catalogue_path
from pgpitr.versions import SUPPORTED_POSTGRES_VERSIONS


def generate(major: int) -> dict[str, Any]:
    source = SOURCES[major]
    with throwaway_server(binaries(major, source)) as socket:
        generated = read_catalogue(socket)
    if isinstance(source, NpmBinaries):
        for name, values in source.added_values.items():
            entry = generated["parameters"][name]
            entry["values"] += [value for value in values if value not in entry["values"]]
        generated["added_values"] = {name: list(values) for name, values in source.added_values.items()}
    return generated


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m catalogue", description=__doc__)
    parser.add_argument("majors", nargs="*", type=int, default=list(SUPPORTED_POSTGRES_VERSIONS))
    parser.add_argument("--check", action="store_true", help="compare with the committed file instead of writing")
    arguments = parser.parse_args()
    status = 0
    for major in arguments.majors:
        if major not in SOURCES:
            print(f"catalogue: no source for PostgreSQL {major}; add one to catalogue/sources.py", file=sys.stderr)
            return 2
        try:
            generated = generate(major)
        except HarnessError as error:
            print(f"catalogue: PostgreSQL {major}: {error}", file=sys.stderr)
            return 1
        text = json.dumps(generated, indent=1, sort_keys=True) + "\n"
        path = catalogue_path(major)
        if arguments.check:
            # The parameters, not the minor release they were read from.
            committed = json.loads(path.read_text()) if path.exists() else {}
            same = committed.get("parameters") == generated["parameters"]
            print(f"catalogue: {path.name} {'matches' if same else 'DIFFERS from'} PostgreSQL {generated['version']}")
            status = status or (0 if same else 1)
        else:
            path.write_text(text)
            count = len(generated["parameters"])
            print(f"catalogue: wrote {path.name}: {count} parameters of PostgreSQL {generated['version']}")
    return status


if __name__ == "__main__":
    sys.exit(main())
