"""The `postgresql` settings of a stack checked against its major's catalogue, and which
of a server's settings need a restart to change."""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Mapping

from pgpitr.parameters.catalogue import load
from pgpitr.parameters.values import Scalar, problem


def is_extension_parameter(name: str) -> bool:
    """`prefix.name`: a module's parameter, which PostgreSQL accepts before the module is
    loaded (a placeholder) and checks once it is, so pgpitr cannot check it here."""
    return "." in name


def problems(parameters: Mapping[str, Scalar], major: int) -> dict[str, str]:
    """Parameter name -> why PostgreSQL `major` would refuse it; empty when it would not."""
    catalogue = load(major)
    found = {}
    for name, value in sorted(parameters.items()):
        if is_extension_parameter(name):
            continue
        parameter = catalogue.parameters.get(name)
        if parameter is None:
            close = difflib.get_close_matches(name, list(catalogue.parameters), n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            found[name] = f"is not a parameter of PostgreSQL {major}{hint}"
            continue
        wrong = problem(parameter, value)
        if wrong is not None:
            found[name] = f"{wrong} for PostgreSQL {major} (got {value!r})"
    return found


def needs_restart(name: str, major: int) -> bool:
    """Changing `name` takes a restart: a postmaster-context parameter, or one pgpitr
    cannot look up (an extension's), taken to need one to be safe."""
    parameter = load(major).parameters.get(name)
    return parameter is None or parameter.needs_restart


def restart_fingerprint(settings: Mapping[str, Scalar], major: int) -> str:
    """A digest of the settings only a restart applies: it changes exactly when a change
    of `settings` needs the server restarted (the others reach it by a reload)."""
    restart_only = sorted((name, repr(value)) for name, value in settings.items() if needs_restart(name, major))
    return hashlib.sha256(repr(restart_only).encode()).hexdigest()
