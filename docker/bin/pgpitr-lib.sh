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
# (or 137) then, with one line saying which call ran out of time. On a failure,
# `walg_failure` says what happened, for the caller's own line (when the call ran in
# the caller's shell, not in a command substitution).
pgpitr_walg() {
	local limit=$1 status=0
	shift
	timeout --kill-after=10 "$limit" wal-g "$@" || status=$?
	walg_failure=""
	if ((status == 124 || status == 137)); then
		walg_failure="wal-g $1 did not finish within ${limit}s: the storage endpoint is unreachable or not answering"
		pgpitr_log "ERROR: $walg_failure"
	elif ((status != 0)); then
		walg_failure="wal-g $1 failed with status $status"
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

# --- The archive's locations (pgpitr_runtime/archive.py) ---------------------------------
# An instance's archive is PGPITR_ARCHIVE (or, for a restore, PGPITR_SOURCE_ARCHIVE): its
# first location and the name of its manifest, which lists every location. No script sets
# WALG_S3_PREFIX from anything else.

# pgpitr_read_manifest ARCHIVE: sets `manifest` to the manifest stored beside ARCHIVE, or
# to "" when there is none (an unused archive, or one an earlier pgpitr wrote). Returns 1
# when storage fails.
pgpitr_read_manifest() {
	local folder="$1.locations" scratch status=0
	manifest=""
	scratch=$(mktemp)
	WALG_S3_PREFIX="$folder" pgpitr_walg "$PGPITR_WALG_LIST_TIMEOUT" st ls >"$scratch" || status=$?
	if ((status == 0)) && [[ $'\n'"$(<"$scratch")" == *[[:space:]]manifest.json[[:space:]]* ]]; then
		WALG_S3_PREFIX="$folder" pgpitr_walg "$PGPITR_WALG_LIST_TIMEOUT" st cat manifest.json >"$scratch" || status=$?
		((status != 0)) || manifest=$(<"$scratch")
	fi
	rm -f "$scratch"
	return "$status"
}

# pgpitr_write_manifest ARCHIVE FILE: stores FILE as the manifest beside ARCHIVE, as it is
# (neither compressed nor encrypted: it holds no secret, and every reader must read it).
pgpitr_write_manifest() {
	WALG_S3_PREFIX="$1.locations" pgpitr_walg "$PGPITR_WALG_LIST_TIMEOUT" \
		st put --no-compress --no-encrypt -f "$2" manifest.json
}

# pgpitr_passphrase_from_file: a retired PGP key's passphrase, from the file its location's
# settings name, into WALG_PGP_KEY_PASSPHRASE (WAL-G takes it from the environment only).
pgpitr_passphrase_from_file() {
	if [[ -n "${PGPITR_PGP_PASSPHRASE_FILE:-}" && -r "$PGPITR_PGP_PASSPHRASE_FILE" ]]; then
		WALG_PGP_KEY_PASSPHRASE=$(<"$PGPITR_PGP_PASSPHRASE_FILE")
		export WALG_PGP_KEY_PASSPHRASE
	fi
}

# pgpitr_use_location NUMBER|current: the WAL-G settings of that location of $manifest,
# in this shell (one location per process or subshell: the settings replace the key
# variables). `current` is where the primary archives; a job must find it written with its
# own settings, else this fails with the line saying why.
pgpitr_use_location() {
	local settings
	settings=$(pgpitr_runtime archive-env "$1" <<<"$manifest") || return 1
	eval "$settings"
	pgpitr_passphrase_from_file
}

# pgpitr_list_locations DIR: `backup-list --detail --json` of every location of $manifest,
# into DIR/N.json. On a failure, `list_failure` says which location and WAL-G's error.
pgpitr_list_locations() {
	local number errors status
	errors=$(mktemp)
	# shellcheck disable=SC2034 # the caller reads it
	list_failure=""
	for number in $(pgpitr_runtime archive-numbers <<<"$manifest"); do
		status=0
		(pgpitr_use_location "$number" && pgpitr_walg "$PGPITR_WALG_LIST_TIMEOUT" backup-list --detail --json) \
			>"$1/$number.json" 2>"$errors" || status=$?
		cat "$errors" >&2
		if ((status != 0)); then
			# shellcheck disable=SC2034 # the caller reads it
			list_failure="location $number: $(pgpitr_runtime walg-error <"$errors")"
			rm -f "$errors"
			return 1
		fi
	done
	rm -f "$errors"
}

# pgpitr_key_verdict SEGMENT: what WAL-G makes of WAL segment SEGMENT of the location in
# effect with the settings in effect: `ok`, or `key`, `storage`, `missing` or `other` and
# WAL-G's reason (pgpitr_runtime/key_check.py), on stdout.
pgpitr_key_verdict() {
	local scratch status=0
	scratch=$(mktemp -d)
	WALG_DOWNLOAD_CONCURRENCY=1 pgpitr_walg "$PGPITR_WALG_SEGMENT_TIMEOUT" wal-fetch "$1" "$scratch/$1" \
		2>"$scratch/stderr" || status=$?
	PGPITR_KEY_CHECK_STATUS="$status" pgpitr_runtime key-verdict <"$scratch/stderr"
	rm -rf "$scratch"
}

# pgpitr_state_dir DATA_DIR: sets `state` to the archive state folder beside DATA_DIR
# (names.ARCHIVE_STATE_DIR): the settled location, the manifest as last written, and a
# restore's WAL sources. On the data volume, so it goes when the volume goes.
pgpitr_state_dir() {
	# shellcheck disable=SC2034 # the caller reads it
	state="${1%/*}/pgpitr-archive"
}

# pgpitr_system_identifier DATA_DIR: the database system identifier pg_controldata reports.
pgpitr_system_identifier() {
	local line
	while IFS= read -r line; do
		if [[ "$line" == "Database system identifier:"* ]]; then
			printf '%s\n' "${line##* }"
			return 0
		fi
	done < <(LC_ALL=C pg_controldata "$1")
	return 1
}

# pgpitr_initdb: initialises the empty PGDATA as POSTGRES_USER with POSTGRES_PASSWORD and
# POSTGRES_INITDB_ARGS, and lets passwords log in from the network (scram-sha-256).
pgpitr_initdb() {
	local password_file
	: "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD must be set to initialise the empty data directory $PGDATA}"
	pgpitr_log "initialising an empty data directory in $PGDATA"
	mkdir -p "$PGDATA"
	chmod 0700 "$PGDATA"
	password_file=$(mktemp)
	printf '%s\n' "$POSTGRES_PASSWORD" >"$password_file"
	# shellcheck disable=SC2086 # POSTGRES_INITDB_ARGS is a list of options
	if ! initdb --pgdata="$PGDATA" --username="${POSTGRES_USER:-postgres}" --pwfile="$password_file" \
		${POSTGRES_INITDB_ARGS:-} >&2; then
		rm -f "$password_file"
		return 1
	fi
	rm -f "$password_file"
	printf '\n# Added by pgpitr: password logins over the network\nhost all all all scram-sha-256\n' >>"$PGDATA/pg_hba.conf"
}
