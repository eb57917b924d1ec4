#!/usr/bin/env bash
# What TLS costs: Encrypt of 1 KiB through full SigV4 on one `trentd server` node, once over
# TLS (certificates from `trent operator gen-certs`) and once started with --insecure-plaintext,
# same data directory, same key. Measured with wrk (one request signed once and replayed on
# keep-alive connections, so handshakes are amortised as with any pooled client) and with
# trent-bench (signs every call). Needs wrk (apt-get install wrk).
#
#   bench/tls.sh [DURATION_SECS] [CONNECTIONS] [PLAINTEXT_BYTES]
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/wrk-run.sh
duration=${1:-15}
connections=${2:-64}
bytes=${3:-1024}
out=${OUT:-$(mktemp -d)}
mkdir -p "$out"
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true' EXIT
cargo build --release --bin trentd --bin trent --bin trent-bench >/dev/null
trent=target/release/trent
api=127.0.0.1:18700
peer=127.0.0.1:18701

"$trent" operator gen-certs --out-dir "$out/certs" --node n1 --san 127.0.0.1 --san localhost >/dev/null
export TRENT_CA_CERT="$out/certs/ca.pem"

start_node() { # extra trentd flags...
  target/release/trentd server --node-id 1 --api-addr "$api" --peer-addr "$peer" --data-dir "$out/data" \
    --bootstrap --peer "1,$api,$peer" "$@" >>"$out/node.log" 2>&1 &
  node_pid=$!
}
stop_node() { kill -TERM "$node_pid"; wait "$node_pid" 2>/dev/null || true; }
wait_up() { # endpoint
  for _ in $(seq 100); do "$trent" --endpoints "$1" operator status >/dev/null 2>&1 && return; sleep 0.1; done
  echo "node did not come up; see $out/node.log" >&2
  exit 1
}

bench_run() { # label endpoint
  target/release/trent-bench --endpoints "$2" --op encrypt --keys-file "$out/key.txt" --plaintext-bytes "$bytes" \
    --concurrency "$connections" --duration "$duration" --warmup 2 \
    | awk -v label="$1" '/ops\/s/ { getline; printf "%-34s %10s ops/s  p50 %6.2fms  p99 %6.2fms\n", label, $1, $2 / 1000, $4 / 1000 }'
}

start_node --tls-cert "$out/certs/n1.pem" --tls-key "$out/certs/n1.key" --tls-ca "$out/certs/ca.pem"
wait_up "https://$api"
"$trent" --endpoints "https://$api" operator init --shares 1 --threshold 1 --json >"$out/init.json"
share=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["shares"][0])' "$out/init.json")
AWS_ACCESS_KEY_ID=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["access_key_id"])' "$out/init.json")
AWS_SECRET_ACCESS_KEY=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["secret_access_key"])' "$out/init.json")
export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
"$trent" --endpoints "https://$api" operator unseal "$share" >/dev/null
key=$("$trent" --endpoints "https://$api" --json keys create | python3 -c 'import json,sys; print(json.load(sys.stdin)["KeyMetadata"]["KeyId"])')
echo "$key" >"$out/key.txt"   # trent-bench --keys-file: every run uses this one key

echo "== one node, ${bytes}-byte Encrypt, SigV4, $connections connections, ${duration}s =="
target/release/trent-bench --endpoints "https://$api" --op encrypt --keys-file "$out/key.txt" --plaintext-bytes "$bytes" \
  --wrk-script "$out/encrypt.lua"
wrk_run "TLS, wrk" "$out/encrypt.lua" "https://$api/"
bench_run "TLS, trent-bench" "https://$api"
stop_node

start_node --insecure-plaintext
wait_up "http://$api"
"$trent" --endpoints "http://$api" operator unseal "$share" >/dev/null
wrk_run "plain HTTP, wrk" "$out/encrypt.lua" "http://$api/"
bench_run "plain HTTP, trent-bench" "http://$api"
stop_node
echo "results in $out"
