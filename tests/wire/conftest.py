"""Fixtures for the wire-compatibility tests: a Trent endpoint and boto3 KMS clients for it.

The endpoint comes from ``TRENT_ENDPOINT`` when set. Otherwise a throwaway single-node cluster is
started with ``trentd dev`` on a free loopback port (binary from ``TRENT_BIN``, else the newer
of ``target/release/trentd`` and ``target/debug/trentd``), waited on until it has a leader, and
stopped with SIGTERM when the session ends.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import base64

import boto3
import botocore.client
import pytest
from botocore.config import Config

REPO_ROOT = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
ACCOUNT_ID = "111122223333"
# `trentd dev` puts a node's peer port this far above its client port.
PEER_PORT_OFFSET = 1000
STARTUP_TIMEOUT_S = 30.0
# The dev cluster's administrator, chosen through TRENT_DEV_ACCESS_KEY_ID / _SECRET_ACCESS_KEY;
# with TRENT_ENDPOINT, the caller's AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY are used instead.
ACCESS_KEY_ID = os.environ.get("AWS_ACCESS_KEY_ID", "TRENTWIRETESTS") if os.environ.get("TRENT_ENDPOINT") else "TRENTWIRETESTS"
SECRET_ACCESS_KEY = (
    os.environ.get("AWS_SECRET_ACCESS_KEY", "wire-tests-secret-0123456789")
    if os.environ.get("TRENT_ENDPOINT")
    else "wire-tests-secret-0123456789"
)
SHUTDOWN_TIMEOUT_S = 10.0

# Every secret a boto3 call of this session sent or received (plaintexts, data keys, ciphertext
# blobs, signatures, MACs, private keys, import material and tokens, shared secrets), recorded by
# a wrapper around botocore's one call path, so the session can check at its end that none of
# them reached the node's audit log.
SECRET_FIELDS = {
    "Plaintext", "CiphertextBlob", "Message", "Signature", "Mac", "ImportToken", "EncryptedKeyMaterial",
    "PrivateKeyPlaintext", "PrivateKeyCiphertextBlob", "SharedSecret", "CiphertextForRecipient",
    "Ciphertext", "SourceCiphertextBlob",
}
# Shorter values could match a record by chance (`eA==` is in many base64 strings).
MIN_SECRET_BYTES = 8
SEEN_SECRETS: set[bytes] = set()


def is_searchable(value: bytes) -> bool:
    """Whether finding `value` in a record means it leaked: long enough, and not a run of a few
    byte values (`b"t" * 64`, a test's dummy token, is also what a refused request's message
    quotes of another field, and 64 zeros is the first record's previousHash)."""
    return len(value) >= MIN_SECRET_BYTES and len(set(value)) >= 4


def _remember_secrets(value) -> None:
    if isinstance(value, dict):
        for name, inner in value.items():
            if name in SECRET_FIELDS and isinstance(inner, (bytes, bytearray)) and is_searchable(inner):
                SEEN_SECRETS.add(bytes(inner))
            else:
                _remember_secrets(inner)
    elif isinstance(value, list):
        for inner in value:
            _remember_secrets(inner)


_make_api_call = botocore.client.BaseClient._make_api_call


def _recording_api_call(self, operation_name, api_params):
    _remember_secrets(api_params)
    result = _make_api_call(self, operation_name, api_params)
    _remember_secrets(result)
    return result


botocore.client.BaseClient._make_api_call = _recording_api_call


def audit_secret_leaks(data_dir: Path) -> list[str]:
    """Which of the session's secrets appear in any audit file under `data_dir` (raw or in
    base64), and how many records were searched."""
    blobs = [path.read_bytes() for path in data_dir.rglob("audit-*.jsonl")]
    if not blobs:
        return ["no audit file was written at all"]
    everything = b"".join(blobs)
    leaks = []
    for secret in SEEN_SECRETS:
        for form in (base64.b64encode(secret), secret if len(secret) >= 12 else None):
            if form and form in everything:
                leaks.append(f"{form[:24]!r}… ({len(secret)} bytes)")
    return leaks


def trentd_binary() -> Path:
    if os.environ.get("TRENT_BIN"):
        return Path(os.environ["TRENT_BIN"])
    # The newer of the two builds, so a stale release binary does not shadow a fresh debug one.
    built = [REPO_ROOT / "target" / profile / "trentd" for profile in ("release", "debug")]
    built = [path for path in built if path.exists()]
    if not built:
        pytest.fail("no trentd binary: build it with `cargo build --bin trentd` or set TRENT_BIN")
    return max(built, key=lambda path: path.stat().st_mtime)


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port_pair() -> int:
    """A client port whose peer port (`+1000`) is free as well."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        if port + PEER_PORT_OFFSET < 65536 and port_is_free(port + PEER_PORT_OFFSET):
            return port
    pytest.fail("no free pair of loopback ports")


def health(endpoint: str):
    """The node's health document, or None while it does not answer."""
    try:
        with urllib.request.urlopen(f"{endpoint}/v1/sys/health", timeout=2) as response:
            return json.load(response)
    except (urllib.error.URLError, ConnectionError, TimeoutError, ValueError):
        return None


def stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=SHUTDOWN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="session")
def endpoint(tmp_path_factory):
    if os.environ.get("TRENT_ENDPOINT"):
        yield os.environ["TRENT_ENDPOINT"].rstrip("/")
        return

    workdir = tmp_path_factory.mktemp("trentd")
    port = free_port_pair()
    url = f"http://127.0.0.1:{port}"
    log_path = workdir / "trentd.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [str(trentd_binary()), "dev", "--addr", f"127.0.0.1:{port}", "--data-dir", str(workdir / "data")],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={
                **os.environ,
                "TRENT_DEV_ACCESS_KEY_ID": ACCESS_KEY_ID,
                "TRENT_DEV_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
            },
        )
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            if process.poll() is not None:
                pytest.fail(f"trentd exited with {process.returncode}:\n{log_path.read_text()}")
            status = health(url)
            if status is not None and status.get("leader_id") is not None and not status.get("sealed"):
                break
            if time.monotonic() > deadline:
                pytest.fail(f"trentd has no leader after {STARTUP_TIMEOUT_S} s:\n{log_path.read_text()}")
            time.sleep(0.1)
        yield url
    finally:
        stop(process)
    # After the whole session: no secret any test sent or received is in any audit record.
    leaks = audit_secret_leaks(workdir / "data")
    assert not leaks, f"secrets in the audit log ({len(SEEN_SECRETS)} checked): {leaks}"
    print(f"\naudit log: none of the session's {len(SEEN_SECRETS)} secrets is in it")


