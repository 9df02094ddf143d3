"""What `cluster down` must leave as `cluster up` found it, as one comparable value:
`python -m cluster.snapshot` prints it as JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from cluster import host, network
from harness.mounts import mount_table


def _ip_json(*args: str) -> list[dict[str, Any]]:
    result = subprocess.run(["ip", "-j", *args], capture_output=True, text=True, check=True)
    decoded: list[dict[str, Any]] = json.loads(result.stdout or "[]")
    return decoded


def links() -> list[str]:
    return sorted(
        f"{link['ifname']} {link.get('link_type', '')} mtu={link.get('mtu')} master={link.get('master', '-')} "
        f"flags={','.join(sorted(link.get('flags', [])))}"
        for link in _ip_json("link", "show")
    )


def addresses() -> list[str]:
    return sorted(
        f"{link['ifname']} {info['family']} {info['local']}/{info['prefixlen']}"
        for link in _ip_json("addr", "show")
        for info in link.get("addr_info", [])
    )


def routes() -> list[str]:
    found = []
    for family in ("-4", "-6"):
        for route in _ip_json(family, "route", "show", "table", "all"):
            found.append(" ".join(f"{key}={route[key]}" for key in sorted(route) if key not in ("expires",)))
    return sorted(found)


def iptables_rules() -> dict[str, list[str]]:
    """Every table's chains and rules per family, without the packet counters."""
    found = {}
    for family in network.FAMILIES:
        lines = []
        for line in network.iptables_save(family).splitlines():
            if line.startswith(":"):
                lines.append(line.split("[")[0].strip())
            elif line.startswith(("*", "-A")):
                lines.append(line)
        found[family] = lines
    return found


def mounts() -> list[str]:
    return sorted(f"{point} {kind}" for point, kind in mount_table())


def listening() -> list[str]:
    result = subprocess.run(["ss", "-H", "-l", "-t", "-u", "-n", "-x"], capture_output=True, text=True, check=True)
    found = set()
    for line in result.stdout.splitlines():
        fields = line.split()
        if len(fields) >= 5:
            found.add(f"{fields[0]} {fields[4]}")
    return sorted(found)


def network_namespaces() -> list[str]:
    return network.cni_netns()


def take() -> dict[str, Any]:
    return {
        "sysctls": {name: host.read_sysctl(name) for name in host.SYSCTLS},
        "links": links(),
        "addresses": addresses(),
        "routes": routes(),
        "iptables_chains": network.all_chains(),
        "iptables_rules": iptables_rules(),
        "nft_tables": network.nft_tables(),
        "mounts": mounts(),
        "paths": host.record_paths(),
        "cgroups": host.top_cgroups(),
        "listening": listening(),
        "network_namespaces": network_namespaces(),
    }


def differences(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """For each part that differs: what is only before, what is only after."""
    found: dict[str, Any] = {}
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        if isinstance(old, list) and isinstance(new, list):
            found[key] = {"gone": sorted(set(old) - set(new)), "new": sorted(set(new) - set(old))}
        elif isinstance(old, dict) and isinstance(new, dict):
            found[key] = {
                k: {"before": old.get(k), "after": new.get(k)} for k in set(old) | set(new) if old.get(k) != new.get(k)
            }
        else:
            found[key] = {"before": old, "after": new}
    return found


if __name__ == "__main__":
    json.dump(take(), sys.stdout, indent=2)
    print()
