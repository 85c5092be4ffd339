#!/bin/bash
# make test-slurm: deploy/slurm/mpo.sbatch on a real Slurm cluster of three nodes, made here.
#
#   1. Debian's slurmctld, slurmd, slurm-client and munge, installed when missing.
#   2. A network of the test's own: a hub namespace holding a bridge and the controller's address
#      (10.79.0.1), and one namespace per node, n1..n3 (10.79.0.11-13), joined to the bridge by
#      veth pairs. The host's own network is not touched (no address, no route, no iptables rule:
#      the bridge lives in the hub namespace, whose FORWARD chain is its own and empty).
#   3. munged with a key and socket of its own, slurmctld in the hub namespace, and one slurmd per
#      node namespace (slurmd -N nK, NodeAddr its namespace's address).
#   4. Job 1: sbatch -N 3 deploy/slurm/mpo.sbatch on Pendulum-v1 (hidden 32, batch 32, 2 actors,
#      an evaluator); waits until `mpo stat --json` against the replay endpoint shows both actors
#      connected, from n2 and n3, the learner past $MPO_SLURM_UPDATES updates and an evaluation.
#      Then the time limit's path: `scancel --batch --signal=TERM`, what `#SBATCH
#      --signal=B:TERM@120` delivers; the job must stop its roles and end COMPLETED by itself,
#      with a checkpoint and a replay snapshot, and leave no process behind in any namespace.
#   5. Job 2: the same command with --resume: the learner must go on from the checkpoint's update
#      count, the replay server from its snapshot, the actors take their ids over. Then a plain
#      scancel: the job must end, the learner checkpoint again (more updates), and no process may
#      be left.
#   6. Tears everything down (jobs, daemons, anything left in its namespaces, the namespaces, the
#      temporary directory), also on failure or Ctrl-C, and checks that nothing is left.
# Exit status 0 when all of it passed. Needs root (apt-get, namespaces, daemons as root and munge).
# MPO_SLURM_OPTIONAL=1 (make test) turns "cannot run here" into a skip (exit 77) with the reason.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
MPO=${MPO_BIN:-build/mpo}
MIN_UPDATES=${MPO_SLURM_UPDATES:-100}
TIMEOUT=${MPO_SLURM_TIMEOUT:-90} # seconds for each job to reach its goal
LOGDIR=$ROOT/build/test-slurm
T0=$(date +%s)

log() { printf '[test-slurm %3ds] %s\n' "$(($(date +%s) - T0))" "$*"; }
die() {
    log "FAIL: $*"
    exit 1
}
# The machine cannot host the cluster (no root, no packages, no namespaces, a daemon that will not
# start): not a fault of mpo. `make test-slurm` fails; `make test` (MPO_SLURM_OPTIONAL=1) skips.
cannot_run() {
    if [ "${MPO_SLURM_OPTIONAL:-0}" = 1 ]; then
        log "SKIP: $*"
        exit 77
    fi
    die "$*"
}

[ "$(id -u)" = 0 ] || cannot_run "needs root (installs packages, makes network namespaces, runs slurmd); try: sudo make test-slurm"
[ -x "$MPO" ] || die "no program at $MPO (make first, or set MPO_BIN)"
MPO=$(cd "$(dirname "$MPO")" && pwd)/$(basename "$MPO")
# a test started from inside a Slurm job must not hand that job's variables to its own cluster
for v in $(env | sed -n 's/^\(SLURM_[A-Za-z0-9_]*\)=.*/\1/p'); do unset "$v"; done
rm -rf "$LOGDIR"
mkdir -p "$LOGDIR"

