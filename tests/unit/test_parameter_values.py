"""`postgresql` values checked as PostgreSQL itself would parse them, against the
catalogue generated from each major's pg_settings (pgpitr/parameters/pgNN.json), and
which changes need a restart."""

from __future__ import annotations

import pytest

from pgpitr.parameters.catalogue import load
from pgpitr.parameters.check import needs_restart, problems, restart_fingerprint
from pgpitr.parameters.values import Scalar, is_bool, problem
from pgpitr.versions import SUPPORTED_POSTGRES_VERSIONS

# (parameter, value, accepted) on every supported major
CASES: list[tuple[str, Scalar, bool]] = [
    # bool: PostgreSQL's words and their unique prefixes
    ("jit", True, True),
    ("jit", "off", True),
    ("jit", "Yes", True),
    ("jit", "of", True),
    ("jit", "o", False),
    ("jit", "maybe", False),
    ("jit", 1, True),
    ("jit", 2, False),
    # integer with a memory unit (shared_buffers counts 8kB pages; work_mem kB)
    ("shared_buffers", "1GB", True),
    ("shared_buffers", "128kB", True),
    ("shared_buffers", "64kB", False),  # 8 pages, below the minimum of 16
    ("shared_buffers", 16, True),
    ("shared_buffers", "lots", False),
    ("shared_buffers", "1 GB", True),
    ("shared_buffers", "1gb", False),  # units are case-sensitive
    ("work_mem", "1.5MB", True),
    ("work_mem", "10s", False),
    ("work_mem", "0x100", True),
    ("work_mem", "32", False),  # kB, below 64
    ("work_mem", "3TB", False),
    # integer with a time unit (seconds), and without a unit
    ("checkpoint_timeout", "15min", True),
    ("checkpoint_timeout", "29s", False),
    ("checkpoint_timeout", "2d", False),
    ("statement_timeout", "1h", True),
    ("statement_timeout", "250us", True),
    ("max_connections", 200, True),
    ("max_connections", "200 connections", False),
    ("max_connections", 1.4, True),  # rounded, as PostgreSQL does
    ("max_connections", 0, False),
    ("max_connections", True, False),
    # real, with and without a unit
    ("checkpoint_completion_target", 0.9, True),
    ("checkpoint_completion_target", 1.5, False),
    ("random_page_cost", "1.1", True),
    ("random_page_cost", "nan", False),
    ("vacuum_cost_delay", "2ms", True),
    ("vacuum_cost_delay", "2s", False),  # above 100ms
    # enum: any case; the hidden boolean spellings where on/off are values
    ("log_min_messages", "WARNING", True),
    ("log_min_messages", "loud", False),
    ("synchronous_commit", "remote_apply", True),
    ("synchronous_commit", "true", True),
    ("huge_pages", "try", True),
    ("wal_compression", "zstd", True),
    # string: PostgreSQL takes any
    ("application_name", "anything at all", True),
]


@pytest.mark.parametrize("major", SUPPORTED_POSTGRES_VERSIONS)
@pytest.mark.parametrize(("name", "value", "accepted"), CASES, ids=[f"{c[0]}={c[1]!r}" for c in CASES])
def test_values_as_postgresql_parses_them(major: int, name: str, value: Scalar, accepted: bool) -> None:
    parameter = load(major).parameters[name]
    assert (problem(parameter, value) is None) == accepted, problem(parameter, value)


def test_every_catalogue_is_a_real_server_s() -> None:
    for major in SUPPORTED_POSTGRES_VERSIONS:
        catalogue = load(major)
        assert catalogue.version.startswith(f"{major}.")
        assert len(catalogue.parameters) > 300
        assert catalogue.parameters["shared_buffers"].unit == "8kB"
        assert catalogue.parameters["work_mem"].context == "user"


def test_unknown_names_are_refused_with_the_closest_one() -> None:
    found = problems({"wrok_mem": "4MB", "work_mem": "4MB"}, 17)
    assert found == {"wrok_mem": "is not a parameter of PostgreSQL 17; did you mean work_mem?"}


def test_extension_parameters_are_left_to_the_server() -> None:
    assert problems({"pg_stat_statements.max": 10000, "auto_explain.log_min_duration": "1s"}, 15) == {}
    assert needs_restart("pg_stat_statements.max", 15), "unknown to pgpitr: taken to need a restart"


def test_one_problem_per_bad_value_with_the_value_shown() -> None:
    found = problems({"shared_buffers": "lots", "max_connections": 0}, 16)
    assert found["shared_buffers"].endswith("for PostgreSQL 16 (got 'lots')")
    assert found["max_connections"] == "0 is outside the valid range (1 .. 262143) for PostgreSQL 16 (got 0)"


def test_bool_prefixes_match_parse_bool() -> None:
    assert all(map(is_bool, ["t", "TRUE", "y", "n", "no", "on", "of", "1", "0"]))
    assert not any(map(is_bool, ["", "o", "2", "10", "truth", "onn"]))


def test_only_restart_parameters_change_the_fingerprint() -> None:
    base = {"shared_buffers": "256MB", "work_mem": "4MB", "archive_timeout": "60s"}
    reload_only = {**base, "work_mem": "64MB", "archive_timeout": "120s"}
    restart = {**base, "shared_buffers": "512MB"}
    assert restart_fingerprint(base, 16) == restart_fingerprint(reload_only, 16)
    assert restart_fingerprint(base, 16) != restart_fingerprint(restart, 16)
    assert not needs_restart("work_mem", 16) and needs_restart("shared_buffers", 16)
    assert needs_restart("wal_level", 17) and not needs_restart("archive_command", 17)
