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
# wrk_bench (bench/wrk-run.sh) writes each round to $results/NAME.json with the node's CPU per call.
results=$out warmup=2 duration=$seconds
fail() { echo "FAILED: $*" >&2; exit 1; }
. bench/wrk-run.sh
for round in $(seq "$rounds"); do
  wrk_bench "default-$round" "admin + default policy, round $round" "$out/default.lua" "$endpoint/" "$pid"
  wrk_bench "policy-$round" "user + 5-statement policy, round $round" "$out/policy.lua" "$endpoint/" "$pid"
done
python3 - "$out" "$rounds" <<'PY'
import json, sys
out, rounds = sys.argv[1], int(sys.argv[2])
def load(name, r):
    w = json.load(open(f"{out}/{name}-{r}.json"))
    return w["ops_per_sec"], w["latency_us"]["p99"] / 1000, w["server_cpu_us_per_op"], w["errors_total"]
sums = {"default": [0, 0], "policy": [0, 0]}
for r in range(1, rounds + 1):
    d, p = load("default", r), load("policy", r)
    for name, v in (("default", d), ("policy", p)):
        sums[name][0] += v[0]; sums[name][1] += v[2]
    print(f"round {r}: default {d[0]:,.0f} ops/s p99 {d[1]:.2f} ms {d[2]:.1f} us CPU/call (errors {d[3]}) | "
          f"policy {p[0]:,.0f} ops/s p99 {p[1]:.2f} ms {p[2]:.1f} us CPU/call (errors {p[3]}) | "
          f"ops ratio {p[0] / d[0]:.3f}, CPU ratio {d[2] / p[2]:.3f}")
(do, dc), (po, pc) = sums["default"], sums["policy"]
print(f"mean: ops/s policy/default {po / do:.3f}; CPU per call default/policy {dc / pc:.3f} "
      f"({dc / rounds:.1f} / {pc / rounds:.1f} us)")
PY