# ---------------------------------------------------------------- 1. packages
missing=()
for p in slurmctld slurmd slurm-client munge; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
command -v ip >/dev/null 2>&1 || missing+=(iproute2)
if [ ${#missing[@]} -gt 0 ]; then
    command -v apt-get >/dev/null 2>&1 || cannot_run "missing ${missing[*]} and no apt-get to install them"
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # another apt-get at work (a test beside this one) holds the lock: wait for it a while
    apt=(apt-get -o DPkg::Lock::Timeout=120 -y -q)
    "${apt[@]}" install --no-install-recommends "${missing[@]}" >"$LOGDIR/apt.log" 2>&1 ||
        { "${apt[@]}" update >>"$LOGDIR/apt.log" 2>&1 &&
            "${apt[@]}" install --no-install-recommends "${missing[@]}" >>"$LOGDIR/apt.log" 2>&1; } ||
        cannot_run "apt-get install ${missing[*]} failed (see $LOGDIR/apt.log)"
fi

# ---------------------------------------------------------------- teardown, armed before anything starts
TMP=$(mktemp -d /tmp/mpo-slurm.XXXXXX)
chmod 755 "$TMP" # munged (user munge) must reach its key and socket below it
P=msl$$          # names unique to this run: two runs at once never meet
HUB=${P}h
NODES=(n1 n2 n3)
NAMESPACES=()
NS_IDS=" "  # their net:[inode] links, which find a process in one even once it is deleted
DAEMONS=() # pids: munged, slurmctld, one slurmd per node
export SLURM_CONF=$TMP/slurm.conf
inhub() { ip netns exec "$HUB" "$@"; }
add_ns() {
    ip netns add "$1" 2>"$TMP/netns.err" || cannot_run "ip netns add failed: $(cat "$TMP/netns.err")"
    NAMESPACES+=("$1")
    NS_IDS="$NS_IDS$(ip netns exec "$1" readlink /proc/self/ns/net) "
}
# the pids of every process in one of this run's namespaces
ns_pids() {
    local p l
    for p in /proc/[0-9]*; do
        l=$(readlink "$p/ns/net" 2>/dev/null) || continue
        case "$NS_IDS" in *" $l "*) echo "${p#/proc/}" ;; esac
    done
}

cleanup() {
    local rc=$? left="" ns pid pids
    trap - EXIT INT TERM
    set +e
    # the jobs', the roles' and the daemons' logs outlive the run
    cp -r "$TMP"/logs "$TMP"/*.log "$TMP"/*.out "$LOGDIR"/ 2>/dev/null
    if [ $rc != 0 ] && [ $rc != 77 ]; then
        for f in "$TMP"/job-*.out; do
            [ -f "$f" ] && { log "$(basename "$f"):"; tail -n 15 "$f" | sed 's/^/    /'; }
        done
    fi
    if [ -n "${CTLD_PID:-}" ] && kill -0 "$CTLD_PID" 2>/dev/null; then
        jobs=$(inhub squeue -h -o %i 2>/dev/null)
        if [ -n "$jobs" ]; then
            log "cancelling jobs $(echo $jobs)"
            inhub scancel $jobs 2>/dev/null
            for _ in $(seq 40); do [ -z "$(inhub squeue -h -o %i 2>/dev/null)" ] && break; sleep 0.5; done
        fi
    fi
    for pid in "${DAEMONS[@]}"; do kill "$pid" 2>/dev/null; done
    for _ in $(seq 50); do
        pids=""
        for pid in "${DAEMONS[@]}"; do kill -0 "$pid" 2>/dev/null && pids="$pids $pid"; done
        [ -z "$pids" ] && break
        sleep 0.2
    done
    for pid in $pids; do
        log "daemon $pid did not stop on SIGTERM: SIGKILL"
        kill -9 "$pid" 2>/dev/null
    done
    # anything still in our namespaces was started by this test (a slurmstepd finishing, a role):
    # kill it, and fail only if it outlives that
    for _ in $(seq 15); do
        pids=$(ns_pids)
        [ -z "$pids" ] && break
        log "still in this run's namespaces: $(ps -o pid=,comm= -p $(echo $pids) | paste -sd' ' -): SIGKILL"
        kill -9 $pids 2>/dev/null
        sleep 0.2
    done
    for ns in "${NAMESPACES[@]}"; do ip netns del "$ns" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$TMP"
    pids=$(ns_pids)
    [ -z "$pids" ] || left="$left processes:$(echo $pids)"
    for ns in "${NAMESPACES[@]}"; do ip netns list | grep -qw "$ns" && left="$left namespace-$ns"; done
    ip -o link show | grep -q "$P" && left="$left links-$P"
    [ -e "$TMP" ] && left="$left $TMP"
    for pid in "${DAEMONS[@]}"; do kill -0 "$pid" 2>/dev/null && left="$left daemon-$pid"; done
    if [ -n "$left" ]; then
        log "FAIL: left behind:$left"
        rc=1
    elif [ ${#NAMESPACES[@]} -gt 0 ]; then
        log "nothing left behind: no daemon, namespace, link or temporary directory of this run"
    fi
    if [ $rc = 0 ]; then log "PASS ($(($(date +%s) - T0)) s)"; elif [ $rc != 77 ]; then log "FAILED (exit $rc; logs in $LOGDIR)"; fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- 2. the network
add_ns "$HUB"
{
    ip -n "$HUB" link set lo up &&
        ip -n "$HUB" link add br0 type bridge &&
        ip -n "$HUB" addr add 10.79.0.1/24 dev br0 &&
        ip -n "$HUB" link set br0 up
} 2>"$TMP/netns.err" || cannot_run "cannot make a bridge in a namespace: $(cat "$TMP/netns.err")"
for i in 1 2 3; do
    ns=${P}n$i
    add_ns "$ns"
    {
        ip -n "$ns" link set lo up &&
            ip link add "${P}v$i" type veth peer name "${P}p$i" &&
            ip link set "${P}v$i" netns "$ns" &&
            ip -n "$ns" link set "${P}v$i" name eth0 &&
            ip -n "$ns" addr add "10.79.0.1$i/24" dev eth0 &&
            ip -n "$ns" link set eth0 up &&
            ip link set "${P}p$i" netns "$HUB" &&
            ip -n "$HUB" link set "${P}p$i" master br0 up
    } 2>"$TMP/netns.err" || cannot_run "cannot join namespace $ns to the bridge: $(cat "$TMP/netns.err")"
done
log "network: hub $HUB (10.79.0.1, the controller), nodes n1..n3 in ${P}n1..${P}n3 (10.79.0.11-13)"

# ---------------------------------------------------------------- 3. munge and Slurm
mkdir -p "$TMP/munge" "$TMP/ctld" "$TMP/logs" "$TMP/ckpt" "$TMP/run" "$TMP/replay"
for n in "${NODES[@]}"; do mkdir -p "$TMP/spool/$n"; done
chown munge:munge "$TMP/munge"
chmod 711 "$TMP/munge" # munged wants its socket's directory traversable by all, and nothing more
mungekey -c -k "$TMP/munge/munge.key" >/dev/null 2>&1 || cannot_run "mungekey -c failed"
chown munge:munge "$TMP/munge/munge.key"
# setpriv execs: the pid is munged's own, to stop it by at the end
setpriv --reuid=munge --regid=munge --init-groups munged -F --key-file="$TMP/munge/munge.key" \
    --socket="$TMP/munge/socket" --pid-file="$TMP/munge/munged.pid" --seed-file="$TMP/munge/seed" \
    --log-file="$TMP/munged.log" >"$TMP/munged.out" 2>&1 &
DAEMONS+=($!)
for _ in $(seq 50); do [ -S "$TMP/munge/socket" ] && break; sleep 0.1; done
[ -S "$TMP/munge/socket" ] || cannot_run "munged did not start: $(tail -n 2 "$TMP/munged.out")"

# one partition of three 2-CPU nodes; process tracking by process group and no cgroup or task
# plugin, so it runs in a container without a cgroup hierarchy of its own; no accounting database
CTL_HOST=$(hostname -s 2>/dev/null || hostname) # slurmctld serves only where the host name matches
cat >"$SLURM_CONF" <<EOF
ClusterName=mpotest
SlurmctldHost=$CTL_HOST(10.79.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$TMP/munge/socket
CredType=cred/munge
StateSaveLocation=$TMP/ctld
SlurmdSpoolDir=$TMP/spool/%n
SlurmctldPidFile=$TMP/slurmctld.pid
SlurmdPidFile=$TMP/slurmd.%n.pid
SlurmctldLogFile=$TMP/slurmctld.log
SlurmdLogFile=$TMP/slurmd.%n.log
ProctrackType=proctrack/pgid
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SlurmdParameters=config_overrides
ReturnToService=2
MpiDefault=none
MailProg=/bin/true
KillWait=10
NodeName=n1 NodeAddr=10.79.0.11 CPUs=2 State=UNKNOWN
NodeName=n2 NodeAddr=10.79.0.12 CPUs=2 State=UNKNOWN
NodeName=n3 NodeAddr=10.79.0.13 CPUs=2 State=UNKNOWN
PartitionName=test Nodes=n[1-3] Default=YES MaxTime=INFINITE State=UP
EOF
# Slurm 22.05's slurmd sets up its cgroup plugin even with proctrack/pgid; v1 takes the hybrid
# layout Debian containers have
printf 'CgroupPlugin=cgroup/v1\nCgroupAutomount=no\n' >"$TMP/cgroup.conf"

# ip netns exec execs the daemon: $! is the daemon's own pid, to stop it by at the end
ip netns exec "$HUB" slurmctld -D -f "$SLURM_CONF" >"$TMP/slurmctld.out" 2>&1 &
CTLD_PID=$!
DAEMONS+=("$CTLD_PID")
for i in 1 2 3; do
    ip netns exec "${P}n$i" slurmd -D -N "n$i" -f "$SLURM_CONF" >"$TMP/slurmd-n$i.out" 2>&1 &
    DAEMONS+=($!)
done
idle=""
for _ in $(seq 60); do
    idle=$(inhub sinfo -h -o '%t %D' 2>/dev/null || true)
    [ "$idle" = "idle 3" ] && break
    for pid in "${DAEMONS[@]}"; do
        kill -0 "$pid" 2>/dev/null || cannot_run "a Slurm daemon exited: $(tail -q -n 2 "$TMP"/slurm*.out | paste -sd' ' -)"
    done
    sleep 0.5
done
[ "$idle" = "idle 3" ] || cannot_run "the nodes did not come up idle in 30 s (sinfo: ${idle:-no answer}; $(tail -q -n 2 "$TMP"/slurm*.out | paste -sd' ' -))"
log "Slurm $(slurmctld -V | cut -d' ' -f2): slurmctld and 3 slurmd up, partition test: 3 nodes idle"

# ---------------------------------------------------------------- 4. job 1, then the time limit's signal
# ack_timeout 4: job 2's replay server restores job 1's actors from its snapshot, and refuses a new
# process for one of their ids (actor-RANK-NODE) until the old one has been silent 2 x ack_timeout
# (60 s at the default); 8 s here keeps the test short and still takes that path
cat >"$TMP/mpo.ini" <<'EOF'
[mpo]
env = Pendulum-v1
ack_timeout = 4
hidden = 32
batch_size = 32
actors = 2
learning_starts = 200
buffer_size = 20000
eval_every = 100
eval_episodes = 2
checkpoint_every = 1000000
log_interval = 1
EOF
REPLAY=tcp://10.79.0.11:5555
# what the job reads, beside the config file: the program, where checkpoints, the run, the replay
# server's snapshots and the logs go
export MPO_BIN=$MPO MPO_CHECKPOINT_DIR=$TMP/ckpt MPO_RUN_DIR=$TMP/run MPO_REPLAY_DIR=$TMP/replay \
    MPO_SLURM_LOG_DIR=$TMP/logs

json_num() { sed -n "s/.*\"$1\":\([-0-9.eE+]*\).*/\1/p" | head -n 1; }
state_num() { sed -n "s/^$1 //p" "$TMP/ckpt/learner.state" 2>/dev/null || true; }
job_state() { inhub scontrol show job "$1" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p'; }

# wait_goal JOB MIN_UPDATES: until mpo stat shows both actors connected, the learner past
# MIN_UPDATES and an evaluation, and the learner has written a row of progress.csv; sets STAT
wait_goal() {
    local deadline=$(($(date +%s) + TIMEOUT)) last=0 actors updates evals rows
    while [ "$(date +%s)" -lt $deadline ]; do
        STAT=$(inhub "$MPO" stat "$REPLAY" --json --timeout 2 2>/dev/null || true)
        actors=$(printf '%s' "$STAT" | json_num actors_connected)
        updates=$(printf '%s' "$STAT" | json_num learner_updates)
        evals=$(printf '%s' "$STAT" | json_num evals_total)
        actors=${actors%.*} updates=${updates%.*} evals=${evals%.*}
        rows=0
        [ ! -f "$TMP/run/progress.csv" ] || rows=$(wc -l <"$TMP/run/progress.csv")
        if [ "${actors:-0}" -ge 2 ] && [ "${updates:-0}" -gt "$2" ] && [ "${evals:-0}" -ge 1 ] && [ "$rows" -ge 2 ]; then
            log "job $1: $actors actors connected, $updates learner updates, $evals evaluations" \
                "(return $(printf '%s' "$STAT" | json_num eval_return))"
            return 0
        fi
        case "$(job_state "$1")" in
        PENDING | RUNNING | "") ;;
        *) die "job $1 ended early ($(job_state "$1")): $(tail -n 5 "$TMP/job-$1.out" | paste -sd' ' -)" ;;
        esac
        if [ $(($(date +%s) - last)) -ge 10 ]; then
            last=$(date +%s)
            log "waiting: job $1 $(job_state "$1"), actors ${actors:-?}/2, learner updates ${updates:-?}/>$2," \
                "evaluations ${evals:-?}/1, progress.csv rows $((rows > 0 ? rows - 1 : 0))/1"
        fi
        sleep 1
    done
    die "job $1: not reached in $TIMEOUT s: 2 actors, > $2 updates, an evaluation, a progress.csv row (last: ${STAT:-no answer})"
}
# wait_gone JOB SECONDS: until squeue no longer lists it
wait_gone() {
    for _ in $(seq $(($2 * 2))); do
        [ -z "$(inhub squeue -h -j "$1" 2>/dev/null)" ] && return 0
        sleep 0.5
    done
    die "job $1 still listed $2 s after it was told to stop: $(inhub squeue -h -j "$1")"
}
# nothing but slurmd may be left in a node's namespace, nothing but slurmctld (and its helper
# slurmscriptd) in the hub's
# (slurmstepd goes a moment after the job; give it 15 s)
check_clean() {
    local extra="" ns pid comm
    for _ in $(seq 30); do
        extra=""
        for ns in "${NAMESPACES[@]}"; do
            for pid in $(ip netns pids "$ns"); do
                comm=$(cat "/proc/$pid/comm" 2>/dev/null) || continue
                case "$comm" in slurmd | slurmctld | slurmscriptd) ;; *) extra="$extra $ns:$pid:$comm" ;; esac
            done
        done
        [ -z "$extra" ] && return 0
        sleep 0.5
    done
    die "$1: processes left:$extra"
}

