"""The recovery target and options as the container scripts pass them: environment
variables named in pgpitr_runtime.names (pgpitr.container_env writes them)."""

from __future__ import annotations

from collections.abc import Mapping

from pgpitr_runtime import names
from pgpitr_runtime.recovery import RecoveryInputError, RecoveryOptions, RecoveryTarget, check_action_applies


def require(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "")
    if not value:
        raise RecoveryInputError(f"{name} is not set")
    return value


def flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw == "":
        return default
    if raw in ("true", "on", "1", "yes"):
        return True
    if raw in ("false", "off", "0", "no"):
        return False
    raise RecoveryInputError(f"{name} must be true or false, got {raw!r}")


def target_from_env(env: Mapping[str, str]) -> tuple[RecoveryTarget, RecoveryOptions]:
    target = RecoveryTarget.parse(
        require(env, names.PGPITR_RECOVERY_TARGET_KIND), env.get(names.PGPITR_RECOVERY_TARGET_VALUE)
    )
    options = RecoveryOptions(
        inclusive=flag(env, names.PGPITR_RECOVERY_INCLUSIVE, True),
        timeline=env.get(names.PGPITR_RECOVERY_TIMELINE) or "latest",
        action=env.get(names.PGPITR_RECOVERY_ACTION) or "promote",  # type: ignore[arg-type]
    )
    check_action_applies(target, options)
    return target, options
