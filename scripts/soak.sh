#!/usr/bin/env bash
# Trent's soak test (bench/src/soak/, binary trent-soak): a three-node `trentd dev` cluster kept
# for a bounded time under a signed workload (8 clients, 200 calls/s of Encrypt, Decrypt,
# GenerateDataKey and DescribeKey to random nodes) and four attacks, each on by default:
#
#   large-rows       CreateKey with 8,192-character descriptions and 50 maximal tags, CreateAlias
#                    with 256-character names, Tag/UntagResource churn, UpdateKeyDescription
#   slow-clients     slowloris headers and signed requests whose bodies trickle in (node 3)
#   idle-flood       waves of 5,000 idle TCP connections held 20 s (node 1)
#   unsigned-bodies  400 unsigned 1 MiB - 1 bodies held at 99%, and 10 whole ones a second (node 2)
#
# It checks that no node leaves service (health every 500 ms on a fresh connection, processes
# alive), that every node's peak RSS stays under --max-rss-mib (512), and that the signed calls
# keep --min-success-pct (99) and a p99 under --max-p99-ms (1000); prints the checks and the
# evidence, and writes it as JSON.
#
#   scripts/soak.sh                              300 s, every attack, default bounds
#   scripts/soak.sh --duration 90                the CI length
#   scripts/soak.sh --duration 60 --attacks idle-flood --idle-conns 3000
#   scripts/soak.sh --attacks none               a baseline without attacks
#   (any trent-soak flag passes through; see target/release/trent-soak --help)
#
# The report goes to results/soak-<time>.json unless --json-out is given; a failing run keeps the
# cluster's data directory (node logs) and names it. Exit status: 0 every check passed, 1 a check
# failed, 2 the cluster could not be started. The idle flood needs about 6,500 open files: the
# hard `ulimit -n` must allow it (or lower --idle-conns).
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --quiet -p trent-node --bin trentd
cargo build --release --quiet -p trent-bench --bin trent-soak

args=("$@")
json_given=no
for arg in "${args[@]}"; do
  case "$arg" in
    --json-out | --json-out=*) json_given=yes ;;
  esac
done
if [ "$json_given" = no ]; then
  mkdir -p results
  args+=(--json-out "results/soak-$(date -u +%Y%m%dT%H%M%SZ).json")
fi

exec target/release/trent-soak "${args[@]}"