J1=$(inhub sbatch --parsable -N 3 -D "$TMP" -o "$TMP/job-%j.out" deploy/slurm/mpo.sbatch "$TMP/mpo.ini") ||
    die "sbatch failed"
log "job $J1 submitted: sbatch -N 3 deploy/slurm/mpo.sbatch mpo.ini"
wait_goal "$J1" "$MIN_UPDATES"
ids=$(printf '%s' "$STAT" | grep -o '"id":"[^"]*"' | cut -d'"' -f4 | sort | paste -sd' ' -)
for want in actor-0-n2 actor-1-n3; do
    case " $ids " in *" $want "*) ;; *) die "actor ids $ids: want actor-0-n2 and actor-1-n3 (one actor on each node but the first)" ;; esac
done
log "actors by id: $ids"

inhub scancel --batch --signal=TERM "$J1"
log "job $J1: scancel --batch --signal=TERM (as #SBATCH --signal=B:TERM@120 at the time limit)"
wait_gone "$J1" 60
st=$(job_state "$J1")
[ "$st" = COMPLETED ] || die "job $J1 ended $st, not COMPLETED: $(tail -n 5 "$TMP/job-$J1.out" | paste -sd' ' -)"
grep -q "done (exit 0)" "$TMP/job-$J1.out" || die "job $J1's script did not finish its stop: $(tail -n 3 "$TMP/job-$J1.out" | paste -sd' ' -)"
U1=$(state_num updates)
[ -f "$TMP/ckpt/learner.ckpt" ] && [ "${U1:-0}" -gt "$MIN_UPDATES" ] || die "no checkpoint after job $J1 (learner.state updates: ${U1:-none})"
[ "$(grep -c . "$TMP/run/eval.csv" 2>/dev/null)" -ge 2 ] || die "no row in the run directory's eval.csv"
[ -s "$TMP/replay/replay.snap" ] || die "the replay server wrote no final snapshot in replay_dir"
check_clean "after job $J1"
log "job $J1 COMPLETED: checkpoint at $U1 updates, run_dir has progress.csv and eval.csv, a replay" \
    "snapshot of $(stat -c %s "$TMP/replay/replay.snap") bytes, no process left"

