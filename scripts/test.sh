#!/usr/bin/env bash
# Runs every test: Rust unit and integration tests (real sled directories, real trentd
# processes on loopback), then the wire-compatibility tests with real boto3 and the aws CLI.
# Creates .venv with the Python clients on first use.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${TRENT_PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
if ! .venv/bin/python -c 'import boto3, pytest, awscli, cryptography, dilithium_py, kyber_py' 2>/dev/null; then
  .venv/bin/pip install --quiet --disable-pip-version-check -r tests/wire/requirements.txt
fi

cargo build --workspace --bins
cargo test --workspace
PATH="$PWD/.venv/bin:$PATH" TRENT_BIN="$PWD/target/debug/trentd" .venv/bin/python -m pytest -q tests/wire
