#!/usr/bin/env bash
# Builds Banter, the load generator and the naive axum reference (release), installs the Node
# reference, and runs the side-by-side benchmark (`just bench`). Pass `--smoke` for the
# seconds-long CI check (`just bench-smoke`); any other arguments go to `banter-loadgen bench`
# (see its --help), e.g.
#   bench/run.sh --rounds 5 --scenarios fanout --deliveries 500000,1000000
# `--cluster` (`just bench --cluster`) runs instead 2 nodes sharing rooms through a redis-server it
# starts (`--redis`) beside one node with its embedded store: no Node or naive axum needed;
# `--cluster --shards 2` gives the nodes 2 redis-servers, rooms sharded over them.
# Results: bench/results/<UTC date>.json, cluster-<UTC date>.json (smoke runs: smoke-*.json, not
# committed).
set -euo pipefail
cd "$(dirname "$0")/.."

target_dir="${CARGO_TARGET_DIR:-target}"
# Same features as `just release` when the web app is built, so the two never rebuild each other's
# binary (the embedded app does not touch the measured paths).
features=()
[ -f dist/index.html ] && features=(--features banter-server/embed-frontend)
cluster=false
for arg in "$@"; do [ "$arg" = --cluster ] && cluster=true; done
if $cluster; then
    cargo build --release --locked -p banter-server -p banter-loadgen "${features[@]}"
else
    cargo build --release --locked -p banter-server -p banter-loadgen -p naive-axum "${features[@]}"
    if [ ! -d bench/node-ws/node_modules/ws ] || [ bench/node-ws/package-lock.json -nt bench/node-ws/node_modules/.package-lock.json ]; then
        (cd bench/node-ws && npm ci --no-audit --no-fund --loglevel=error)
    fi
fi

# Banter runs with its defaults except the limits a load test from one address must lift: the
# per-connection rate, the HTTP rate, the per-address connection caps (thousands of clients all
# come from 127.0.0.1) and the hello timeout (idle clients connect and never send a frame).
exec "$target_dir/release/banter-loadgen" bench \
    --banter "$target_dir/release/banter" \
    --banter-arg=--rate-per-sec=0 \
    --banter-arg=--http-rate-per-sec=0 \
    --banter-arg=--max-connections-per-ip=0 \
    --banter-arg=--max-tcp-connections-per-ip=0 \
    --banter-arg=--auth-timeout=0 \
    --node-dir bench/node-ws \
    --naive "$target_dir/release/naive-axum" \
    --out bench/results \
    "$@"