def kms_client(endpoint: str, **config):
    return boto3.client(
        "kms",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY_ID,
        aws_secret_access_key=SECRET_ACCESS_KEY,
        # No retries: a test must see the first answer, not a retried one.
        config=Config(retries={"mode": "standard", "total_max_attempts": 1}, **config),
    )


@pytest.fixture(scope="session")
def kms(endpoint):
    """A boto3 KMS client with botocore's own parameter validation, as users run it."""
    return kms_client(endpoint)


@pytest.fixture(scope="session")
def raw_kms(endpoint):
    """A boto3 KMS client that sends out-of-range values, so the server's checks are exercised."""
    return kms_client(endpoint, parameter_validation=False)


def aws_cli() -> str | None:
    """The aws CLI on PATH, else the one installed next to this interpreter (.venv/bin/aws)."""
    found = shutil.which("aws")
    if found:
        return found
    beside = Path(sys.executable).parent / "aws"
    return str(beside) if beside.exists() else None


def aws_cli_env(scratch: Path) -> dict:
    """The environment for running the aws CLI as the test administrator: the user's own
    configuration, credentials, profile and endpoint settings are kept out of the test."""
    env = dict(os.environ)
    env.update(
        AWS_ACCESS_KEY_ID=ACCESS_KEY_ID,
        AWS_SECRET_ACCESS_KEY=SECRET_ACCESS_KEY,
        AWS_DEFAULT_REGION=REGION,
        AWS_REGION=REGION,
        AWS_CONFIG_FILE=str(scratch / "config"),
        AWS_SHARED_CREDENTIALS_FILE=str(scratch / "credentials"),
        AWS_PAGER="",
    )
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_KMS"):
        env.pop(name, None)
    return env
