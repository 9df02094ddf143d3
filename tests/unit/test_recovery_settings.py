"""The postgresql.conf lines each kind of recovery target becomes."""

import pytest

from pgpitr_runtime.recovery import (
    RecoveryInputError,
    RecoveryOptions,
    RecoveryTarget,
    recovery_settings,
    render_settings,
)

FETCH = '/usr/local/bin/pgpitr-wal-fetch "%f" "%p"'


def settings_for(kind: str, value: str | None, **options: object) -> dict[str, str]:
    return recovery_settings(RecoveryTarget.parse(kind, value), RecoveryOptions(**options), FETCH)  # type: ignore[arg-type]


def test_restore_command_goes_through_the_wrapper() -> None:
    assert settings_for("latest", None)["restore_command"] == '\'/usr/local/bin/pgpitr-wal-fetch "%f" "%p"\''


def test_time_target_keeps_its_offset() -> None:
    settings = settings_for("time", "2026-02-09T12:00:00+01:00")
    assert settings["recovery_target_time"] == "'2026-02-09 12:00:00+01:00'"
    assert settings["recovery_target_inclusive"] == "on"
    assert settings["recovery_target_action"] == "'promote'"
    assert settings["recovery_target_timeline"] == "'latest'"


@pytest.mark.parametrize(
    ("kind", "value", "name", "literal"),
    [
        ("xid", "771", "recovery_target_xid", "'771'"),
        ("lsn", "16/b374d848", "recovery_target_lsn", "'16/B374D848'"),
        ("name", "before 'the' migration", "recovery_target_name", "'before ''the'' migration'"),
        ("immediate", None, "recovery_target", "'immediate'"),
    ],
)
def test_each_kind_sets_exactly_its_own_target(kind: str, value: str | None, name: str, literal: str) -> None:
    settings = settings_for(kind, value)
    assert settings[name] == literal
    targets = [
        key
        for key in settings
        if key.startswith("recovery_target")
        and key not in ("recovery_target_inclusive", "recovery_target_timeline", "recovery_target_action")
    ]
    assert targets == [name]


def test_latest_sets_no_target_and_no_action() -> None:
    settings = settings_for("latest", None)
    assert not any(key in settings for key in ("recovery_target", "recovery_target_time", "recovery_target_action"))


def test_options_are_rendered() -> None:
    settings = settings_for("xid", "900", inclusive=False, timeline="3", action="pause")
    assert settings["recovery_target_inclusive"] == "off"
    assert settings["recovery_target_timeline"] == "'3'"
    assert settings["recovery_target_action"] == "'pause'"
    assert "recovery_target_inclusive" not in settings_for("name", "x")


def test_render_is_one_setting_per_line() -> None:
    text = render_settings(settings_for("lsn", "0/3000000"))
    assert text.endswith("\n") and "recovery_target_lsn = '0/3000000'\n" in text


@pytest.mark.parametrize(
    ("kind", "value", "words"),
    [
        ("timestamp", "x", "unknown recovery target"),
        ("time", "2026-02-09 12:00", "no timezone offset"),
        ("time", "noon", "RFC 3339"),
        ("xid", "-1", "transaction id"),
        ("xid", "2", "normal transaction id"),
        ("lsn", "16B374D848", "LSN"),
        ("name", "", "needs a value"),
        ("name", "x" * 64, "1 to 63"),
        ("latest", "yes please", "takes no value"),
    ],
)
def test_bad_targets(kind: str, value: str, words: str) -> None:
    with pytest.raises(RecoveryInputError, match=words):
        RecoveryTarget.parse(kind, value)


def test_bad_options() -> None:
    with pytest.raises(RecoveryInputError, match="timeline"):
        RecoveryOptions(timeline="previous")
    with pytest.raises(RecoveryInputError, match="action"):
        RecoveryOptions(action="resume")  # type: ignore[arg-type]
    with pytest.raises(RecoveryInputError, match="must be promote"):
        settings_for("latest", None, action="shutdown")
