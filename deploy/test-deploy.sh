#!/bin/bash
# make test-deploy: the Docker images and the compose cluster end to end.
#
#   1. Docker: installs docker.io and docker-compose when missing, starts dockerd when none runs
#      (and stops it again at the end), makes a debian:bookworm base image with debootstrap when
#      there is none (no image registry needed).
#   2. Builds mpo:latest (deploy/Dockerfile) and mpo-prometheus:latest (deploy/prometheus.Dockerfile);
#      Docker's layer cache makes a second run with unchanged sources take seconds.
#   3. Brings deploy/docker-compose.yml up under a project name unique to this run, with
#      $MPO_DEPLOY_ACTORS (3) actors on Pendulum-v1, and waits until `mpo stat` (inside the replay
#      container) shows every actor connected, the learner past $MPO_DEPLOY_UPDATES (100) updates and
#      the evaluator's first evaluation (every $MPO_EVAL_EVERY, 50, updates).
#   4. Checks the healthchecks (replay, learner, prometheus healthy), that Prometheus scrapes every
#      target successfully (/api/v1/targets: all "up"), and promtool on each /metrics.
#   5. Takes everything down (down -v --remove-orphans), also on failure or Ctrl-C, and checks that
#      no container, network or volume of the run is left.
# Exit status 0 when all of it passed. Needs root (apt-get, dockerd). Not part of `make test`.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
ACTORS=${MPO_DEPLOY_ACTORS:-3}
export MPO_EVAL_EVERY=${MPO_EVAL_EVERY:-50} # the evaluator reports within the test's few hundred updates
MIN_UPDATES=${MPO_DEPLOY_UPDATES:-100}
TIMEOUT=${MPO_DEPLOY_TIMEOUT:-600} # seconds for the cluster to reach its goal
MPO_IMAGE=${MPO_IMAGE:-mpo:latest}
MPO_PROMETHEUS_IMAGE=${MPO_PROMETHEUS_IMAGE:-mpo-prometheus:latest}
export MPO_IMAGE MPO_PROMETHEUS_IMAGE
PROJECT="mpotest$(date +%s)p$$"
COMPOSE_FILE=deploy/docker-compose.yml
LOGDIR=$ROOT/build/test-deploy
mkdir -p "$LOGDIR"
T0=$(date +%s)

log() { printf '[test-deploy %4ds] %s\n' "$(($(date +%s) - T0))" "$*"; }
die() {
    log "FAIL: $*"
    exit 1
}
# No Docker engine can run here at all (no root, no package, dockerd refuses to start): a fault of
# the machine, not of mpo. `make test-deploy` fails; `make test` (MPO_DEPLOY_OPTIONAL=1) skips.
no_docker() {
    if [ "${MPO_DEPLOY_OPTIONAL:-0}" = 1 ]; then
        log "SKIP: $*"
        exit 77
    fi
    die "$*"
}

[ "$(id -u)" = 0 ] || no_docker "needs root (installs packages, starts dockerd); try: sudo make test-deploy"

