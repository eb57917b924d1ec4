#!/usr/bin/env bash
# bench/audit-pair.sh [ROUNDS] [SECONDS]: what the audit trail costs, measured on the server:
# two `trentd dev` nodes (release) of the same build, one keeping its audit trail and one started
# with the hidden `--unaudited-bench-only`, and alternating rounds (default 4 of 10 s) of
# Encrypt 1 KiB against each, driven by wrk replaying one signed request (wrk -t2 -c64). Prints
# each round's ops/s, p50/p99 and the node's CPU time per call, then the mean ratios and the
# bytes the audited node's log grew by per call served. Speed is reported, not asserted: the
# script fails only when calls fail. bench/callgrind.sh (TRENT_CALLGRIND_AUDIT=1) counts the
# same difference in instructions, which no other load on the machine disturbs.
#
# The data directories must be on a real disk, or the fsync of each batch costs nothing: they
# go under $TRENT_AUDIT_BENCH_DIR (default ${TMPDIR:-/tmp}/trent-auditbench), and the script
# says which filesystem that is (and warns on tmpfs). Needs wrk.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-4}
seconds=${2:-10}
out=${TRENT_AUDIT_BENCH_DIR:-${TMPDIR:-/tmp}/trent-auditbench}
rm -rf "$out"
mkdir -p "$out"
fstype=$(df --output=fstype "$out" | tail -1 | tr -d ' ')
echo "data directories in $out ($fstype, $(df --output=source "$out" | tail -1 | tr -d ' '))"
case "$fstype" in
  tmpfs | ramfs) echo "WARNING: $out is on $fstype: fsync costs nothing there; set TRENT_AUDIT_BENCH_DIR to a real disk" >&2 ;;
esac
export TRENT_DEV_ACCESS_KEY_ID=SUITEADMIN0000000001 TRENT_DEV_SECRET_ACCESS_KEY=suite-secret-access-key
export AWS_ACCESS_KEY_ID=$TRENT_DEV_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY=$TRENT_DEV_SECRET_ACCESS_KEY AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
audited=http://127.0.0.1:19450 unaudited=http://127.0.0.1:19460
target/release/trentd dev --nodes 1 --addr 127.0.0.1:19450 --data-dir "$out/audited" >"$out/audited.log" 2>&1 &
on_pid=$!
target/release/trentd dev --nodes 1 --addr 127.0.0.1:19460 --data-dir "$out/unaudited" --unaudited-bench-only \
  >"$out/unaudited.log" 2>&1 &
off_pid=$!
trap 'kill $on_pid $off_pid 2>/dev/null || true; wait $on_pid $off_pid 2>/dev/null || true' EXIT
for dir in audited unaudited; do
  for _ in $(seq 300); do [ -f "$out/$dir/dev-credentials.json" ] && break; sleep 0.1; done
  [ -f "$out/$dir/dev-credentials.json" ] || { echo "the $dir node did not start; see $out/$dir.log" >&2; exit 1; }
done
target/release/trent-bench --endpoints $audited --op encrypt --keys 1 --plaintext-bytes 1024 \
  --wrk-script "$out/audited.lua" >/dev/null
target/release/trent-bench --endpoints $unaudited --op encrypt --keys 1 --plaintext-bytes 1024 \
  --wrk-script "$out/unaudited.lua" >/dev/null
