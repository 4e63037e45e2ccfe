#!/usr/bin/env bash
# A local HA trial on loopback: 3 etcd members, 3 API servers (mutual TLS, one CA), 2 schedulers
# and 2 controller managers with leader election, a hollow fleet of 3 simulated nodes, and one
# client config naming all three API servers. Not for production: everything is on this machine
# (docs/install.md spreads the same over hosts). Runs in the foreground; Ctrl-C stops everything.
#
#   deploy/ha/cluster.sh            # state in ${ATOLL_HA_DIR:-/tmp/atoll-ha}, kept across runs
#   ATOLL_CONFIG=/tmp/atoll-ha/config.yaml atoll get nodes
#   kill -9 one API server (its pid is in $DIR/pids): the clients carry on through the others
#
# Needs etcd 3.4+ (Debian: etcd-server), curl, and atoll's console scripts on PATH (or ATOLL_BIN=
# the directory holding atoll, atoll-scheduler, atoll-controller, atoll-agent).
set -euo pipefail

DIR="${ATOLL_HA_DIR:-/tmp/atoll-ha}"
BIN="${ATOLL_BIN:-$(dirname "$(command -v atoll || echo .venv/bin/atoll)")}"
ETCD="${ETCD:-etcd}"
ETCD_PORT="${ATOLL_HA_ETCD_PORT:-2379}"   # members: ETCD_PORT, +10, +20 (peers: +1)
API_PORT="${ATOLL_HA_API_PORT:-7443}"     # API servers: API_PORT, +1, +2
METRICS_PORT="${ATOLL_HA_METRICS_PORT:-9540}"
CLIENT_PORTS=("$ETCD_PORT" "$((ETCD_PORT + 10))" "$((ETCD_PORT + 20))")
PEER_PORTS=("$((ETCD_PORT + 1))" "$((ETCD_PORT + 11))" "$((ETCD_PORT + 21))")
API_PORTS=("$API_PORT" "$((API_PORT + 1))" "$((API_PORT + 2))")

for tool in "$ETCD" curl "$BIN/atoll"; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "cluster.sh: $tool not found (etcd: Debian etcd-server; atoll: set ATOLL_BIN)" >&2
    exit 2
  fi
done
mkdir -p "$DIR" && chmod 700 "$DIR"
: >"$DIR/pids"

pids=()
halt() {  # PID...: TERM, up to 10 s, then KILL
  [ "$#" -eq 0 ] && return
  for pid in "$@"; do kill "$pid" 2>/dev/null || true; done
  for _ in $(seq 1 50); do
    alive=0
    for pid in "$@"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" -eq 0 ] && return
    sleep 0.2
  done
  for pid in "$@"; do kill -KILL "$pid" 2>/dev/null || true; done
}
stop() {
  trap - INT TERM EXIT
  set +e  # stop everything whatever fails on the way
  # atoll first, while etcd still answers (the 3 etcd members are the first 3 pids), then etcd.
  if [ "${#pids[@]}" -gt 3 ]; then halt "${pids[@]:3}"; fi
  halt "${pids[@]:0:3}"
}
trap 'stop; exit 0' INT TERM
trap stop EXIT

started() {  # NAME PID: remember a child
  pids+=("$2")
  echo "$1 $2" >>"$DIR/pids"
}

wait_for() {  # WHAT COMMAND...: up to 30 s
  local what="$1"
  shift
  for _ in $(seq 1 150); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.2
  done
  echo "cluster.sh: $what did not come up within 30 s; see $DIR/*.log" >&2
  exit 1
}

initial_cluster=""
for i in 0 1 2; do
  initial_cluster+="${initial_cluster:+,}etcd$i=http://127.0.0.1:${PEER_PORTS[$i]}"