# ---------------------------------------------------------------- 5. job 2: resume, then scancel
J2=$(inhub sbatch --parsable -N 3 -D "$TMP" -o "$TMP/job-%j.out" deploy/slurm/mpo.sbatch --resume "$TMP/mpo.ini") ||
    die "sbatch failed"
log "job $J2 submitted: sbatch -N 3 deploy/slurm/mpo.sbatch --resume mpo.ini"
wait_goal "$J2" "$U1"
grep -q "resumed from $TMP/ckpt: $U1 updates" "$TMP/logs/mpo-learner-$J2-0.log" ||
    die "job $J2's learner did not resume from $U1 updates: $(grep -m1 -i 'resum' "$TMP/logs/mpo-learner-$J2-0.log")"
restored=$(printf '%s' "$STAT" | json_num restored_transitions)
restored=${restored%.*}
[ "${restored:-0}" -gt 0 ] || die "job $J2's replay server restored no transitions from replay_dir"
# the restored actors count as connected for a few seconds: the new ones are there once they have
# taken their ids over and stored transitions of their own
for _ in $(seq 60); do
    n=$(grep -c "is a new process .* taking over" "$TMP/logs/mpo-replay-$J2-0.log" || true)
    inserts=$(inhub "$MPO" stat "$REPLAY" --json --timeout 2 2>/dev/null | json_num inserts_total || true)
    [ "$n" = 2 ] && [ "${inserts%.*}" -gt "$restored" ] && break
    sleep 0.5
done
[ "$n" = 2 ] || die "job $J2's actors did not take their ids over from job $J1's in 30 s ($n of 2 did)"
[ "${inserts%.*}" -gt "$restored" ] || die "job $J2's actors stored nothing (inserts_total ${inserts:-?}, restored $restored)"
log "job $J2: both actors took their ids over, inserts_total $restored -> ${inserts%.*}"
inhub scancel "$J2"
log "job $J2: scancel"
wait_gone "$J2" 60
st=$(job_state "$J2")
[ "$st" = CANCELLED ] || die "job $J2 ended $st, not CANCELLED"
U2=$(state_num updates)
[ "${U2:-0}" -gt "$U1" ] || die "the learner did not checkpoint on scancel (learner.state updates ${U2:-none}, was $U1)"
check_clean "after job $J2"
log "job $J2 CANCELLED: resumed from $U1 updates and $restored replay transitions, checkpointed" \
    "again at $U2, no process left"
log "all checks passed"
