# shellcheck shell=bash
# Helpers sourced by the pgpitr-* scripts. Not executable on its own.

pgpitr_log() {
	printf '%s %s: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "${0##*/}" "$*" >&2
}

pgpitr_die() {
	pgpitr_log "ERROR: $*"
	exit 1
}

# Runs the stdlib-only Python helpers shipped beside the scripts.
pgpitr_runtime() {
	PYTHONPATH="${PGPITR_LIB:-/usr/local/lib/pgpitr}" python3 -m pgpitr_runtime "$@"
}
