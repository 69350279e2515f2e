#!/usr/bin/env bash
# A single-node Slurm on this machine, for the cluster demo and its test (needs root).
#   scripts/cluster/slurm.sh up     install slurm-wlm + munge if missing, write slurm.conf, start
#                                   munged, slurmctld, slurmd; wait until `sinfo` shows the node idle
#   scripts/cluster/slurm.sh down   stop only the daemons `up` started (pids kept in $ABLATION_CLUSTER_STATE)
# A Slurm that already answers `sinfo` is used as it is and never stopped.
# Job records: accounting is off (no slurmdbd); every finished job is one line in
# $JOBCOMP (jobcomp/filetxt: JobId, ArrayJobId, ArrayTaskId, JobState, ExitCode, ...).
set -euo pipefail
STATE=${ABLATION_CLUSTER_STATE:-/tmp/ablation-cluster}
JOBCOMP=${ABLATION_SLURM_JOBCOMP:-/var/log/slurm/jobcomp.log}
CONF=/etc/slurm/slurm.conf
mkdir -p "$STATE"

log() { echo "[slurm] $*"; }

install_missing() {
  local missing=()
  command -v slurmctld >/dev/null || missing+=(slurm-wlm)
  command -v munged >/dev/null || missing+=(munge)
  if ((${#missing[@]})); then
    log "installing ${missing[*]} (apt-get)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >"$STATE/apt-slurm.log" 2>&1 \
      || { DEBIAN_FRONTEND=noninteractive apt-get update -q >>"$STATE/apt-slurm.log" 2>&1 &&
           DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >>"$STATE/apt-slurm.log" 2>&1; } \
      || { echo "error: could not install ${missing[*]} (see $STATE/apt-slurm.log); run as root on Debian/Ubuntu." >&2; exit 1; }
  fi
}

write_conf() {
  local host cpus mem
  host=$(hostname)
  cpus=$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc)  # nproc obeys OMP_NUM_THREADS, which upstream sets to 1 here
  mem=$(( $(awk '/MemTotal/ {print int($2 / 1024)}' /proc/meminfo) * 9 / 10 ))
  mkdir -p /var/spool/slurmctld /var/spool/slurmd /var/log/slurm "$(dirname "$JOBCOMP")"
  cat >"$CONF" <<CONF
# written by ablation scripts/cluster/slurm.sh: a single-node cluster on $host
ClusterName=ablation
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
ReturnToService=2
MpiDefault=none
JobRequeue=1
MinJobAge=3600
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/filetxt
JobCompLoc=$JOBCOMP
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
}

started() {  # NAME PIDFILE: remember the daemon this script started (its pid), for `down`
  for _ in $(seq 20); do [ -s "$2" ] && break; sleep 0.5; done
  echo "$1 $(cat "$2")" >>"$STATE/started"
  log "started $1 (pid $(cat "$2"))"
}

answers() { timeout 10 sinfo -h -o '%T' 2>/dev/null | grep -Eq 'idle|mixed|alloc'; }

up() {
  if command -v sinfo >/dev/null && answers; then
    log "a Slurm already answers sinfo; using it as it is"
    return
  fi
  install_missing
  [ -f "$CONF" ] && grep -q "written by ablation" "$CONF" || [ ! -f "$CONF" ] || {
    echo "error: $CONF exists and was not written by this script, but Slurm does not answer; start it yourself." >&2; exit 1; }
  write_conf
  if ! pgrep -x munged >/dev/null; then
    [ -s /etc/munge/munge.key ] || { mungekey --create 2>/dev/null || create-munge-key -f; }
    chown munge:munge /etc/munge/munge.key && chmod 400 /etc/munge/munge.key
    mkdir -p /run/munge && chown munge:munge /run/munge
    runuser -u munge -- munged && started munged /run/munge/munged.pid
  fi
  pgrep -x slurmctld >/dev/null || { slurmctld && started slurmctld /run/slurmctld.pid; }
  pgrep -x slurmd >/dev/null || { slurmd && started slurmd /run/slurmd.pid; }
  for _ in $(seq 60); do
    if answers; then
      scontrol update NodeName="$(hostname)" State=RESUME >/dev/null 2>&1 || true
      log "ready: $(sinfo -h -o '%P %D %T %c CPUs')"
      return
    fi
    sleep 1
  done
  echo "error: Slurm did not answer sinfo within 60 s (see /var/log/slurm/slurmctld.log)." >&2
  exit 1
}

down() {
  [ -f "$STATE/started" ] || { log "nothing to stop (this script started nothing)"; return; }
  local name pid
  tac "$STATE/started" | while read -r name pid; do
    if kill "$pid" 2>/dev/null; then
      for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
      log "stopped $name (pid $pid)"
    fi
  done
  rm -f "$STATE/started"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
