"""The pod network: the bridge, the rules that keep every packet on this machine, and
the removal of everything the cluster's networking leaves behind.

The bridge `cni0` gets NODE_IP before anything starts (kubelet takes it as the node's
address, the API server advertises it). Pods have no default route, only the pod
network and a route to the Service network through NODE_IP; the bridge plugin masks
nothing (ipMasq false). Two chains in the mangle table, evaluated before kube-proxy's
rules in the filter table whatever order those are inserted in, drop forwarding between
`cni0` and any other interface and anything addressed to the pod or Service network
arriving from another interface.
"""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Final

from cluster.config import BRIDGE, NODE_IP, POD_CIDR, POD_RANGE, SERVICE_CIDR, WorkDir
from cluster.state import ClusterError, write_if_changed

FAMILIES: Final = {"ipv4": ("iptables", "iptables-save"), "ipv6": ("ip6tables", "ip6tables-save")}
ISOLATION_TABLE: Final = "mangle"
FORWARD_CHAIN: Final = "PGPITR-FORWARD"
INPUT_CHAIN: Final = "PGPITR-INPUT"
REMOVED_CHAIN_PREFIXES: Final = ("KUBE-", "PGPITR-", "CNI-")
"""Chains that kube-proxy, kubelet, the CNI plugins and this harness create."""
NETNS_DIR: Final = Path("/run/netns")
CNI_NETWORK_NAME: Final = "pgpitr"


