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

# Time limits of WAL-G calls, in seconds. WAL-G's S3 client has no request timeout, so an
# endpoint that accepts connections and never answers would hold a call forever; refused
# connections are bounded by WALG_S3_MAX_RETRIES (pgpitr/walg_env.py) instead.
: "${PGPITR_WALG_SEGMENT_TIMEOUT:=120}"      # wal-push, wal-fetch: one 16 MB segment (or a few)
: "${PGPITR_WALG_LIST_TIMEOUT:=60}"         # backup-list: reads only the backups' metadata
: "${PGPITR_WALG_MAINTENANCE_TIMEOUT:=900}" # delete, wal-verify: list every WAL segment
: "${PGPITR_WALG_TRANSFER_TIMEOUT:=21600}"  # backup-push, backup-fetch: the whole database

# pgpitr_walg LIMIT ARGS...: wal-g ARGS, stopped after LIMIT seconds (SIGTERM to its
# process group, SIGKILL 10 s later: WAL-G does not always heed SIGTERM). Status 124
# (or 137) then, with one line saying which call ran out of time.
pgpitr_walg() {
	local limit=$1 status=0
	shift
	timeout --kill-after=10 "$limit" wal-g "$@" || status=$?
	if ((status == 124 || status == 137)); then
		pgpitr_log "ERROR: wal-g $1 did not finish within ${limit}s: the storage endpoint is unreachable or not answering"
	fi
	return "$status"
}

# pgpitr_stop_file DATA_DIR: sets `stop_file` to where pgpitr-pre-stop leaves the time by
# which the server in DATA_DIR must be done archiving, named after its postmaster's pid
# and start time (postmaster.pid lines 1 and 3): a file left by an earlier server (a pod's
# /tmp outlives its container; in a container the postmaster is always pid 1) does not
# apply to this one. Returns 1 when no server runs there. Starts no program (wal-push
# calls it for every segment).
pgpitr_stop_file() {
	local pid _ started
	{ read -r pid && read -r _ && read -r started; } 2>/dev/null <"$1/postmaster.pid" || return 1
	# shellcheck disable=SC2034 # the caller reads it
	stop_file="${TMPDIR:-/tmp}/pgpitr-stop-$UID-$pid-$started"
}
