#!/usr/bin/env bash
# Runs the trent-node fuzz targets (cargo fuzz / libFuzzer, node/fuzz) one after another, each
# for SECONDS (default 60), and prints what each run did: executions, exec/s, corpus size and
# crashes. See docs/fuzzing.md.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]      # default: every target (ciphertext_blob kms_dispatch
#                                              # admin_api peer_protocol policy_evaluation
#                                              # key_spec_inputs)
#
# Needs a nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`). Environment:
#   FUZZ_NICE=10        niceness of the fuzzing process (0 to disable)
#   FUZZ_ARGS=...       extra libFuzzer arguments for every target (e.g. -rss_limit_mb=4096)
#   TRENT_FUZZ_*        passed through to the targets (see docs/fuzzing.md), e.g.
#                       TRENT_FUZZ_PEER_SKIP_OVERSIZED=1 to look past the known peer decoding finding
#   FUZZ_PREBUILT=1     do not build: run the binaries the last build left (in FUZZ_BIN_DIR,
#                       default node/fuzz/target/<host>/release) directly, e.g. while someone is
#                       editing node/src and it does not compile at the moment
#
# Each target fuzzes with the committed seeds in node/fuzz/corpus/<target>/ as read-only input
# and writes what it finds to node/fuzz/target/corpus/<target>/ (kept between runs), so the
# repository is not flooded with generated units. Crash inputs go to
# node/fuzz/artifacts/<target>/; logs to node/fuzz/target/logs/<target>.log.
set -euo pipefail
cd "$(dirname "$0")/../node"

seconds=${1:-60}
if [ $# -gt 0 ]; then shift; fi
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(ciphertext_blob kms_dispatch admin_api peer_protocol policy_evaluation key_spec_inputs)
fi
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -eq 0 ]; then
  echo "usage: $0 [SECONDS] [TARGET...]" >&2
  exit 2
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  echo "cargo-fuzz is missing: rustup toolchain install nightly && cargo install cargo-fuzz" >&2
  exit 2
fi

nice_level=${FUZZ_NICE:-10}
prebuilt=${FUZZ_PREBUILT:-0}
host=$(rustc +nightly -vV | sed -n 's/^host: //p')
bin_dir=${FUZZ_BIN_DIR:-fuzz/target/$host/release}
# shellcheck disable=SC2206
extra_args=(${FUZZ_ARGS:-})
build_dir=fuzz/target
mkdir -p "$build_dir/logs"

# Build every target first so that the timed runs only fuzz.
for target in "${targets[@]}"; do
  if [ "$prebuilt" != 0 ]; then
    if [ ! -x "$bin_dir/$target" ]; then
      echo "FUZZ_PREBUILT: no $bin_dir/$target; build it first" >&2
      exit 2
    fi
    continue
  fi
  echo "=== building $target"
  if ! nice -n "$nice_level" cargo +nightly fuzz build "$target" >"$build_dir/logs/$target.build.log" 2>&1; then
    tail -n 40 "$build_dir/logs/$target.build.log" >&2
    exit 1
  fi
done

summary=()
status=0
for target in "${targets[@]}"; do
  work="$build_dir/corpus/$target"
  seeds="fuzz/corpus/$target"
  artifacts="fuzz/artifacts/$target"
  log="$build_dir/logs/$target.log"
  mkdir -p "$work" "$seeds" "$artifacts"
  crashes_before=$(find "$artifacts" -type f | wc -l)

  args=(-max_total_time="$seconds" -workers=1 -print_final_stats=1 -timeout=60)
  case "$target" in
    # The targets that drive a live node: its background threads allocate while an input runs,
    # which libFuzzer's per-input leak check would chase on every such input.
    kms_dispatch)
      args+=(-dict=fuzz/kms.dict -detect_leaks=0)
      ;;
    admin_api)
      args+=(-dict=fuzz/admin.dict -detect_leaks=0)
      ;;
    peer_protocol)
      # The seeds include a 257-write batch (9 KB); let the fuzzer grow inputs that large.
      args+=(-detect_leaks=0 -max_len=16384)
      ;;
  esac
  args+=("${extra_args[@]}")

  echo "=== $target: ${seconds}s (log: node/$log)"
  if [ "$prebuilt" != 0 ]; then
    # What `cargo fuzz run` runs, without the build in front of it.
    run=(env ASAN_OPTIONS=detect_odr_violation=0 "$bin_dir/$target" -artifact_prefix="$PWD/$artifacts/"
      "${args[@]}" "$work" "$seeds")
  else
    run=(cargo +nightly fuzz run "$target" "$work" "$seeds" -- "${args[@]}")
  fi
  set +e
  nice -n "$nice_level" "${run[@]}" 2>&1 | tee "$log" |
    grep --line-buffered -E '^#[0-9]+[[:space:]]+(INITED|DONE)|^(kms_dispatch|admin_api|peer_protocol):|ERROR|panicked|memory allocation|^==[0-9]+==|^SUMMARY|Test unit written|^stat::'
  rc=${PIPESTATUS[0]}
  set -e

  execs=$(awk '/^stat::number_of_executed_units:/ {print $2}' "$log" | tail -n 1)
  per_sec=$(awk '/^stat::average_exec_per_sec:/ {print $2}' "$log" | tail -n 1)
  last=$(grep -E '^#[0-9]+' "$log" | tail -n 1 || true)
  corpus=$(sed -nE 's/.* corp: ([0-9]+)\/([^ ]+).*/\1 (\2)/p' <<<"$last")
  cov=$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$last")
  crashes=$(($(find "$artifacts" -type f | wc -l) - crashes_before))
  if [ "$rc" -ne 0 ]; then
    status=1
    echo "!!! $target exited with $rc; see node/$log and node/$artifacts/"
  fi
  summary+=("$(printf '%-16s %6ss %12s execs %8s exec/s  cov %6s  corpus %-14s  new crashes %s  rc %s' \
    "$target" "$seconds" "${execs:-?}" "${per_sec:-?}" "${cov:-?}" "${corpus:-?}" "$crashes" "$rc")")
done

echo
echo "=== summary"
printf '%s\n' "${summary[@]}"
exit "$status"
