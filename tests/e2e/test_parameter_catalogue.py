"""The committed parameter catalogues are what the real servers say, and pgpitr judges
values as those servers do: each case of tests/unit/test_parameter_values.py is given to
a real server with ALTER SYSTEM, which parses and range-checks a value of any context
without applying it. Run for the majors this machine runs without a chroot (15 from
Debian, 16 from the npm package catalogue/sources.py pins); 17 needs a debootstrap root
(`python -m catalogue --check 17`, as root)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from catalogue.__main__ import generate
from catalogue.dump import throwaway_server
from catalogue.servers import binaries
from catalogue.sources import SOURCES, NpmBinaries
from pgpitr.parameters.catalogue import catalogue_path, load
from pgpitr.parameters.values import problem
from pgpitr.postgresql_conf import literal
from tests.unit.test_parameter_values import CASES

pytestmark = pytest.mark.e2e
MAJORS = (15, 16)


@pytest.fixture(scope="module", params=MAJORS, ids=[f"pg{major}" for major in MAJORS])
def server(request: pytest.FixtureRequest) -> Iterator[tuple[int, Path]]:
    major: int = request.param
    with throwaway_server(binaries(major, SOURCES[major])) as socket:
        yield major, socket


def added_by_the_catalogue(major: int, name: str, value: object) -> bool:
    """A value the catalogue adds for the image's build that this server's build lacks."""
    source = SOURCES[major]
    return isinstance(source, NpmBinaries) and value in source.added_values.get(name, ())


def test_the_committed_catalogue_is_the_server_s(server: tuple[int, Path]) -> None:
    major, _ = server
    committed = json.loads(catalogue_path(major).read_text())
    assert generate(major)["parameters"] == committed["parameters"], f"run `python -m catalogue {major}`"


def test_values_are_judged_as_the_server_judges_them(server: tuple[int, Path]) -> None:
    major, socket = server
    catalogue = load(major)
    disagreements = []
    with psycopg.connect(host=str(socket), dbname="postgres", user="postgres", autocommit=True) as connection:
        for name, value, _ in CASES:
            if added_by_the_catalogue(major, name, value):
                continue
            text = literal(value).strip("'")
            statement = sql.SQL("ALTER SYSTEM SET {} TO {}").format(sql.Identifier(name), sql.Literal(text))
            try:
                connection.execute(statement)
                server_accepts = True
            except psycopg.errors.DataException:
                server_accepts = False
            except psycopg.errors.InvalidParameterValue:
                server_accepts = False
            connection.execute(sql.SQL("ALTER SYSTEM RESET {}").format(sql.Identifier(name)))
            ours = problem(catalogue.parameters[name], value)
            if (ours is None) != server_accepts:
                disagreements.append(
                    f"{name}={value!r}: server {'accepts' if server_accepts else 'refuses'}, pgpitr {ours}"
                )
    assert not disagreements, disagreements
