# Sourced by the bench scripts: `wrk_run LABEL SCRIPT URL` runs wrk with $connections
# connections for $duration seconds and the Lua SCRIPT, prints one summary line (req/s, p50, p99,
# non-2xx) and keeps wrk's full output in $out. `wrk_bench` (below) writes trent-bench-shaped
# JSON results for bench/run-suite and bench/authorization-pair.sh.
wrk_run() { # label script url
  local result
  result=$(wrk -t2 -c"$connections" -d"${duration}s" --latency -s "$2" "$3")
  local rps p50 p99
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$result")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$result")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$result")
  local non2xx
  non2xx=$(awk '/Non-2xx/ {print $5}' <<<"$result")
  printf '%-40s %10s req/s  p50 %8s  p99 %8s  non-2xx %s\n' "$1" "$rps" "$p50" "$p99" "${non2xx:-0}"
  echo "$result" >"$out/$(tr ' /,' '___' <<<"$1").wrk.txt"
}

# wrk_bench NAME LABEL SCRIPT URL [PID] (needs $results, $warmup, $duration and a `fail` function):
# wrk (2 threads, 64 connections) replaying the one signed
# request of SCRIPT (trent-bench --wrk-script) after a warm-up, into results/NAME.json in
# trent-bench's shape. wrk spends far less CPU per call than the server it loads, so these runs
# measure the server (trent-bench signs every call and is as busy as the node). With PID, the
# server's CPU time per call (utime + stime from /proc/PID/stat) is recorded too, and the calls
# the warm-up made (`warmup_ops_total`: what a script counting the server's writes adds).
wrk_bench() {
  local name=$1 label=$2 script=$3 url=$4 pid=${5:-} before=0 after=0
  rm -f "$results/$name.warmup.wrk-out"
  TRENT_WRK_JSON="$results/$name.warmup.wrk-out" wrk -t2 -c64 -d"${warmup}s" -s "$script" "$url" >/dev/null 2>&1 || true
  [ -z "$pid" ] || before=$(cpu_ticks "$pid")
  if ! TRENT_WRK_JSON="$results/$name.wrk-out" wrk -t2 -c64 -d"${duration}s" -s "$script" "$url" \
    >"$results/$name.txt" 2>&1 || [ ! -s "$results/$name.wrk-out" ]; then
    fail "$label, see $results/$name.txt"
    return 0
  fi
  [ -z "$pid" ] || after=$(cpu_ticks "$pid")
  if ! python3 - "$results/$name.wrk-out" "$results/$name.json" "$label" "$((after - before))" "$(getconf CLK_TCK)" "$pid" <<'EOF'
import json, os, sys
raw, out, label, ticks, hz, pid = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
w = json.load(open(raw))
warmup = raw[: -len(".wrk-out")] + ".warmup.wrk-out"
warmup_ops = json.load(open(warmup))["requests"] if os.path.exists(warmup) else None
ops = w["requests"] / (w["duration_us"] / 1e6)
errors = {k: v for k, v in (("non-2xx", w["non_2xx"]), ("socket", w["socket_errors"])) if v}
result = {"setup": {"label": label, "target": "wrk", "load_generator": "wrk -t2 -c64"},
          "ops_per_sec": ops, "ops_total": w["requests"], "latency_us": w["latency_us"],
          "errors": errors, "errors_total": sum(errors.values()), "warmup_ops_total": warmup_ops}
if pid:
    result["server_cpu_us_per_op"] = ticks * 1e6 / hz / max(w["requests"], 1)
json.dump(result, open(out, "w"))
cpu = f"  server CPU {result['server_cpu_us_per_op']:.1f} us/call" if pid else ""
l = w["latency_us"]
print(f"    {label:<44} {ops:>10,.0f} ops/s  p50 {l['p50']/1000:6.2f} ms  p99 {l['p99']/1000:6.2f} ms{cpu}")
# Over 1% of calls failed: the run measured errors, as trent-bench would say.
sys.exit(1 if result["errors_total"] > w["requests"] / 100 else 0)
EOF
  then
    fail "$label: over 1% of calls failed, see $results/$name.txt"
  fi
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
