#!/usr/bin/env bash
# Installs the Debian packages the drill and the tests need, if any is missing; with
# arguments, those packages instead (the local cluster's, from cluster/toolchain.py).
# Runs apt-get directly as root, through sudo otherwise.
set -euo pipefail

packages=(
	postgresql-15 postgresql-contrib
	prometheus prometheus-postgres-exporter
	pgbackrest shellcheck
	gnupg
	libsodium-dev libbrotli-dev liblzo2-dev
	util-linux
)
if (($# > 0)); then
	packages=("$@")
fi

missing=()
for package in "${packages[@]}"; do
	if ! dpkg-query -W -f '${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$package")
	fi
done
if ((${#missing[@]} == 0)); then
	exit 0
fi

run_as_root=()
if [[ $(id -u) -ne 0 ]]; then
	command -v sudo >/dev/null || {
		echo "install-system-packages: need root or sudo to install: ${missing[*]}" >&2
		exit 1
	}
	run_as_root=(sudo)
fi
echo "install-system-packages: installing ${missing[*]}" >&2
"${run_as_root[@]}" apt-get update -qq
"${run_as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