# ---------------------------------------------------------------- 1. Docker
apt_install() {
    log "installing $*"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q --no-install-recommends "$@" >"$LOGDIR/apt.log" 2>&1 ||
        { apt-get update -q >>"$LOGDIR/apt.log" 2>&1 &&
            apt-get install -y -q --no-install-recommends "$@" >>"$LOGDIR/apt.log" 2>&1; } ||
        no_docker "apt-get install $* failed (see $LOGDIR/apt.log)"
}
missing=()
[ -x /usr/bin/docker ] && [ -x /usr/sbin/dockerd ] || missing+=(docker.io)
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
[ ${#missing[@]} = 0 ] || apt_install "${missing[@]}"
# the client that came with the engine (a newer client elsewhere in PATH may not speak its API)
DOCKER=/usr/bin/docker
dc() { docker-compose -p "$PROJECT" -f "$COMPOSE_FILE" "$@"; }

DOCKERD_PID=""
DOCKER0_BEFORE=0
ip link show docker0 >/dev/null 2>&1 && DOCKER0_BEFORE=1
if ! $DOCKER info >/dev/null 2>&1; then
    log "starting dockerd (log: $LOGDIR/dockerd.log)"
    dockerd >"$LOGDIR/dockerd.log" 2>&1 &
    DOCKERD_PID=$!
    for _ in $(seq 60); do
        $DOCKER info >/dev/null 2>&1 && break
        kill -0 "$DOCKERD_PID" 2>/dev/null || no_docker "dockerd exited: $(tail -3 "$LOGDIR/dockerd.log")"
        sleep 1
    done
    $DOCKER info >/dev/null 2>&1 || no_docker "dockerd did not answer within 60 s (see $LOGDIR/dockerd.log)"
else
    log "Docker engine already running: $($DOCKER version --format '{{.Server.Version}}')"
fi

UP=0
cleanup() {
    rc=$?
    trap - EXIT INT TERM
    if [ "$UP" = 1 ]; then
        if [ $rc != 0 ]; then
            log "cluster logs (last 40 lines per service) in $LOGDIR/compose.log"
            dc logs --no-color --tail 40 >"$LOGDIR/compose.log" 2>&1 || true
            tail -n 60 "$LOGDIR/compose.log" | sed 's/^/    /'
        fi
        log "taking the cluster down"
        dc down -v --remove-orphans --timeout 20 >"$LOGDIR/down.log" 2>&1 || log "down failed: $(tail -3 "$LOGDIR/down.log")"
        left=$($DOCKER ps -aq --filter "label=com.docker.compose.project=$PROJECT")
        left+=$($DOCKER network ls -q --filter "label=com.docker.compose.project=$PROJECT")
        left+=$($DOCKER volume ls -q --filter "label=com.docker.compose.project=$PROJECT")
        if [ -n "$left" ]; then
            log "FAIL: left behind by project $PROJECT: $left"
            rc=1
        else
            log "nothing left behind: no container, network or volume of $PROJECT"
        fi
    fi
    if [ -n "$DOCKERD_PID" ]; then
        log "stopping the dockerd this run started"
        kill "$DOCKERD_PID" 2>/dev/null || true
        for _ in $(seq 30); do kill -0 "$DOCKERD_PID" 2>/dev/null || break; sleep 1; done
        kill -0 "$DOCKERD_PID" 2>/dev/null && kill -9 "$DOCKERD_PID" 2>/dev/null
        wait "$DOCKERD_PID" 2>/dev/null || true
        # the engine's default bridge outlives it; leave the machine's interfaces as they were
        [ $DOCKER0_BEFORE = 0 ] && ip link delete docker0 2>/dev/null || true
    fi
    if [ $rc = 0 ]; then log "PASS ($(($(date +%s) - T0)) s)"; else log "FAILED (exit $rc; logs in $LOGDIR)"; fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# the base image: from a registry where there is one, else debootstrap
if ! $DOCKER image inspect debian:bookworm >/dev/null 2>&1; then
    command -v debootstrap >/dev/null 2>&1 || apt_install debootstrap
    rootfs=$(mktemp -d /var/tmp/mpo-rootfs.XXXXXX)
    log "no debian:bookworm image: debootstrap --variant=minbase bookworm (about a minute)"
    debootstrap --variant=minbase bookworm "$rootfs" http://deb.debian.org/debian >"$LOGDIR/debootstrap.log" 2>&1 ||
        { rm -rf "$rootfs"; die "debootstrap failed (see $LOGDIR/debootstrap.log)"; }
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* # as Debian's own images
    tar -C "$rootfs" -c . | $DOCKER import - debian:bookworm >/dev/null
    rm -rf "$rootfs"
    log "imported debian:bookworm"
fi

# ---------------------------------------------------------------- 2. images
build() { # TAG DOCKERFILE CONTEXT
    local t=$(date +%s)
    log "building $1 ($2)"
    $DOCKER build --network host -t "$1" -f "$2" "$3" >"$LOGDIR/build-${1%%:*}.log" 2>&1 ||
        { tail -n 25 "$LOGDIR/build-${1%%:*}.log" | sed 's/^/    /'; die "docker build $1 failed (see $LOGDIR/build-${1%%:*}.log)"; }
    log "built $1 in $(($(date +%s) - t)) s: $($DOCKER image inspect -f '{{.Id}}' "$1" | cut -c1-19)"
}
build "$MPO_IMAGE" deploy/Dockerfile .
build "$MPO_PROMETHEUS_IMAGE" deploy/prometheus.Dockerfile deploy
$DOCKER run --rm --entrypoint promtool -v "$ROOT/deploy/prometheus.yml:/etc/prometheus/prometheus.yml:ro" \
    -v "$ROOT/deploy/alerts.yml:/etc/prometheus/alerts.yml:ro" "$MPO_PROMETHEUS_IMAGE" \
    check config /etc/prometheus/prometheus.yml >"$LOGDIR/promtool-config.log" 2>&1 ||
    die "promtool check config deploy/prometheus.yml: $(cat "$LOGDIR/promtool-config.log")"
log "promtool check config deploy/prometheus.yml: ok"

# ---------------------------------------------------------------- 3. the cluster
log "compose project $PROJECT: replay, learner, $ACTORS actors, prometheus"
UP=1
dc up -d --no-build --scale actor="$ACTORS" >"$LOGDIR/up.log" 2>&1 ||
    { cat "$LOGDIR/up.log"; die "docker-compose up failed"; }
# container ids by compose's labels (the docker client answers much faster than docker-compose)
cid() { $DOCKER ps -aq --filter "label=com.docker.compose.project=$PROJECT" ${1:+--filter "label=com.docker.compose.service=$1"}; }
replay=$(cid replay) learner=$(cid learner) prom=$(cid prometheus)
[ -n "$replay" ] && [ -n "$learner" ] && [ -n "$prom" ] || die "no replay, learner or prometheus container"
[ "$(cid actor | wc -l)" = "$ACTORS" ] || die "$(cid actor | wc -l) actor containers, not $ACTORS"

# the value of "key":NUMBER in compact JSON
json_num() { sed -n "s/.*\"$1\":\([-0-9.eE+]*\).*/\1/p" | head -n 1; }

deadline=$(($(date +%s) + TIMEOUT))
last_print=0
reached=0
while [ "$(date +%s)" -lt $deadline ]; do
    stat=$($DOCKER exec "$replay" mpo stat tcp://127.0.0.1:5555 --json --timeout 3 2>/dev/null || true)
    actors=$(printf '%s' "$stat" | json_num actors_connected)
    updates=$(printf '%s' "$stat" | json_num learner_updates)
    size=$(printf '%s' "$stat" | json_num size)
    evals=$(printf '%s' "$stat" | json_num evals_total)
    actors=${actors:-0} updates=${updates%.*} updates=${updates:-0} evals=${evals%.*} evals=${evals:-0}
    if [ "${actors%.*}" -ge "$ACTORS" ] && [ "$updates" -gt "$MIN_UPDATES" ] && [ "$evals" -ge 1 ]; then
        reached=1
        log "goal reached: $actors actors connected, $updates learner updates, $size transitions held," \
            "$evals evaluations (return $(printf '%s' "$stat" | json_num eval_return))"
        break
    fi
    if [ $(($(date +%s) - last_print)) -ge 10 ]; then
        last_print=$(date +%s)
        if [ -z "$stat" ]; then
            log "waiting: the replay server does not answer mpo stat yet"
        else
            log "waiting: actors $actors/$ACTORS, learner updates $updates/>$MIN_UPDATES, replay size ${size:-?}," \
                "evaluations $evals/1"
        fi
        # a service that keeps exiting will not get there
        for c in $(cid); do
            st=$($DOCKER inspect -f '{{.Name}} {{.State.Status}} restarts={{.RestartCount}}' "$c")
            case "$st" in *" running restarts=0") ;; *) log "  container $st" ;; esac
        done
    fi
    sleep 2
done
[ $reached = 1 ] || die "not reached in $TIMEOUT s: $ACTORS actors connected, > $MIN_UPDATES learner updates and an evaluation (last: ${stat:-no answer})"
printf '%s\n' "$stat" >"$LOGDIR/stat.json"
# the whole table into a file first: head closing the pipe early would kill mpo stat with SIGPIPE
$DOCKER exec "$replay" mpo stat tcp://127.0.0.1:5555 > "$LOGDIR/stat.txt" 2>&1 || true
head -n 80 "$LOGDIR/stat.txt" | sed 's/^/    /'

# ---------------------------------------------------------------- 4. health and Prometheus
# GET inside the prometheus container (bash's /dev/tcp: the images have no curl)
prom_get() { # HOST PORT PATH
    $DOCKER exec "$prom" bash -c "exec 3<>/dev/tcp/$1/$2 && printf 'GET $3 HTTP/1.0\r\nHost: $1\r\n\r\n' >&3 && cat <&3" |
        tr -d '\r' | sed '1,/^$/d'
}
health_ok=0
for _ in $(seq 40); do
    states=""
    health_ok=1
    for s in replay learner prometheus; do
        h=$($DOCKER inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}' "$(cid $s)")
        states+="$s=$h "
        [ "$h" = healthy ] || health_ok=0
    done
    [ $health_ok = 1 ] && break
    sleep 2
done
if [ $health_ok = 0 ]; then
    for s in replay learner prometheus; do
        out=$($DOCKER inspect -f '{{if .State.Health}}{{range .State.Health.Log}}{{.ExitCode}}: {{.Output}}|{{end}}{{end}}' "$(cid $s)" |
            tr '\n' ' ' | tail -c 300)
        log "  $s healthcheck log: ${out:-none}"
    done
    die "healthchecks after 80 s: $states(is metrics_port served? the learner's check is GET /healthz on 9101)"
fi
log "healthchecks: $states"

targets_ok=0
for _ in $(seq 30); do
    targets=$(prom_get 127.0.0.1 9090 /api/v1/targets 2>/dev/null || true)
    n_up=$(printf '%s' "$targets" | grep -o '"health":"up"' | wc -l)
    n_all=$(printf '%s' "$targets" | grep -o '"health":"[a-z]*"' | wc -l)
    if [ "$n_all" -ge 3 ] && [ "$n_up" = "$n_all" ]; then
        targets_ok=1
        break
    fi
    sleep 2
done
printf '%s\n' "$targets" >"$LOGDIR/targets.json"
summary=$(printf '%s' "$targets" | grep -o '"scrapeUrl":"[^"]*"\|"health":"[a-z]*"\|"lastError":"[^"]*"' | paste -sd' ' -)
[ $targets_ok = 1 ] || die "Prometheus targets not all up ($n_up of $n_all): $summary"
log "Prometheus: $n_up of $n_all targets up: $summary"

for t in replay:9100 learner:9101; do
    prom_get "${t%:*}" "${t#*:}" /metrics >"$LOGDIR/metrics-${t%:*}.prom"
    n=$(grep -vc '^#' "$LOGDIR/metrics-${t%:*}.prom" || true)
    [ "$n" -gt 0 ] || die "$t/metrics has no samples"
    set +e
    out=$($DOCKER exec -i "$prom" promtool check metrics <"$LOGDIR/metrics-${t%:*}.prom" 2>&1)
    prc=$?
    set -e
    case $prc in
    0) log "$t/metrics: $n samples, promtool check metrics clean" ;;
    3) log "$t/metrics: $n samples, valid; promtool lint notes: $(printf '%s' "$out" | paste -sd';' -)" ;;
    *) die "$t/metrics: promtool check metrics: $out" ;;
    esac
