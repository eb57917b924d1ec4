#!/usr/bin/env bash
# bench/authorization-pair.sh [ROUNDS] [SECONDS]: what a realistic policy costs over the default
# one, measured on the server: alternating rounds (default 4 of 10 s) of Encrypt 1 KiB on one
# `trentd dev` node (release), driven by wrk replaying one signed request (wrk -t2 -c64), as the
# admin under the default key policy and as a user with an identity policy under a
# five-statement key policy (bench/policy-setup.py). Prints each round's ops/s, p99 and the
# node's CPU time per call, then the mean ratios. bench/callgrind.sh (TRENT_CALLGRIND_POLICY=1)
# counts the same difference in instructions, which no other load on the machine disturbs.
# Needs wrk and the .venv of scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-4}
seconds=${2:-10}
out=${TMPDIR:-/tmp}/trent-authbench; rm -rf "$out"; mkdir -p "$out"
export TRENT_DEV_ACCESS_KEY_ID=SUITEADMIN0000000001 TRENT_DEV_SECRET_ACCESS_KEY=suite-secret-access-key
export AWS_ACCESS_KEY_ID=$TRENT_DEV_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY=$TRENT_DEV_SECRET_ACCESS_KEY AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
endpoint=http://127.0.0.1:19400
target/release/trentd dev --nodes 1 --addr 127.0.0.1:19400 --data-dir "$out/dev" >"$out/dev.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 300); do [ -f "$out/dev/dev-credentials.json" ] && break; sleep 0.1; done
sleep 1
read -r uk us <<<"$(.venv/bin/python bench/policy-setup.py $endpoint "$out/keys-policy.txt")"
target/release/trent-bench --endpoints $endpoint --op encrypt --keys 1 --wrk-script "$out/default.lua" >/dev/null
AWS_ACCESS_KEY_ID=$uk AWS_SECRET_ACCESS_KEY=$us target/release/trent-bench --endpoints $endpoint --op encrypt \
  --keys-file "$out/keys-policy.txt" --wrk-script "$out/policy.lua" >/dev/null
cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
measure() { # NAME ROUND
  wrk -t2 -c64 -d2s -s "$out/$1.lua" "$endpoint/" >/dev/null
  local before after
  before=$(cpu)
  TRENT_WRK_JSON="$out/$1-$2.json" wrk -t2 -c64 -d"${seconds}s" -s "$out/$1.lua" "$endpoint/" >"$out/$1-$2.txt"
  after=$(cpu)
  echo "$((after - before))" >"$out/$1-$2.ticks"
}
for round in $(seq "$rounds"); do
  measure default "$round"
  measure policy "$round"
done
python3 - "$out" "$rounds" "$(getconf CLK_TCK)" <<'PY'
import json, sys
out, rounds, hz = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def load(name, r):
    w = json.load(open(f"{out}/{name}-{r}.json"))
    ticks = int(open(f"{out}/{name}-{r}.ticks").read())
    ops = w["requests"] / (w["duration_us"] / 1e6)
    return ops, w["latency_us"]["p99"] / 1000, ticks * 1e6 / hz / w["requests"], w["non_2xx"]
sums = {"default": [0, 0], "policy": [0, 0]}
for r in range(1, rounds + 1):
    d, p = load("default", r), load("policy", r)
    for name, v in (("default", d), ("policy", p)):
        sums[name][0] += v[0]; sums[name][1] += v[2]
    print(f"round {r}: default {d[0]:,.0f} ops/s p99 {d[1]:.2f} ms {d[2]:.1f} us CPU/call (non-2xx {d[3]}) | "
          f"policy {p[0]:,.0f} ops/s p99 {p[1]:.2f} ms {p[2]:.1f} us CPU/call (non-2xx {p[3]}) | "
          f"ops ratio {p[0] / d[0]:.3f}, CPU ratio {d[2] / p[2]:.3f}")
(do, dc), (po, pc) = sums["default"], sums["policy"]
print(f"mean: ops/s policy/default {po / do:.3f}; CPU per call default/policy {dc / pc:.3f} "
      f"({dc / rounds:.1f} / {pc / rounds:.1f} us)")
PY
