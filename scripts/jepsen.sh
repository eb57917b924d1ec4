#!/usr/bin/env bash
# Trent's fault harness (jepsen/, docs/jepsen.md): a three-node cluster in network namespaces,
# partitions, crashes, pauses and rolling restarts, checked for lost keys and ciphertexts,
# linearizable key state, the revocation bound and split brain. Needs root, `ip` and `iptables`.
#
#   scripts/jepsen.sh ci     one 2-minute schedule with every nemesis (fixed seed; must be valid),
#                            then the same harness against a trentd built with the planted bug
#                            (acknowledges EnableKey/DisableKey before commit; must be caught)
#   scripts/jepsen.sh long   ten 5-minute schedules with every nemesis (seeds 101–110)
#   scripts/jepsen.sh run …  trent-jepsen with your own flags (see trent-jepsen --help)
#
# Results (history.jsonl, report.md, report.json, node logs) go to results/<time>-seed<seed>/.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-ci}
[ "$#" -gt 0 ] && shift

cargo build --release --quiet -p trent-node --bin trentd
cargo build --release --quiet -p trent-jepsen --bin trent-jepsen
jepsen=target/release/trent-jepsen

case "$mode" in
  ci)
    "$jepsen" --seed 20261129 --duration 120 --results results/ci
    # The planted bug is only allowed in a debug build (compile_error! in release).
    cargo build --quiet -p trent-node --bin trentd --features jepsen-planted-bug --target-dir target/planted
    status=0
    "$jepsen" --trentd target/planted/debug/trentd --seed 7 --duration 60 --nemesis partition,kill \
      --split-brain-sample 50 --results results/planted > results/planted.md || status=$?
    if [ "$status" -ne 1 ]; then
      echo "jepsen: the planted bug was NOT caught (exit $status; expected 1 = anomalies)" >&2
      cat results/planted.md >&2
      exit 1
    fi
    echo "jepsen: the planted bug was caught:" >&2
    sed -n '/^## Anomalies/,/^###/p' results/planted.md | head -12 >&2
    ;;
  long)
    "$jepsen" --seed 101 --schedules 10 --duration 300 --results results/long "$@"
    ;;
  run)
    "$jepsen" "$@"
    ;;
  *)
    echo "usage: scripts/jepsen.sh [ci|long|run …]" >&2
    exit 2
    ;;
esac
