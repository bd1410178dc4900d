#!/bin/bash
# Search's cost on posting (issue 17): stored messages/s of `banter-loadgen store` (closed loop,
# 50 senders, 100-byte text) with the search index on and off, alternated, and how long the
# index takes to hold every message after each run; then the CPU `banter reindex` takes per
# message. Release binaries from $TARGET (default target/release). Usage:
#   cargo build --release -p banter-server -p banter-loadgen && bench/search-cost.sh
# DUR (seconds per run, default 5) and MODES (default "true false true false true false").
set -u
TARGET=${TARGET:-${CARGO_TARGET_DIR:-target}/release}
BIN=$TARGET/banter; LG=$TARGET/banter-loadgen
LIMITS="--rate-per-sec 0 --http-rate-per-sec 0 --max-connections-per-ip 0 --max-tcp-connections-per-ip 0 --auth-timeout 0"
DUR=${DUR:-5}

serve() { # serve DIR SEARCH: starts banter, prints its pid and port
  local port=$((20000 + RANDOM % 20000))
  $BIN --listen 127.0.0.1:$port --data-dir "$1" --search "$2" $LIMITS 2>/dev/null &
  local pid=$!
  for _ in $(seq 100); do curl -sf http://127.0.0.1:$port/healthz >/dev/null && break; sleep 0.1; done
  echo "$pid $port"
}

for mode in ${MODES:-true false true false true false}; do
  d=$(mktemp -d); read -r pid port < <(serve "$d" "$mode")
  out=$($LG --addr 127.0.0.1:$port --pid $pid --json store --duration "$DUR" 2>/dev/null)
  rate=$(echo "$out" | python3 -c 'import json,sys; r=json.load(sys.stdin); print(round(r["acked_per_sec"]), "acked/s, p99", r["ack_latency_ms"]["p99"], "ms, server cpu", r.get("server_cpu_pct"), "%")')
  stored=$(sqlite3 "$d/banter.db" 'select count(*) from messages')
  extra=""
  if [ "$mode" = true ]; then
    t0=$(date +%s.%N)
    for _ in $(seq 1200); do
      n=$(sqlite3 "$d/search.db" 'select count(*) from docs' 2>/dev/null)
      [ "$n" = "$stored" ] && break; sleep 0.1
    done
    extra="indexed $n/$stored, $(echo "$(date +%s.%N) - $t0" | bc) s after the run"
  fi
  echo "search=$mode: $rate; $extra (load $(cut -d' ' -f1 /proc/loadavg))"
  kill $pid; wait $pid 2>/dev/null; rm -rf "$d"
done

d=$(mktemp -d); read -r pid port < <(serve "$d" false)
$LG --addr 127.0.0.1:$port --json store --duration "$DUR" >/dev/null 2>&1
kill $pid; wait $pid 2>/dev/null
echo "reindex of $(sqlite3 "$d/banter.db" 'select count(*) from messages') messages:"
/usr/bin/time -f "  user %U s, sys %S s, wall %e s" $BIN --data-dir "$d" reindex >/dev/null
rm -rf "$d"
