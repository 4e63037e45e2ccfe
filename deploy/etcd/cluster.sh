#!/usr/bin/env bash
# A 3-member etcd cluster on loopback, for trying atoll's etcd store (not for production: every
# member is on this machine). Runs in the foreground; Ctrl-C stops all three members.
#
#   deploy/etcd/cluster.sh                 # data in ${ATOLL_ETCD_DIR:-/tmp/atoll-etcd}, kept across runs
#   atoll up --store etcd://127.0.0.1:2379,127.0.0.1:22379,127.0.0.1:32379
#
# Needs etcd 3.4+ (Debian: apt-get install etcd-server) and curl. Logs: $DIR/NAME.log.
set -euo pipefail

DIR="${ATOLL_ETCD_DIR:-/tmp/atoll-etcd}"
ETCD="${ETCD:-etcd}"
MEMBERS=(m1 m2 m3)
CLIENT_PORTS=(2379 22379 32379)
PEER_PORTS=(2380 22380 32380)

if ! command -v "$ETCD" >/dev/null 2>&1; then
  echo "cluster.sh: $ETCD not found: install the Debian package etcd-server (or set ETCD=/path/to/etcd)" >&2
  exit 2
fi
mkdir -p "$DIR"

initial_cluster=""
for i in 0 1 2; do
  initial_cluster+="${initial_cluster:+,}${MEMBERS[$i]}=http://127.0.0.1:${PEER_PORTS[$i]}"
done

pids=()
stop() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  # A member that lost its peers may hang in a leadership transfer: give it 5 s, then SIGKILL.
  for _ in $(seq 1 25); do
    alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" -eq 0 ] && return
    sleep 0.2
  done
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
}
trap 'stop; exit 0' INT TERM
trap stop EXIT

for i in 0 1 2; do
  name="${MEMBERS[$i]}"
  state=new
  [ -d "$DIR/$name/member" ] && state=existing
  "$ETCD" --name "$name" --data-dir "$DIR/$name" \
    --listen-client-urls "http://127.0.0.1:${CLIENT_PORTS[$i]}" \
    --advertise-client-urls "http://127.0.0.1:${CLIENT_PORTS[$i]}" \
    --listen-peer-urls "http://127.0.0.1:${PEER_PORTS[$i]}" \
    --initial-advertise-peer-urls "http://127.0.0.1:${PEER_PORTS[$i]}" \
    --initial-cluster "$initial_cluster" --initial-cluster-token atoll-local \
    --initial-cluster-state "$state" \
    --logger=zap --log-outputs="$DIR/$name.log" &
  pids+=("$!")
done

endpoints="127.0.0.1:${CLIENT_PORTS[0]},127.0.0.1:${CLIENT_PORTS[1]},127.0.0.1:${CLIENT_PORTS[2]}"
for _ in $(seq 1 50); do
  healthy=0
  for port in "${CLIENT_PORTS[@]}"; do
    if curl -fsS "http://127.0.0.1:$port/health" 2>/dev/null | grep -q '"health":"true"'; then
      healthy=$((healthy + 1))
    fi
  done
  if [ "$healthy" -eq 3 ]; then
    echo "etcd cluster of 3 members is healthy (data in $DIR)"
    echo "  atoll up --store etcd://$endpoints"
    echo "Stop with Ctrl-C."
    wait -n "${pids[@]}" || true
    echo "cluster.sh: a member exited; stopping the others (see $DIR/*.log)" >&2
    exit 1
  fi
  sleep 0.2
done
echo "cluster.sh: the members did not become healthy within 10 s; see $DIR/*.log" >&2
exit 1
