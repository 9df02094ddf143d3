#!/usr/bin/env bash
# Installs actionlint, the linter for the GitHub Actions workflows in .github/workflows,
# at the pinned version below into ${PGPITR_TOOLS_DIR:-<repository>/.tools}/bin, built
# with `go install` from the Go module proxy. Does nothing when that binary is already
# there at that version. Prints the binary's path on stdout (everything else goes to
# stderr), so callers can run: actionlint=$(scripts/install-actionlint.sh)
set -euo pipefail

ACTIONLINT_VERSION=1.7.12

repository_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin_dir=${PGPITR_TOOLS_DIR:-$repository_root/.tools}/bin
mkdir -p "$bin_dir"
# go install needs an absolute GOBIN; PGPITR_TOOLS_DIR may be relative.
bin_dir=$(cd "$bin_dir" && pwd)
binary=$bin_dir/actionlint

# The first line of `actionlint -version`, without a leading "v"; empty if it cannot run.
installed_version() {
	local output
	output=$("$binary" -version 2>/dev/null) || return 0
	output=${output%%$'\n'*}
	echo "${output#v}"
}

if [[ -x $binary && $(installed_version) == "$ACTIONLINT_VERSION" ]]; then
	echo "$binary"
	exit 0
fi

command -v go >/dev/null || {
	echo "install-actionlint: the Go toolchain is needed to build actionlint $ACTIONLINT_VERSION; install Go 1.26 or newer" >&2
	exit 1
}
echo "install-actionlint: building actionlint $ACTIONLINT_VERSION into $bin_dir" >&2
# go install will not overwrite something that is not a Go binary (a stale wrapper, say).
rm -f "$binary"
GOBIN=$bin_dir go install "github.com/rhysd/actionlint/cmd/actionlint@v$ACTIONLINT_VERSION" >&2

found=$(installed_version)
if [[ $found != "$ACTIONLINT_VERSION" ]]; then
	echo "install-actionlint: $binary reports version '${found}', expected $ACTIONLINT_VERSION" >&2
	exit 1
fi
echo "$binary"
