#!/usr/bin/env bash
# Encrypt and Decrypt of 1 KiB through full SigV4 verification, on one node and on three, against
# the HTTP ceiling of this machine: a bare hyper server (trent-echo) answering the same request
# with no work. Each measured with wrk (one request, signed once and replayed — the server still
# verifies every signature) and with trent-bench (signs every request; its own CPU shares the
# two cores). Needs wrk (apt-get install wrk).
#
#   bench/crypto.sh [DURATION_SECS] [CONNECTIONS] [PLAINTEXT_BYTES]
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/dev-credentials.sh
. bench/wrk-run.sh
duration=${1:-15}
connections=${2:-64}
bytes=${3:-1024}
out=${OUT:-$(mktemp -d)}
mkdir -p "$out"
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true' EXIT
cargo build --release --bins >/dev/null


# The ceiling: the same 1 KiB Encrypt body, echoed.
target/release/trent-echo 127.0.0.1:18599 2>/dev/null &
echo_pid=$!
sleep 0.5
body=$(python3 -c "import base64,json,sys; print(json.dumps({'KeyId':'00000000-0000-0000-0000-000000000000','Plaintext':base64.b64encode(b'Z'*int(sys.argv[1])).decode()}))" "$bytes")
cat >"$out/echo.lua" <<LUA
wrk.method = "POST"
wrk.body = [[$body]]
wrk.headers["Content-Type"] = "application/x-amz-json-1.1"
wrk.headers["X-Amz-Target"] = "TrentService.Encrypt"
LUA
echo "== ceiling: bare hyper echo, ${bytes}-byte plaintext body, wrk -t2 -c$connections, ${duration}s =="
wrk_run "echo (bare hyper)" "$out/echo.lua" http://127.0.0.1:18599/
kill "$echo_pid"; wait "$echo_pid" 2>/dev/null || true

for nodes in 1 3; do
  port=$((18600 + nodes * 10))
  dir="$out/data-$nodes"
  rm -rf "$dir"
  target/release/trentd dev --nodes "$nodes" --addr "127.0.0.1:$port" --data-dir "$dir" >"$out/dev-$nodes.log" 2>&1 &
  dev_pid=$!
  for _ in $(seq 300); do [ -f "$dir/dev-credentials.json" ] && break; sleep 0.1; done
  use_dev_credentials "$dir"
  endpoints=""; for i in $(seq 0 $((nodes - 1))); do endpoints="$endpoints${endpoints:+,}http://127.0.0.1:$((port + i))"; done
  key=$(target/release/trent --endpoints "http://127.0.0.1:$port" --json keys create | python3 -c 'import json,sys; print(json.load(sys.stdin)["KeyMetadata"]["KeyId"])')
  echo "$key" >"$out/key.txt"   # trent-bench --keys-file: every run uses this one key
  echo "== $nodes node(s): ${bytes}-byte Encrypt and Decrypt, SigV4, $connections connections, ${duration}s =="
  for op in encrypt decrypt; do
    # wrk drives one node: the others of a cluster serve the same key from their own state.
    target/release/trent-bench --endpoints "http://127.0.0.1:$port" --op "$op" --keys-file "$out/key.txt" \
      --plaintext-bytes "$bytes" --wrk-script "$out/$op-$nodes.lua"
    wrk_run "$op, $nodes node(s), wrk" "$out/$op-$nodes.lua" "http://127.0.0.1:$port/"
    target/release/trent-bench --endpoints "$endpoints" --op "$op" --keys-file "$out/key.txt" --plaintext-bytes "$bytes" \
      --concurrency "$connections" --duration "$duration" --warmup 2 --json-out "$out/$op-$nodes.json" \
      | awk -v label="$op, $nodes node(s), trent-bench (all nodes)" '/ops\/s/ { getline; printf "%-40s %10s ops/s  p50 %6.2fms  p99 %6.2fms\n", label, $1, $2 / 1000, $4 / 1000 }'
  done
  kill -TERM "$dev_pid"; wait "$dev_pid" 2>/dev/null || true
done
echo "results in $out"
