# Sourced by the Slurm tests: starts a one-node Slurm cluster of Debian's slurm-wlm on this machine
# (munged, slurmctld, slurmd; its own key, config, state, spool and ports in a short folder under
# /tmp, since Unix socket paths must stay under 108 bytes) and stops it when the test exits, its
# logs kept in $1. Skips the test (exit 0, saying why) when slurm-wlm or munge is not
# installed, or when not root (slurmd must start jobs as their users).
#
#   source "$TEST_SRCDIR/malaria/experiments/sweep/slurm_test_cluster.sh" "$work/slurm"
#   sbatch ...; squeue ...            # SLURM_CONF points at the cluster's config
#   wait_for_queue_empty 300          # every job of the cluster ended

logs_dir=$1
for tool in munged slurmctld slurmd sbatch squeue scancel srun sinfo; do
  if ! command -v "$tool" >/dev/null && [[ ! -x "/usr/sbin/$tool" ]]; then
    echo "SKIPPED: $tool is not installed (tools/setup.sh installs slurm-wlm and munge)"
    exit 0
  fi
done
if [[ $(id -u) -ne 0 ]]; then
  echo "SKIPPED: a one-node Slurm cluster needs root (slurmd starts jobs as their users)"
  exit 0
fi
export PATH="$PATH:/usr/sbin"
cluster=$(mktemp -d /tmp/malaria-slurm.XXXXXX)
munge_dir="$cluster/munge"
mkdir -p "$cluster"/{state,spool,log} "$munge_dir" "$logs_dir"
chmod 755 "$cluster" "$munge_dir"
dd if=/dev/urandom of="$munge_dir/munge.key" bs=1024 count=1 status=none
chmod 400 "$munge_dir/munge.key"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
host=$(hostname -s)
cpus=$(nproc)
cat >"$cluster/slurm.conf" <<CONF
ClusterName=malaria-test
SlurmctldHost=$host
SlurmctldPort=$(free_port)
SlurmdPort=$(free_port)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$munge_dir/sock
CredType=cred/munge
StateSaveLocation=$cluster/state
SlurmdSpoolDir=$cluster/spool
SlurmctldPidFile=$cluster/slurmctld.pid
SlurmdPidFile=$cluster/slurmd.pid
SlurmctldLogFile=$cluster/log/slurmctld.log
SlurmdLogFile=$cluster/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
ReturnToService=2
KillWait=30
NodeName=$host CPUs=$cpus State=UNKNOWN
PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$cluster/slurm.conf"

stop_cluster() {
  local f
  # No job outlives the test: cancel them, and give them a moment to stop.
  if [[ -n "$(squeue -h -o %i 2>/dev/null)" ]]; then
    scancel --full $(squeue -h -o %i) 2>/dev/null || true
    sleep 2
  fi
  for f in slurmd slurmctld; do
    [[ -f "$cluster/$f.pid" ]] && kill "$(cat "$cluster/$f.pid")" 2>/dev/null || true
  done
  [[ -f "$munge_dir/munged.pid" ]] && kill "$(cat "$munge_dir/munged.pid")" 2>/dev/null || true
  sleep 0.5
  cp -r "$cluster/log/." "$logs_dir/" 2>/dev/null || true
  rm -rf "$cluster"
}
trap stop_cluster EXIT

munged -f --socket="$munge_dir/sock" --key-file="$munge_dir/munge.key" \
  --log-file="$cluster/log/munged.log" --pid-file="$munge_dir/munged.pid" \
  --seed-file="$munge_dir/seed"
slurmctld -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF"
for _ in $(seq 1 100); do
  sinfo -h -o %t 2>/dev/null | grep -q idle && break
  sleep 0.2
done
sinfo -h -o %t | grep -q idle || {
  cat "$cluster"/log/*.log
  echo "FAIL: the one-node Slurm cluster did not come up" >&2
  exit 1
}
echo "Slurm cluster up: $(sinfo -h -o '%P %D %t %N')"

# wait_for_queue_empty SECONDS: until no job of the cluster is pending or running.
wait_for_queue_empty() {
  local deadline=$((SECONDS + $1))
  while [[ -n "$(squeue -h -o %i)" ]]; do
    if ((SECONDS >= deadline)); then
      squeue -l
      tail -n 30 "$cluster"/log/slurmctld.log "$cluster"/log/slurmd.log
      echo "FAIL: Slurm jobs still queued after $1 s" >&2
      exit 1
    fi
    sleep 0.5
  done
}
