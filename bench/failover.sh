#!/usr/bin/env bash
# Leader failover: SIGKILL the leader of a three-process cluster and time how long until a write
# through the survivors is acknowledged. Repeats TRIALS times (default 10) on fresh clusters.
#
#   bench/failover.sh [TRIALS] [-- extra trentd server flags]
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/dev-credentials.sh
trials=${1:-10}
cargo build --release --bins >/dev/null
dir=$(mktemp -d)
port=18600
trent=target/release/trent

for trial in $(seq "$trials"); do
  rm -rf "$dir/data"
  target/release/trentd dev --nodes 3 --addr "127.0.0.1:$port" --data-dir "$dir/data" >"$dir/dev.log" 2>&1 &
  dev=$!
  for _ in $(seq 300); do [ -f "$dir/data/dev-credentials.json" ] && break; sleep 0.1; done
  use_dev_credentials "$dir/data"
  all="http://127.0.0.1:$port,http://127.0.0.1:$((port + 1)),http://127.0.0.1:$((port + 2))"
  $trent --endpoints "$all" keys create >/dev/null
  leader=$($trent --endpoints "http://127.0.0.1:$port" --json cluster status | python3 -c 'import json,sys; print(json.load(sys.stdin)["leader_id"])')
  survivors=""
  for id in 1 2 3; do [ "$id" != "$leader" ] && survivors="$survivors${survivors:+,}http://127.0.0.1:$((port + id - 1))"; done
  pid=$(pgrep -f "trentd server --node-id $leader --api-addr 127.0.0.1:$((port + leader - 1))")
  start=$(date +%s%N)
  kill -KILL "$pid"
  $trent --endpoints "$survivors" keys create >/dev/null
  end=$(date +%s%N)
  echo "trial $trial: leader $leader killed, write acknowledged after $(( (end - start) / 1000000 )) ms"
  kill -TERM "$dev"; wait "$dev" || true
done
rm -rf "$dir"
