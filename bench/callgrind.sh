#!/usr/bin/env bash
# Instructions per signed 1 KiB Encrypt on one `trentd dev` node, counted by callgrind: the same
# count for the same binary whatever else the machine is doing, so two builds compare exactly.
#
#   bench/callgrind.sh [TRENTD] [OUT_DIR]     (defaults: target/release/trentd, a temp dir)
#
# Starts the node under valgrind, makes a key and one signed request (trent-bench --wrk-script),
# warms up with wrk for 5 s, zeroes the counters (callgrind_control -z), replays the request for
# 20 s with `wrk -t1 -c4`, dumps the counters (callgrind_control -d) and prints
# instructions / requests. Needs valgrind and wrk (Debian packages) and a release trent-bench.
set -euo pipefail
cd "$(dirname "$0")/.."
trentd=${1:-target/release/trentd}
out=${2:-$(mktemp -d)}
port=${TRENT_CALLGRIND_PORT:-18960}
mkdir -p "$out"
cargo build --release --quiet -p trent-bench --bin trent-bench
export TRENT_DEV_ACCESS_KEY_ID=CALLGRIND TRENT_DEV_SECRET_ACCESS_KEY=callgrind-secret
valgrind --tool=callgrind --callgrind-out-file="$out/callgrind.out" \
  "$trentd" dev --addr "127.0.0.1:$port" --data-dir "$out/data" >"$out/node.log" 2>&1 &
node=$!
trap 'kill -TERM $node 2>/dev/null || true; wait $node 2>/dev/null || true' EXIT
for _ in $(seq 300); do [ -f "$out/data/dev-credentials.json" ] && break; sleep 0.5; done
[ -f "$out/data/dev-credentials.json" ] || { echo "the node did not start; see $out/node.log" >&2; exit 1; }
AWS_ACCESS_KEY_ID=$TRENT_DEV_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY=$TRENT_DEV_SECRET_ACCESS_KEY \
  target/release/trent-bench --endpoints "http://127.0.0.1:$port" --op encrypt --keys 1 \
  --plaintext-bytes 1024 --wrk-script "$out/encrypt.lua" >/dev/null
wrk -t1 -c4 -d5s -s "$out/encrypt.lua" "http://127.0.0.1:$port/" >/dev/null
callgrind_control -z "$node" >/dev/null
wrk -t1 -c4 -d20s -s "$out/encrypt.lua" "http://127.0.0.1:$port/" >"$out/wrk.txt"
callgrind_control -d "$node" >/dev/null
requests=$(awk '/requests in/ {print $1}' "$out/wrk.txt")
instructions=$(callgrind_annotate "$out/callgrind.out.1" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')
echo "$trentd: $requests requests, $instructions instructions, $((instructions / requests)) per request (profile: $out/callgrind.out.1)"
