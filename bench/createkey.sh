#!/usr/bin/env bash
# CreateKey throughput and tail latency on one node and on a three-node cluster, then disk use
# per 100,000 keys. Starts release `trentd dev` clusters in a temporary directory, loads them
# with trent-bench, and prints the results (JSON copies in $OUT).
#
#   bench/createkey.sh [DURATION_SECS] [CONCURRENCY]
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/dev-credentials.sh
duration=${1:-20}
concurrency=${2:-64}
out=${OUT:-$(mktemp -d)}
mkdir -p "$out"
cargo build --release --bins >/dev/null

run_cluster() { # nodes base_port
  local nodes=$1 port=$2 dir="$out/data-$1"
  rm -rf "$dir"
  target/release/trentd dev --nodes "$nodes" --addr "127.0.0.1:$port" --data-dir "$dir" >"$out/dev-$nodes.log" 2>&1 &
  dev_pid=$!
  for _ in $(seq 300); do [ -f "$dir/dev-credentials.json" ] && { use_dev_credentials "$dir"; return; }; sleep 0.1; done
  echo "cluster of $nodes did not start" >&2; exit 1
}
stop_cluster() { kill -TERM "$dev_pid"; wait "$dev_pid" || true; }
endpoints() { # nodes base_port
  local list=""; for i in $(seq 0 $(($1 - 1))); do list="$list${list:+,}http://127.0.0.1:$(($2 + i))"; done; echo "$list"
}

for nodes in 1 3; do
  port=$((18400 + nodes * 10))
  run_cluster "$nodes" "$port"
  echo "== CreateKey, $nodes node(s), $concurrency connections, ${duration}s =="
  target/release/trent-bench --endpoints "$(endpoints "$nodes" "$port")" --op create-key \
    --concurrency "$concurrency" --duration "$duration" --warmup 3 --json-out "$out/createkey-$nodes.json"
  stop_cluster
done

echo "== Disk use: 100,000 keys on one node =="
run_cluster 1 18500
target/release/trent-bench --endpoints http://127.0.0.1:18500 --op create-key --concurrency 64 \
  --requests 100000 --warmup 0 --json-out "$out/disk-100k.json" >/dev/null
rss_kb=$(ps -o rss= -p "$(pgrep -f "trentd dev --nodes 1 --addr 127.0.0.1:18500")")
sleep 2
echo "keys: $(target/release/trent --endpoints http://127.0.0.1:18500 --json keys list | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["Keys"]))')"
echo "node RSS: $((rss_kb / 1024)) MiB"
stop_cluster
echo "data directory after clean stop: $(du -sh "$out/data-1/node-1" | cut -f1)"
du -sh "$out/data-1/node-1/sled" "$out/data-1/node-1/snapshots"
echo "results in $out"
