#!/usr/bin/env bash
# A PostgreSQL database for the MLflow server, on this machine (needs root; Debian/Ubuntu).
#   scripts/cluster/postgres.sh up     install postgresql if missing, start its cluster, create
#                                      role and database ($PGUSER_MLFLOW / $PGDB_MLFLOW) if missing;
#                                      prints the backend store URI; PG_FRESH=1 empties the database first
#   scripts/cluster/postgres.sh down   stop the cluster if `up` started it
set -euo pipefail
STATE=${ABLATION_CLUSTER_STATE:-/tmp/ablation-cluster}
ROLE=${PGUSER_MLFLOW:-mlflow}
PASSWORD=${PGPASSWORD_MLFLOW:-mlflow}
DB=${PGDB_MLFLOW:-mlflow}
mkdir -p "$STATE"

log() { echo "[postgres] $*" >&2; }

cluster() {  # "VERSION NAME PORT STATUS" of the first cluster
  pg_lsclusters -h 2>/dev/null | awk 'NR == 1 {print $1, $2, $3, $4}'
}

up() {
  if ! command -v pg_lsclusters >/dev/null || [ -z "$(cluster)" ]; then
    log "installing postgresql (apt-get)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >"$STATE/apt-postgres.log" 2>&1 \
      || { DEBIAN_FRONTEND=noninteractive apt-get update -q >>"$STATE/apt-postgres.log" 2>&1 &&
           DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >>"$STATE/apt-postgres.log" 2>&1; } \
      || { echo "error: could not install postgresql (see $STATE/apt-postgres.log); run as root on Debian/Ubuntu." >&2; exit 1; }
  fi
  read -r version name port status <<<"$(cluster)"
  if [ "$status" != online ]; then
    pg_ctlcluster "$version" "$name" start
    echo "$version $name" >"$STATE/postgres-started"
    log "started PostgreSQL $version/$name on port $port"
  else
    log "PostgreSQL $version/$name already runs on port $port; using it"
  fi
  runuser -u postgres -- psql -p "$port" -tAc "SELECT 1 FROM pg_roles WHERE rolname = '$ROLE'" | grep -q 1 \
    || runuser -u postgres -- psql -p "$port" -qc "CREATE ROLE $ROLE LOGIN PASSWORD '$PASSWORD'"
  if [ "${PG_FRESH:-0}" = 1 ]; then  # a database of our own, emptied (the demo and its test)
    runuser -u postgres -- psql -p "$port" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)"
  fi
  runuser -u postgres -- psql -p "$port" -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1 \
    || runuser -u postgres -- psql -p "$port" -qc "CREATE DATABASE $DB OWNER $ROLE"
  echo "postgresql://$ROLE:$PASSWORD@127.0.0.1:$port/$DB"
}

down() {
  if [ -f "$STATE/postgres-started" ]; then
    read -r version name <"$STATE/postgres-started"
    pg_ctlcluster "$version" "$name" stop && log "stopped PostgreSQL $version/$name"
    rm -f "$STATE/postgres-started"
  else
    log "nothing to stop (this script started nothing)"
  fi
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
