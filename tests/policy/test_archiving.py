"""WAL archiving (policy/archiving.py): the primary's postgresql.conf archives through WAL-G."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from policy import archiving
from tests.mocks.harness import Recorded
from tests.policy.analyzer import PRIMARY_CONFIG, changed, only_violation, violations


def edit_conf(old: str, new: str) -> Callable[[dict[str, Any]], object]:
    def change(inputs: dict[str, Any]) -> None:
        conf = inputs["data"]["postgresql.conf"]
        assert old in conf
        inputs["data"]["postgresql.conf"] = conf.replace(old, new)

    return change


def test_archive_mode_off_is_refused(dev: Recorded) -> None:
    resource = changed(dev, *PRIMARY_CONFIG, edit_conf("archive_mode = 'on'", "archive_mode = 'off'"))
    message = only_violation("postgres-archiving-on", resource)
    assert "ConfigMap 'postgres-config': postgresql.conf: archive_mode is 'off'; set archive_mode = 'on'" in message


def test_archive_command_that_does_not_push_is_refused(dev: Recorded) -> None:
    resource = changed(
        dev, *PRIMARY_CONFIG, edit_conf("archive_command = 'pgpitr-wal-push \"%p\"'", "archive_command = '/bin/true'")
    )
    message = only_violation("postgres-archiving-on", resource)
    assert "archive_command is '/bin/true'" in message and "pgpitr-wal-push" in message


def test_last_setting_wins_and_comments_are_ignored(dev: Recorded) -> None:
    def append(text: str) -> Callable[[dict[str, Any]], object]:
        return lambda inputs: inputs["data"].update({"postgresql.conf": inputs["data"]["postgresql.conf"] + text})

    turned_off = changed(dev, *PRIMARY_CONFIG, append("\n# archive_mode = on\nARCHIVE_MODE=off  # later\n"))
    assert "archive_mode is 'off'" in only_violation("postgres-archiving-on", turned_off)
    commented = changed(dev, *PRIMARY_CONFIG, append("\n#archive_mode = off\n"))
    assert violations("postgres-archiving-on", [commented]) == []


def test_restored_config_may_leave_archiving_off(restored: Recorded) -> None:
    conf = restored.one("kubernetes:core/v1:ConfigMap", "postgres-restored-config").inputs["data"]["postgresql.conf"]
    assert "archive_mode = 'off'" in conf
    assert violations("postgres-archiving-on", restored.resources) == []


def test_conf_parser() -> None:
    conf = (
        "archive_mode on\n"
        "archive_command = 'wal-g wal-push \"%p\" # not a comment'  # a comment\n"
        "quoted = 'it''s'\n"
        "broken = 'unterminated\n"
    )
    settings = archiving.parse_postgresql_conf(conf)
    assert settings == {
        "archive_mode": "on",
        "archive_command": 'wal-g wal-push "%p" # not a comment',
        "quoted": "it's",
    }
    assert archiving.archiving_findings(settings) == []
    assert archiving.archiving_findings({**settings, "archive_library": "basic_archive"}) != []
