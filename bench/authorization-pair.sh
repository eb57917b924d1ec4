#!/usr/bin/env bash
# bench/authorization-pair.sh: three alternating pairs of Encrypt 1 KiB runs on one `trentd dev`
# node (release): the admin under the default key policy, and a user with an identity policy
# under a five-statement key policy (bench/policy-setup.py). Prints ops/s, p99 and the ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${TMPDIR:-/tmp}/trent-authbench; rm -rf "$out"; mkdir -p "$out"
export TRENT_DEV_ACCESS_KEY_ID=SUITEADMIN0000000001 TRENT_DEV_SECRET_ACCESS_KEY=suite-secret-access-key
export AWS_ACCESS_KEY_ID=$TRENT_DEV_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY=$TRENT_DEV_SECRET_ACCESS_KEY AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
target/release/trentd dev --nodes 1 --addr 127.0.0.1:19400 --data-dir $out/dev > $out/dev.log 2>&1 &
pid=$!
trap "kill $pid" EXIT
for _ in $(seq 300); do [ -f $out/dev/dev-credentials.json ] && break; sleep 0.1; done
sleep 1
read -r uk us <<<"$(.venv/bin/python bench/policy-setup.py http://127.0.0.1:19400 $out/keys-policy.txt)"
for round in 1 2 3; do
  target/release/trent-bench --quiet --duration 10 --warmup 2 --endpoints http://127.0.0.1:19400 --op encrypt --keys-file $out/keys-1.txt --json-out $out/default-$round.json > /dev/null
  AWS_ACCESS_KEY_ID=$uk AWS_SECRET_ACCESS_KEY=$us target/release/trent-bench --quiet --duration 10 --warmup 2 --endpoints http://127.0.0.1:19400 --op encrypt --keys-file $out/keys-policy.txt --json-out $out/policy-$round.json > /dev/null
done
python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
for r in (1,2,3):
    d=json.load(open(f"{out}/default-{r}.json")); p=json.load(open(f"{out}/policy-{r}.json"))
    print(r, f"default {d['ops_per_sec']:.0f} p99 {d['latency_us']['p99']/1000:.2f}ms errors {d['errors_total']}", f"policy {p['ops_per_sec']:.0f} p99 {p['latency_us']['p99']/1000:.2f}ms errors {p['errors_total']}", f"ratio {p['ops_per_sec']/d['ops_per_sec']:.3f}")
PY
