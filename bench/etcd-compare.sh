#!/usr/bin/env bash
# Same-box comparison of the Raft write path: a three-member etcd (Debian's etcd-server) put,
# driven by wrk, then a three-node Trent CreateKey at the same connection count, driven by
# trent-bench (Trent requires SigV4 signatures, which wrk cannot make). Both to one member over
# loopback. Needs `etcd` and `wrk` (apt-get install etcd-server wrk).
#
#   bench/etcd-compare.sh [DURATION_SECS] [CONNECTIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/dev-credentials.sh
duration=${1:-20}
connections=${2:-64}
dir=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$dir"' EXIT
cargo build --release --bins >/dev/null

# etcd: three members on loopback, the default fsync-per-commit durability.
cluster="e1=http://127.0.0.1:23801,e2=http://127.0.0.1:23802,e3=http://127.0.0.1:23803"
for i in 1 2 3; do
  etcd --name "e$i" --data-dir "$dir/etcd$i" \
    --listen-peer-urls "http://127.0.0.1:2380$i" --initial-advertise-peer-urls "http://127.0.0.1:2380$i" \
    --listen-client-urls "http://127.0.0.1:2379$i" --advertise-client-urls "http://127.0.0.1:2379$i" \
    --initial-cluster "$cluster" --initial-cluster-state new --log-level error >"$dir/etcd$i.log" 2>&1 &
done
for _ in $(seq 100); do
  curl -sf -X POST http://127.0.0.1:23791/v3/kv/put -d '{"key":"cHJvYmU=","value":"MQ=="}' >/dev/null && break
  sleep 0.1
done
cat >"$dir/etcd-put.lua" <<'LUA'
-- Each request puts a different key (base64 of "k<n>") with a 32-byte value.
local counter = 0
local alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local function b64(data)
  return ((data:gsub('.', function(x)
    local r, b = '', x:byte()
    for i = 8, 1, -1 do r = r .. (b % 2 ^ i - b % 2 ^ (i - 1) > 0 and '1' or '0') end
    return r
  end) .. '0000'):gsub('%d%d%d?%d?%d?%d?', function(x)
    if #x < 6 then return '' end
    local c = 0
    for i = 1, 6 do c = c + (x:sub(i, i) == '1' and 2 ^ (6 - i) or 0) end
    return alphabet:sub(c + 1, c + 1)
  end) .. ({ '', '==', '=' })[#data % 3 + 1])
end
local value = b64(string.rep("v", 32))
request = function()
  counter = counter + 1
  local body = '{"key":"' .. b64("k" .. counter) .. '","value":"' .. value .. '"}'
  return wrk.format("POST", "/v3/kv/put", { ["Content-Type"] = "application/json" }, body)
end
LUA
echo "== etcd 3.4 put, 3 members, $connections connections, ${duration}s (wrk to one member) =="
wrk -t2 -c"$connections" -d"${duration}s" --latency -s "$dir/etcd-put.lua" http://127.0.0.1:23791 | sed -n '/Latency Distribution/,/Requests\/sec/p'
kill $(jobs -p); wait 2>/dev/null || true

# Trent: three nodes, CreateKey to one node (the leader or a follower, like etcd's member).
target/release/trentd dev --nodes 3 --addr 127.0.0.1:18750 --data-dir "$dir/trent" >"$dir/trent.log" 2>&1 &
for _ in $(seq 300); do [ -f "$dir/trent/dev-credentials.json" ] && break; sleep 0.1; done
use_dev_credentials "$dir/trent"
echo "== Trent CreateKey, 3 nodes, $connections connections, ${duration}s (trent-bench to node 1, SigV4) =="
target/release/trent-bench --endpoints http://127.0.0.1:18750 --op create-key --concurrency "$connections" \
  --duration "$duration" --warmup 3
