#!/usr/bin/env bash
# Instructions per signed 1 KiB Encrypt on one `trentd dev` node, counted by callgrind: the same
# count for the same binary whatever else the machine is doing, so two builds compare exactly.
#
#   bench/callgrind.sh [TRENTD] [OUT_DIR]     (defaults: target/release/trentd, a temp dir)
#   TRENT_CALLGRIND_POLICY=1 bench/callgrind.sh   # also: a user + 5-statement key policy
#
# Starts the node under valgrind, makes a key and one signed request (trent-bench --wrk-script),
# warms up with wrk for 5 s, zeroes the counters (callgrind_control -z), replays the request for
# 20 s with `wrk -t1 -c4`, dumps the counters (callgrind_control -d) and prints
# instructions / requests. With TRENT_CALLGRIND_POLICY=1 it then does the same, on the same
# node, for the authorization run of the suite (bench/policy-setup.py: a user with an identity
# policy, a key with a five-statement key policy) and prints the ratio of the two counts, which
# is what that policy costs over the default one, exactly. Needs valgrind and wrk (Debian
# packages), a release trent-bench, and the .venv of scripts/test.sh for the policy run.
set -euo pipefail
cd "$(dirname "$0")/.."
trentd=${1:-target/release/trentd}
out=${2:-$(mktemp -d)}
port=${TRENT_CALLGRIND_PORT:-18960}
mkdir -p "$out"
cargo build --release --quiet -p trent-bench --bin trent-bench
export TRENT_DEV_ACCESS_KEY_ID=CALLGRIND TRENT_DEV_SECRET_ACCESS_KEY=callgrind-secret
export AWS_ACCESS_KEY_ID=$TRENT_DEV_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY=$TRENT_DEV_SECRET_ACCESS_KEY
valgrind --tool=callgrind --callgrind-out-file="$out/callgrind.out" \
  "$trentd" dev --addr "127.0.0.1:$port" --data-dir "$out/data" >"$out/node.log" 2>&1 &
node=$!
trap 'kill -TERM $node 2>/dev/null || true; wait $node 2>/dev/null || true' EXIT
for _ in $(seq 300); do [ -f "$out/data/dev-credentials.json" ] && break; sleep 0.5; done
[ -f "$out/data/dev-credentials.json" ] || { echo "the node did not start; see $out/node.log" >&2; exit 1; }

# count NAME SCRIPT DUMP: zero the counters, replay SCRIPT for 20 s, dump (callgrind numbers the
# dumps from 1); prints instructions per request.
count() {
  wrk -t1 -c4 -d5s -s "$2" "http://127.0.0.1:$port/" >/dev/null
  callgrind_control -z "$node" >/dev/null
  wrk -t1 -c4 -d20s -s "$2" "http://127.0.0.1:$port/" >"$out/$1.wrk.txt"
  callgrind_control -d "$node" >/dev/null
  local requests instructions dump=$3
  requests=$(awk '/requests in/ {print $1}' "$out/$1.wrk.txt")
  instructions=$(callgrind_annotate "$out/callgrind.out.$dump" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')
  echo "$trentd $1: $requests requests, $instructions instructions, $((instructions / requests)) per request (profile: $out/callgrind.out.$dump)" >&2
  echo $((instructions / requests))
}

target/release/trent-bench --endpoints "http://127.0.0.1:$port" --op encrypt --keys 1 \
  --plaintext-bytes 1024 --wrk-script "$out/encrypt.lua" >/dev/null
default=$(count default "$out/encrypt.lua" 1)
[ "${TRENT_CALLGRIND_POLICY:-0}" = 1 ] || exit 0
read -r user_key user_secret <<<"$(.venv/bin/python bench/policy-setup.py "http://127.0.0.1:$port" "$out/keys-policy.txt")"
AWS_ACCESS_KEY_ID=$user_key AWS_SECRET_ACCESS_KEY=$user_secret \
  target/release/trent-bench --endpoints "http://127.0.0.1:$port" --op encrypt --keys-file "$out/keys-policy.txt" \
  --plaintext-bytes 1024 --wrk-script "$out/encrypt-policy.lua" >/dev/null
policy=$(count policy "$out/encrypt-policy.lua" 2)
python3 -c "import sys; d, p = int(sys.argv[1]), int(sys.argv[2]); print(f'default policy {d} / user + 5-statement policy {p} instructions per request: {d / p:.3f} (policy costs {100 * (p - d) / d:+.1f}%)')" "$default" "$policy"