done
up_q=$($DOCKER exec "$prom" promtool query instant http://127.0.0.1:9090 'up' 2>&1 || true)
printf '%s\n' "$up_q" | sed 's/^/    /'
q=$($DOCKER exec "$prom" promtool query instant http://127.0.0.1:9090 'max(mpo_replay_actors_connected)' 2>&1 || true)
log "Prometheus query max(mpo_replay_actors_connected): ${q:-no answer}"

# ---------------------------------------------------------------- 5. the dashboard and the alerts
# Grafana is not to be had here; instead every panel's query and every alert's `value` query must
# return data from this cluster's Prometheus, and every alert expression must evaluate
exprs=$(python3 - "$ROOT/deploy/grafana/mpo-dashboard.json" "$ROOT/deploy/alerts.yml" <<'PY'
import json, re, sys
for p in json.load(open(sys.argv[1]))["panels"]:
    for t in p["targets"]:
        print("data\t" + t["expr"])
text = open(sys.argv[2]).read()
for m in re.finditer(r'^\s+expr: (.*)$', text, re.M):
    print("eval\t" + m.group(1))
for m in re.finditer(r'^\s+value: "(.*)"$', text, re.M):
    print("data\t" + m.group(1).replace('\\"', '"'))
PY
) || die "cannot read the dashboard or the alerts"
n_data=0 n_eval=0
# rates need two scrapes inside their window: give them a little time
sleep 10
while IFS="$(printf '\t')" read -r kind expr; do
    set +e
    out=$($DOCKER exec "$prom" promtool query instant http://127.0.0.1:9090 "$expr" 2>&1)
    qrc=$?
    set -e
    [ $qrc = 0 ] || die "Prometheus cannot evaluate '$expr': $out"
    if [ "$kind" = data ]; then
        [ -n "$out" ] || die "no data for '$expr' (a dashboard panel or an alert's value)"
        n_data=$((n_data + 1))
    else
        n_eval=$((n_eval + 1))
    fi
done <<EOF_EXPRS
$exprs
EOF_EXPRS
log "dashboard and alerts: $n_data queries return data, $n_eval alert expressions evaluate"
rules=$($DOCKER exec "$prom" promtool query instant http://127.0.0.1:9090 'count(ALERTS) or vector(0)' 2>&1 || true)
log "alerts firing now: ${rules:-?}"
log "all checks passed"
