# shellcheck shell=bash
# Shared by the cluster's build scripts (sourced): progress lines, one-line errors, and
# reading Go modules. Every script takes its input from the environment
# (cluster/versions.py) and its output folder as its only argument.

script_name=$(basename "${BASH_SOURCE[1]:-$0}")

fail() {
	printf '%s: %s\n' "$script_name" "$*" >&2
	exit 1
}

step() {
	printf '%s: %s (%ss)\n' "$script_name" "$*" "$SECONDS" >&2
}

# output_dir DIR: the build's output folder (made by the caller), as an absolute path.
output_dir() {
	[[ -n "$1" ]] || fail "usage: $script_name OUTPUT_DIR"
	[[ -d "$1" ]] || fail "the output folder $1 does not exist"
	(cd "$1" && pwd)
}

require_go() {
	command -v go >/dev/null || fail "the Go toolchain is needed (Go 1.26 or newer)"
}

# go_module_dir MODULE@VERSION: downloads the module into the module cache (or finds it
# there) and prints its folder.
go_module_dir() {
	local json dir error
	if ! json=$(go mod download -json "$1" 2>&1); then
		error=$(printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"Error": "\(.*\)",\{0,1\}$/\1/p')
		fail "the Go module proxy did not serve $1: ${error:-$json}"
	fi
	dir=$(printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
	[[ -n "$dir" && -d "$dir" ]] || fail "go mod download $1 gave no module folder"
	printf '%s\n' "$dir"
}

# go_mod_entries GO_MOD DIRECTIVE: the entries of a directive ("require", "replace",
# "godebug", ...) in a go.mod file, in block or one-line form, one per line, without
# the keyword and without comments.
go_mod_entries() {
	awk -v directive="$2" '
		{ sub(/[[:space:]]*\/\/.*$/, "") }
		$1 == directive && $2 == "(" { inside = 1; next }
		inside && $1 == ")" { inside = 0; next }
		inside && NF > 0 { $1 = $1; print; next }
		$1 == directive && NF > 1 { $1 = ""; sub(/^ /, ""); print }
	' "$1"
}

# keep_module_files OUTPUT_DIR: records the wrapper module's go.mod and go.sum (the exact
# dependency versions of the build) beside the programs.
keep_module_files() {
	mkdir -p "$1/module"
	cp go.mod go.sum "$1/module/"
}
