#!/usr/bin/env bash
# The tracking server for a sweep on many nodes: run it on a head node every job can reach.
#
#   scripts/mlflow_server.sh BACKEND_STORE_URI ARTIFACTS_DIR [PORT]
#   scripts/mlflow_server.sh postgresql://mlflow:PASSWORD@dbhost:5432/mlflow /shared/mlartifacts 5000
#
# - BACKEND_STORE_URI: a database every node's jobs reach through this server (PostgreSQL; never
#   SQLite or a file store on a cluster). Its schema is created here before the server's workers
#   start (several workers racing on an empty database fail); an out-of-date schema is refused
#   with MLflow's own instruction (`mlflow db upgrade URI`).
# - ARTIFACTS_DIR: where the server keeps artifacts (best.pt, logs, eval/); jobs upload and
#   download them through the server (served artifacts), so it needs no shared filesystem.
# Environment: MLFLOW_HOST (default 0.0.0.0: every interface, so that compute nodes reach it),
# MLFLOW_WORKERS (default 4), MLFLOW_ALLOWED_HOSTS (Host headers accepted; default this host's
# names and addresses, localhost and private networks), MLFLOW (the mlflow executable).
# Then, on the login node: python -m ablation.run ... hydra/launcher=slurm tracking.uri=http://HOST:PORT
set -euo pipefail
if [ $# -lt 2 ]; then
  sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
fi
BACKEND=$1
ARTIFACTS=$(mkdir -p "$2" && cd "$2" && pwd)
PORT=${3:-5000}
HERE=$(cd "$(dirname "$0")/.." && pwd)
MLFLOW=${MLFLOW:-$( [ -x "$HERE/.venv/bin/mlflow" ] && echo "$HERE/.venv/bin/mlflow" || command -v mlflow )}
PYTHON=$(dirname "$MLFLOW")/python
HOST=${MLFLOW_HOST:-0.0.0.0}
WORKERS=${MLFLOW_WORKERS:-4}
case $BACKEND in
  # SQLAlchemy >= 2.1 maps postgresql:// to psycopg 3; our driver is psycopg2 (psycopg2-binary),
  # as for the client (ablation/track/store.py resolve_uri).
  postgresql://*|postgres://*) BACKEND="postgresql+psycopg2://${BACKEND#*://}" ;;
  sqlite:*|file:*|/*|./*) echo "error: $BACKEND is a single-host store; a server for many nodes needs a database (postgresql://...)." >&2; exit 2 ;;
esac
# MLflow's default Host check admits localhost and private addresses; nodes that use this
# host's name need it listed too (each name with and without a port).
NAMES=$(printf '%s\n' localhost 127.0.0.1 "$(hostname)" "$(hostname -f 2>/dev/null || true)" $(hostname -I 2>/dev/null || true) \
  | awk 'NF && !/:/ && !seen[$0]++ {printf "%s%s,%s:*", sep, $0, $0; sep=","}')
ALLOWED=${MLFLOW_ALLOWED_HOSTS:-"$NAMES,10.*,192.168.*,172.1[6-9].*,172.2[0-9].*,172.3[01].*"}

# The server's GenAI job runner (huey workers, judges) is not used by sweeps: off unless asked.
export MLFLOW_SERVER_ENABLE_JOB_EXECUTION=${MLFLOW_SERVER_ENABLE_JOB_EXECUTION:-false}

"$PYTHON" - "$BACKEND" "$ARTIFACTS" <<'PY'
import sys
from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

try:
    SqlAlchemyStore(sys.argv[1], sys.argv[2])  # creates the schema on an empty database
except Exception as err:  # noqa: BLE001 - one sentence, not a traceback
    sys.exit(f"error: backend store not usable: {str(err).splitlines()[0]}")
PY

url="http://$(hostname -f 2>/dev/null || hostname):$PORT"
echo "[mlflow-server] backend ${BACKEND%%:*}://..., artifacts $ARTIFACTS; jobs use tracking.uri=$url"
exec "$MLFLOW" server --backend-store-uri "$BACKEND" --serve-artifacts --artifacts-destination "$ARTIFACTS" \
  --host "$HOST" --port "$PORT" --workers "$WORKERS" --allowed-hosts "$ALLOWED"
