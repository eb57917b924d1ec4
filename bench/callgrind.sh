#!/usr/bin/env bash
# Instructions per signed 1 KiB Encrypt on one `trentd dev` node, counted by callgrind: the same
# count for the same binary whatever else the machine is doing, so two builds compare exactly.
#
#   bench/callgrind.sh [TRENTD] [OUT_DIR]     (defaults: target/release/trentd, a temp dir)
#   TRENT_CALLGRIND_POLICY=1 bench/callgrind.sh   # also: a user + 5-statement key policy
#   TRENT_CALLGRIND_AUDIT=1 bench/callgrind.sh    # also: a node without its audit trail
#
# Starts the node under valgrind, makes a key and one signed request (trent-bench --wrk-script),
# warms up with wrk for 5 s, zeroes the counters (callgrind_control -z), replays the request for
# 20 s with `wrk -t1 -c4`, dumps the counters (callgrind_control -d) and prints
# instructions / requests. With TRENT_CALLGRIND_POLICY=1 it then does the same, on the same
# node, for the authorization run of the suite (bench/policy-setup.py: a user with an identity
# policy, a key with a five-statement key policy) and prints the ratio of the two counts, which
# is what that policy costs over the default one, exactly. With TRENT_CALLGRIND_AUDIT=1 it then
# starts a second node of the same build with `--unaudited-bench-only` (the hidden flag that
# makes a node skip its audit trail), counts the same Encrypt there, and prints the ratio: what
# recording each call costs in instructions, the writer thread's included (callgrind counts
# every thread; it cannot count the kernel's side: the write and the fdatasync of each batch).
# Needs valgrind and wrk (Debian packages), a release trent-bench, and the .venv of
# scripts/test.sh for the policy run.
set -euo pipefail
cd "$(dirname "$0")/.."
trentd=${1:-target/release/trentd}
out=${2:-$(mktemp -d)}
port=${TRENT_CALLGRIND_PORT:-18960}
mkdir -p "$out"
cargo build --release --quiet -p trent-bench --bin trent-bench
export TRENT_DEV_ACCESS_KEY_ID=CALLGRIND TRENT_DEV_SECRET_ACCESS_KEY=callgrind-secret
export AWS_ACCESS_KEY_ID=$TRENT_DEV_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY=$TRENT_DEV_SECRET_ACCESS_KEY
nodes=()
trap 'kill -TERM "${nodes[@]}" 2>/dev/null || true; wait "${nodes[@]}" 2>/dev/null || true' EXIT
# start NAME PORT [FLAG...]: a dev node under callgrind, its data in $out/NAME, its profile
# dumps $out/callgrind.NAME.out.N; sets $node.
start() {
  local name=$1 at=$2
  shift 2
  valgrind --tool=callgrind --callgrind-out-file="$out/callgrind.$name.out" \
    "$trentd" dev --addr "127.0.0.1:$at" --data-dir "$out/$name" "$@" >"$out/$name.log" 2>&1 &
  node=$!
  nodes+=("$node")
  for _ in $(seq 300); do [ -f "$out/$name/dev-credentials.json" ] && break; sleep 0.5; done
  [ -f "$out/$name/dev-credentials.json" ] || { echo "the node did not start; see $out/$name.log" >&2; exit 1; }
}

# count NAME SCRIPT PORT PID PROFILE: zero the counters of node PID, replay SCRIPT at PORT for
# 20 s, dump into PROFILE (callgrind numbers a node's dumps from 1); prints instructions per
# request.
count() {
  wrk -t1 -c4 -d5s -s "$2" "http://127.0.0.1:$3/" >/dev/null
  callgrind_control -z "$4" >/dev/null
  wrk -t1 -c4 -d20s -s "$2" "http://127.0.0.1:$3/" >"$out/$1.wrk.txt"
  callgrind_control -d "$4" >/dev/null
  local requests instructions profile=$5
  requests=$(awk '/requests in/ {print $1}' "$out/$1.wrk.txt")
  instructions=$(callgrind_annotate "$profile" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')
  echo "$trentd $1: $requests requests, $instructions instructions, $((instructions / requests)) per request (profile: $profile)" >&2
  echo $((instructions / requests))
}

start node "$port"
first=$node
target/release/trent-bench --endpoints "http://127.0.0.1:$port" --op encrypt --keys 1 \
  --plaintext-bytes 1024 --wrk-script "$out/encrypt.lua" >/dev/null
default=$(count default "$out/encrypt.lua" "$port" "$first" "$out/callgrind.node.out.1")
if [ "${TRENT_CALLGRIND_AUDIT:-0}" = 1 ]; then
  bare=$((port + 1))
  start unaudited "$bare" --unaudited-bench-only
  target/release/trent-bench --endpoints "http://127.0.0.1:$bare" --op encrypt --keys 1 \
    --plaintext-bytes 1024 --wrk-script "$out/encrypt-unaudited.lua" >/dev/null
  unaudited=$(count unaudited "$out/encrypt-unaudited.lua" "$bare" "$node" "$out/callgrind.unaudited.out.1")
  python3 -c "import sys; a, u = int(sys.argv[1]), int(sys.argv[2]); print(f'audited {a} / unaudited {u} instructions per request: {a / u:.3f} (the audit trail costs {100 * (a - u) / u:+.1f}%, {a - u} instructions per call)')" "$default" "$unaudited"
fi
[ "${TRENT_CALLGRIND_POLICY:-0}" = 1 ] || exit 0
read -r user_key user_secret <<<"$(.venv/bin/python bench/policy-setup.py "http://127.0.0.1:$port" "$out/keys-policy.txt")"
AWS_ACCESS_KEY_ID=$user_key AWS_SECRET_ACCESS_KEY=$user_secret \
  target/release/trent-bench --endpoints "http://127.0.0.1:$port" --op encrypt --keys-file "$out/keys-policy.txt" \
  --plaintext-bytes 1024 --wrk-script "$out/encrypt-policy.lua" >/dev/null
policy=$(count policy "$out/encrypt-policy.lua" "$port" "$first" "$out/callgrind.node.out.2")
python3 -c "import sys; d, p = int(sys.argv[1]), int(sys.argv[2]); print(f'default policy {d} / user + 5-statement policy {p} instructions per request: {d / p:.3f} (policy costs {100 * (p - d) / d:+.1f}%)')" "$default" "$policy"