done
for i in 0 1 2; do
  state=new
  [ -d "$DIR/etcd$i/member" ] && state=existing
  "$ETCD" --name "etcd$i" --data-dir "$DIR/etcd$i" \
    --listen-client-urls "http://127.0.0.1:${CLIENT_PORTS[$i]}" \
    --advertise-client-urls "http://127.0.0.1:${CLIENT_PORTS[$i]}" \
    --listen-peer-urls "http://127.0.0.1:${PEER_PORTS[$i]}" \
    --initial-advertise-peer-urls "http://127.0.0.1:${PEER_PORTS[$i]}" \
    --initial-cluster "$initial_cluster" --initial-cluster-token atoll-ha \
    --initial-cluster-state "$state" --logger=zap --log-outputs="$DIR/etcd$i.log" &
  started "etcd$i" "$!"
done
for port in "${CLIENT_PORTS[@]}"; do
  wait_for "etcd on $port" sh -c "curl -fsS http://127.0.0.1:$port/health | grep -q '\"health\":\"true\"'"
done
store="etcd://127.0.0.1:${CLIENT_PORTS[0]},127.0.0.1:${CLIENT_PORTS[1]},127.0.0.1:${CLIENT_PORTS[2]}"

api_server() {  # N: the first creates the CA and encryption key; the others get copies first
  local n="$1" data="$DIR/api$1"
  mkdir -p "$data" && chmod 700 "$data"
  if [ "$n" -gt 0 ] && [ ! -d "$data/pki" ]; then
    cp -a "$DIR/api0/pki" "$DIR/api0/encryption.yaml" "$data/"
  fi
  "$BIN/atoll" up --data-dir "$data" --listen "127.0.0.1:${API_PORTS[$n]}" --store "$store" \
    --no-scheduler --no-controllers --sim-nodes 0 --no-client-config --no-http \
    --metrics-listen-base "127.0.0.1:$((METRICS_PORT + 10 * n))" >"$DIR/api$n.log" 2>&1 &
  started "api$n" "$!"
  wait_for "API server $n" grep -q "API server:" "$DIR/api$n.log"
}
for n in 0 1 2; do api_server "$n"; done

servers="[127.0.0.1:${API_PORTS[0]}, 127.0.0.1:${API_PORTS[1]}, 127.0.0.1:${API_PORTS[2]}]"
pki="$DIR/api0/pki"
config() {  # FILE CERT_STEM
  printf 'server: %s\nca: %s\ncert: %s\nkey: %s\n' "$servers" "$pki/ca.pem" "$pki/$2.pem" "$pki/$2-key.pem" >"$1"
  chmod 600 "$1"
}
config "$DIR/config.yaml" admin
config "$DIR/scheduler.yaml" scheduler
config "$DIR/controller.yaml" controller
config "$DIR/fleet.yaml" fleet

for n in 0 1; do
  ATOLL_CONFIG="$DIR/scheduler.yaml" "$BIN/atoll-scheduler" --leader-elect \
    --metrics-listen "127.0.0.1:$((METRICS_PORT + 40 + n))" >"$DIR/scheduler$n.log" 2>&1 &
  started "scheduler$n" "$!"
  ATOLL_CONFIG="$DIR/controller.yaml" "$BIN/atoll-controller" --leader-elect \
    --metrics-listen "127.0.0.1:$((METRICS_PORT + 50 + n))" >"$DIR/controller$n.log" 2>&1 &
  started "controller$n" "$!"
done
ATOLL_CONFIG="$DIR/fleet.yaml" "$BIN/atoll-agent" hollow --nodes 3 --metrics-listen "127.0.0.1:$((METRICS_PORT + 60))" \
  >"$DIR/fleet.log" 2>&1 &
started fleet "$!"
wait_for "the hollow fleet" env ATOLL_CONFIG="$DIR/config.yaml" sh -c "'$BIN/atoll' get nodes | grep -q Ready"

echo "atoll HA trial: 3 etcd members, 3 API servers (127.0.0.1:${API_PORTS[0]}-${API_PORTS[2]}), 2 schedulers,"
echo "2 controller managers, 3 simulated nodes; state and logs in $DIR (pids in $DIR/pids)"
echo "  export ATOLL_CONFIG=$DIR/config.yaml; atoll get nodes"
echo "Stop with Ctrl-C."
# Wait for Ctrl-C only: a process killed on purpose leaves the others running.
sleep infinity &
started sleeper "$!"
wait "$!" || true
