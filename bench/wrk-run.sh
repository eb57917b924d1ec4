# Sourced by the bench scripts: `wrk_run LABEL SCRIPT URL` runs wrk with $connections
# connections for $duration seconds and the Lua SCRIPT, prints one summary line (req/s, p50, p99,
# non-2xx) and keeps wrk's full output in $out.
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