def run(argv: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(argv, capture_output=True, text=True)
    if check and result.returncode != 0:
        message = (result.stderr.strip() or result.stdout.strip() or "no output").splitlines()[-1]
        raise ClusterError(f"`{shlex.join(argv)}` failed: {message}")
    return result


# --- The bridge ----------------------------------------------------------------------


def link_exists(name: str) -> bool:
    return Path(f"/sys/class/net/{name}").exists()


def bridge_addresses() -> list[str]:
    result = run(["ip", "-j", "-4", "addr", "show", "dev", BRIDGE], check=False)
    if result.returncode != 0 or not result.stdout.strip():
        return []
    return [
        f"{info['local']}/{info['prefixlen']}"
        for link in json.loads(result.stdout)
        for info in link.get("addr_info", [])
    ]


def ensure_bridge() -> None:
    """cni0 with NODE_IP, up, and the Service network routed to it (so traffic to a
    Service address without a rule never takes the default route off the machine)."""
    prefix = POD_CIDR.split("/")[1]
    if not link_exists(BRIDGE):
        run(["ip", "link", "add", BRIDGE, "type", "bridge"])
    elif not Path(f"/sys/class/net/{BRIDGE}/bridge").is_dir():
        raise ClusterError(f"{BRIDGE} exists and is not a bridge; remove it first")
    if f"{NODE_IP}/{prefix}" not in bridge_addresses():
        run(["ip", "addr", "add", f"{NODE_IP}/{prefix}", "dev", BRIDGE])
    run(["ip", "link", "set", BRIDGE, "up"])
    run(["ip", "route", "replace", SERVICE_CIDR, "dev", BRIDGE, "src", NODE_IP])


def bridge_ports() -> list[str]:
    directory = Path(f"/sys/class/net/{BRIDGE}/brif")
    return sorted(entry.name for entry in directory.iterdir()) if directory.is_dir() else []


def remove_bridge() -> None:
    """The bridge, any veth still attached to it, and its routes (with it)."""
    for port in bridge_ports():
        run(["ip", "link", "delete", port], check=False)
    if link_exists(BRIDGE):
        run(["ip", "link", "delete", BRIDGE])


def cni_netns() -> list[str]:
    """Network namespaces containerd made for pod sandboxes (named cni-<uuid>)."""
    if not NETNS_DIR.is_dir():
        return []
    return sorted(entry.name for entry in NETNS_DIR.iterdir() if entry.name.startswith("cni-"))


def remove_netns() -> None:
    for name in cni_netns():
        run(["ip", "netns", "delete", name], check=False)


def cni_config(work: WorkDir) -> dict[str, object]:
    """The bridge plugin on cni0 with host-local addresses, no masquerade, no default
    route: pods reach the pod network and, through NODE_IP, the Service network."""
    return {
        "cniVersion": "1.0.0",
        "name": CNI_NETWORK_NAME,
        "plugins": [
            {
                "type": "bridge",
                "bridge": BRIDGE,
                "isGateway": False,
                "isDefaultGateway": False,
                "ipMasq": False,
                "hairpinMode": True,
                "ipam": {
                    "type": "host-local",
                    "dataDir": str(work.ipam_dir),
                    "ranges": [
                        [
                            {
                                "subnet": POD_CIDR,
                                "rangeStart": POD_RANGE[0],
                                "rangeEnd": POD_RANGE[1],
                                "gateway": NODE_IP,
                            }
                        ]
                    ],
                    "routes": [{"dst": SERVICE_CIDR}],
                },
            }
        ],
    }


def write_cni_config(work: WorkDir) -> None:
    path = work.cni_conf_dir / f"10-{CNI_NETWORK_NAME}.conflist"
    work.cni_conf_dir.mkdir(parents=True, exist_ok=True)
    for stale in work.cni_conf_dir.iterdir():
        if stale != path:
            stale.unlink()
    write_if_changed(path, json.dumps(cni_config(work), indent=2) + "\n")


# --- iptables ------------------------------------------------------------------------------


def iptables_save(family: str) -> str:
    result = run([FAMILIES[family][1]], check=False)
    return result.stdout if result.returncode == 0 else ""


def chains(family: str) -> list[str]:
    """Every chain as "table:chain"."""
    found = []
    table = ""
    for line in iptables_save(family).splitlines():
        if line.startswith("*"):
            table = line[1:].strip()
        elif line.startswith(":"):
            found.append(f"{table}:{line[1:].split()[0]}")
    return sorted(found)


def all_chains() -> dict[str, list[str]]:
    return {family: chains(family) for family in FAMILIES}


def _rules(family: str) -> list[tuple[str, list[str]]]:
    """(table, rule arguments after -A) of every rule."""
    rules = []
    table = ""
    for line in iptables_save(family).splitlines():
        if line.startswith("*"):
            table = line[1:].strip()
        elif line.startswith("-A "):
            rules.append((table, shlex.split(line)[1:]))
    return rules


def _target(rule: list[str]) -> str | None:
    for flag in ("-j", "-g", "--jump", "--goto"):
        if flag in rule[:-1]:
            return rule[rule.index(flag) + 1]
    return None


def remove_chains(keep: dict[str, list[str]] | None) -> list[str]:
    """Removes the chains named KUBE-*, PGPITR-* and CNI-* that are not in `keep`, with
    every rule that jumps to them; returns what it removed as "family table:chain"."""
    removed = []
    for family, (program, _) in FAMILIES.items():
        kept = set((keep or {}).get(family, []))
        doomed = {
            chain
            for chain in chains(family)
            if chain.split(":", 1)[1].startswith(REMOVED_CHAIN_PREFIXES) and chain not in kept
        }
        if not doomed:
            continue
        for table, rule in _rules(family):
            chain, target = rule[0], _target(rule)
            if f"{table}:{chain}" not in doomed and target and f"{table}:{target}" in doomed:
                run([program, "-w", "-t", table, "-D", *rule], check=False)
        for entry in sorted(doomed):
            table, chain = entry.split(":", 1)
            run([program, "-w", "-t", table, "-F", chain], check=False)
        for entry in sorted(doomed):
            table, chain = entry.split(":", 1)
            run([program, "-w", "-t", table, "-X", chain], check=False)
        left = set(chains(family)) & doomed
        if left:
            raise ClusterError(f"could not remove the {family} chains {', '.join(sorted(left))}")
        removed += [f"{family} {entry}" for entry in sorted(doomed)]
    return removed


def nft_tables() -> list[str]:
    """nf_tables tables as "family name" (iptables-nft makes one per iptables table it
    touches, and an emptied table stays; only `nft` removes it)."""
    if shutil.which("nft") is None:
        return []
    result = run(["nft", "list", "tables"], check=False)
    return sorted(
        line.removeprefix("table ").strip() for line in result.stdout.splitlines() if line.startswith("table ")
    )


def _table_has_rules(table: str) -> bool:
    listing = run(["nft", "list", "table", *table.split()], check=False).stdout
    for line in listing.splitlines():
        text = line.strip()
        if text and not text.startswith(("table ", "chain ", "type ", "policy ", "}", "comment ")):
            return True
    return False


def remove_tables(keep: list[str]) -> list[str]:
    """Removes the empty tables of families ip and ip6 that were not in `keep`;
    returns them."""
    removed = []
    for table in nft_tables():
        if table in keep or table.split()[0] not in ("ip", "ip6"):
            continue
        if _table_has_rules(table):
            raise ClusterError(f"the nftables table {table} still has rules; not removing it")
        run(["nft", "delete", "table", *table.split()])
        removed.append(table)
    return removed


ISOLATION_RULES: Final = {
    FORWARD_CHAIN: (
        ["-i", BRIDGE, "-o", BRIDGE, "-j", "RETURN"],
        ["-i", BRIDGE, "-j", "DROP"],
        ["-o", BRIDGE, "-j", "DROP"],
    ),
    INPUT_CHAIN: (
        ["-i", "lo", "-j", "RETURN"],
        ["-i", BRIDGE, "-j", "RETURN"],
        ["-d", POD_CIDR, "-j", "DROP"],
        ["-d", SERVICE_CIDR, "-j", "DROP"],
    ),
}
ISOLATION_HOOKS: Final = {FORWARD_CHAIN: "FORWARD", INPUT_CHAIN: "INPUT"}


def ensure_isolation() -> None:
    """The two chains (rewritten each time) and a jump to each at the top of its hook."""
    table = ISOLATION_TABLE
    existing = set(chains("ipv4"))
    for chain, rules in ISOLATION_RULES.items():
        if f"{table}:{chain}" not in existing:
            run(["iptables", "-w", "-t", table, "-N", chain])
        run(["iptables", "-w", "-t", table, "-F", chain])
        for rule in rules:
            run(["iptables", "-w", "-t", table, "-A", chain, *rule])
        hook = ISOLATION_HOOKS[chain]
        jump = ["-j", chain]
        if run(["iptables", "-w", "-t", table, "-C", hook, *jump], check=False).returncode != 0:
            run(["iptables", "-w", "-t", table, "-I", hook, "1", *jump])


def isolation_in_place() -> bool:
    table = ISOLATION_TABLE
    return all(
        run(["iptables", "-w", "-t", table, "-C", hook, "-j", chain], check=False).returncode == 0
        for chain, hook in ISOLATION_HOOKS.items()
    )


def interfaces() -> list[str]:
    return sorted(entry.name for entry in Path("/sys/class/net").iterdir())


def veths() -> list[str]:
    """Every veth device in this network namespace."""
    result = run(["ip", "-j", "link", "show", "type", "veth"], check=False)
    if result.returncode != 0 or not result.stdout.strip():
        return []
    return sorted(str(link["ifname"]) for link in json.loads(result.stdout))
