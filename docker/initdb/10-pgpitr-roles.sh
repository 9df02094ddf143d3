#!/usr/bin/env bash
# Run by the official image's entrypoint on a new cluster (and by the local drill):
# creates the backup role (REPLICATION, for WAL-G's remote backups), the monitoring
# role (pg_monitor, for postgres_exporter) and the pgpitr schema where backups are
# recorded, and lets the backup role connect for replication. Idempotent: running it
# again resets the two passwords.
# Input: PGPITR_BACKUP_ROLE/_PASSWORD, PGPITR_MONITOR_ROLE/_PASSWORD, POSTGRES_USER,
# PGDATA; connects the way the entrypoint does (or through PGHOST/PGPORT when set).
set -euo pipefail

: "${PGDATA:?PGDATA is not set}"
: "${PGPITR_BACKUP_ROLE:?PGPITR_BACKUP_ROLE is not set}"
: "${PGPITR_BACKUP_PASSWORD:?PGPITR_BACKUP_PASSWORD is not set}"
: "${PGPITR_MONITOR_ROLE:?PGPITR_MONITOR_ROLE is not set}"
: "${PGPITR_MONITOR_PASSWORD:?PGPITR_MONITOR_PASSWORD is not set}"

psql -v ON_ERROR_STOP=1 --no-psqlrc --username "${POSTGRES_USER:-postgres}" --dbname postgres \
	--set backup_role="$PGPITR_BACKUP_ROLE" --set backup_password="$PGPITR_BACKUP_PASSWORD" \
	--set monitor_role="$PGPITR_MONITOR_ROLE" --set monitor_password="$PGPITR_MONITOR_PASSWORD" <<'SQL'
SELECT format('CREATE ROLE %I', :'backup_role')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'backup_role') \gexec
ALTER ROLE :"backup_role" WITH LOGIN REPLICATION PASSWORD :'backup_password';
-- WAL-G's remote backup reads data_directory, which only superusers and members of
-- pg_read_all_settings may see; found by running it, and the only grant it needs.
GRANT pg_read_all_settings TO :"backup_role";
SELECT format('CREATE ROLE %I', :'monitor_role')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'monitor_role') \gexec
ALTER ROLE :"monitor_role" WITH LOGIN PASSWORD :'monitor_password' CONNECTION LIMIT 5;
GRANT pg_monitor TO :"monitor_role";
-- Backup bookkeeping: the backup job records each successful base backup here, and
-- the exporter reads it (pgpitr_backup_* metrics).
CREATE SCHEMA IF NOT EXISTS pgpitr;
CREATE TABLE IF NOT EXISTS pgpitr.backup_history (
  backup_name text PRIMARY KEY,
  finished_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS pgpitr.cluster_info (created_at timestamptz NOT NULL DEFAULT now());
INSERT INTO pgpitr.cluster_info SELECT WHERE NOT EXISTS (SELECT FROM pgpitr.cluster_info);
GRANT USAGE ON SCHEMA pgpitr TO :"backup_role", :"monitor_role";
GRANT SELECT, INSERT ON pgpitr.backup_history TO :"backup_role";
GRANT SELECT ON pgpitr.backup_history, pgpitr.cluster_info TO :"monitor_role";
SQL

hba_line="host replication ${PGPITR_BACKUP_ROLE} all scram-sha-256"
if ! grep -qxF "$hba_line" "$PGDATA/pg_hba.conf"; then
	printf '# Added by pgpitr: WAL-G remote base backups\n%s\n' "$hba_line" >>"$PGDATA/pg_hba.conf"
	psql -v ON_ERROR_STOP=1 --no-psqlrc --username "${POSTGRES_USER:-postgres}" --dbname postgres \
		-c 'SELECT pg_reload_conf()' >/dev/null
fi