log_dir=$out/audited/node-1/audit
# log_bytes: the audited node's log files, in bytes. io PID: its write syscalls and the bytes it
# dirtied for storage (/proc/PID/io), "syscw write_bytes".
log_bytes() { find "$log_dir" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}'; }
io() { awk '$1 == "syscw:" {c = $2} $1 == "write_bytes:" {b = $2} END {print c, b}' "/proc/$1/io"; }
# writer_ticks: the CPU time (utime + stime, clock ticks) of the audited node's audit-writer
# thread, which encodes, chains, writes and syncs every batch.
writer_tid=$(grep -lx audit-writer /proc/$on_pid/task/*/comm | head -1 | cut -d/ -f5)
writer_ticks() { awk '{print $14 + $15}' "/proc/$on_pid/task/$writer_tid/stat"; }
bytes_before=$(log_bytes)
writer_before=$(writer_ticks)
read -r on_io_before < <(io $on_pid)
read -r off_io_before < <(io $off_pid)

# wrk_bench (bench/wrk-run.sh) writes each round to $results/NAME.json with the node's CPU per call.
results=$out warmup=2 duration=$seconds
failed=0
fail() { echo "FAILED: $*" >&2; failed=1; }
. bench/wrk-run.sh
for round in $(seq "$rounds"); do
  wrk_bench "on-$round" "audited, round $round" "$out/audited.lua" "$audited/" "$on_pid"
  wrk_bench "off-$round" "unaudited, round $round" "$out/unaudited.lua" "$unaudited/" "$off_pid"
done
bytes_after=$(log_bytes)
writer_after=$(writer_ticks)
read -r on_io_after < <(io $on_pid)
read -r off_io_after < <(io $off_pid)
records=$(cat "$log_dir"/*.jsonl | wc -l)
python3 - "$out" "$rounds" "$bytes_before" "$bytes_after" "$records" \
  "$on_io_before" "$on_io_after" "$off_io_before" "$off_io_after" "$((writer_after - writer_before))" "$(getconf CLK_TCK)" <<'PY'
import json, os, sys
out, rounds, before, after, records = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
io = [tuple(map(int, text.split())) for text in sys.argv[6:10]]
writer_ticks, hz = int(sys.argv[10]), int(sys.argv[11])
def load(name, r):
    path = f"{out}/{name}-{r}.json"
    return json.load(open(path)) if os.path.exists(path) else None
def line(w):
    l = w["latency_us"]
    return (f"{w['ops_per_sec']:,.0f} ops/s p50 {l['p50'] / 1000:.2f} ms p99 {l['p99'] / 1000:.2f} ms "
            f"{w['server_cpu_us_per_op']:.1f} us CPU/call (errors {w['errors_total']})")
pairs = [(load("on", r), load("off", r)) for r in range(1, rounds + 1)]
pairs = [(r, on, off) for r, (on, off) in enumerate(pairs, 1) if on and off]
if not pairs:
    sys.exit("no round completed on both nodes")
for r, on, off in pairs:
    print(f"round {r}: audited {line(on)} | unaudited {line(off)} | ops on/off {on['ops_per_sec'] / off['ops_per_sec']:.3f}, "
          f"p99 on-off {(on['latency_us']['p99'] - off['latency_us']['p99']) / 1000:+.2f} ms, "
          f"CPU/call on/off {on['server_cpu_us_per_op'] / off['server_cpu_us_per_op']:.3f}")
def mean(side, get):
    return sum(get(p[side]) for p in pairs) / len(pairs)
ops_on, ops_off = mean(1, lambda w: w["ops_per_sec"]), mean(2, lambda w: w["ops_per_sec"])
p99_on, p99_off = mean(1, lambda w: w["latency_us"]["p99"]), mean(2, lambda w: w["latency_us"]["p99"])
p50_on, p50_off = mean(1, lambda w: w["latency_us"]["p50"]), mean(2, lambda w: w["latency_us"]["p50"])
cpu_on, cpu_off = mean(1, lambda w: w["server_cpu_us_per_op"]), mean(2, lambda w: w["server_cpu_us_per_op"])
print(f"mean of {len(pairs)} rounds: audited {ops_on:,.0f} ops/s p50 {p50_on / 1000:.2f} ms p99 {p99_on / 1000:.2f} ms "
      f"{cpu_on:.1f} us CPU/call | unaudited {ops_off:,.0f} ops/s p50 {p50_off / 1000:.2f} ms p99 {p99_off / 1000:.2f} ms "
      f"{cpu_off:.1f} us CPU/call")
print(f"mean: throughput audited/unaudited {ops_on / ops_off:.3f} (target >= 0.85); "
      f"p99 audited - unaudited {(p99_on - p99_off) / 1000:+.2f} ms (target < 1 ms); "
      f"CPU per call audited/unaudited {cpu_on / cpu_off:.3f}")
# Every call the audited node served in the rounds, warm-ups included, left one record.
calls = sum(w["ops_total"] + (w.get("warmup_ops_total") or 0) for _, w, _ in pairs)
calls_off = sum(w["ops_total"] + (w.get("warmup_ops_total") or 0) for _, _, w in pairs)
print(f"audit log: {after - before:,} bytes for {calls:,} calls = {(after - before) / calls:.1f} bytes per audited Encrypt "
      f"({after:,} bytes in {records:,} lines in all: {after / max(records, 1):.1f} per line)")
print(f"the audit-writer thread: {writer_ticks * 1e6 / hz / calls:.1f} us CPU per call (warm-ups included)")
(on_w0, on_b0), (on_w1, on_b1), (off_w0, off_b0), (off_w1, off_b1) = io
print(f"/proc/PID/io per call: audited {(on_w1 - on_w0) / calls:.3f} write syscalls, {(on_b1 - on_b0) / calls:.0f} bytes dirtied "
      f"for storage | unaudited {(off_w1 - off_w0) / calls_off:.3f} write syscalls, {(off_b1 - off_b0) / calls_off:.0f} bytes")
# The writer appends each batch with one write (and syncs it once), and extends the file with
# zeros one 4 KiB write per 4 KiB of log: the extra write syscalls per call, less those, are one
# per batch, so their inverse is the mean batch.
extra = (on_w1 - on_w0) / calls - (off_w1 - off_w0) / calls_off - (after - before) / calls / 4096
if extra > 0:
    print(f"so about {1 / extra:.1f} records per batch (one write and one fdatasync each)")
PY
exit $failed
