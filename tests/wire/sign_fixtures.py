#!/usr/bin/env python3
"""Signs requests with real SigV4 clients and writes them as fixtures for trent-sigv4's tests.

botocore: KMS calls made through a real boto3 client (captured at ``before-send``, so the bytes are
exactly what would go on the wire) and requests signed directly with ``SigV4Auth`` to cover paths,
query strings, the ``Date`` header, repeated headers and ``X-Amz-Content-SHA256``. The clock is
frozen, so only unsigned headers (``amz-sdk-invocation-id``, ``User-Agent``) change between runs.
Writes ``sigv4/tests/data/sigv4/botocore_kms.json``.

curl (``--curl``): runs ``curl --aws-sigv4`` against a loopback socket that records the raw request.
curl signs with the current time, so the output changes on every run; writes
``sigv4/tests/data/sigv4/curl_kms.json``. A fixture with ``expect`` must fail with that error.

    /tmp/venv/bin/python tests/wire/sign_fixtures.py [--curl]
"""

import argparse
import datetime
import json
import socket
import subprocess
import threading
from pathlib import Path
from unittest import mock
from urllib.parse import urlsplit

import boto3
import botocore
import botocore.auth
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

REPO_ROOT = Path(__file__).resolve().parents[2]
OUT_DIR = REPO_ROOT / "sigv4" / "tests" / "data" / "sigv4"
ACCESS_KEY_ID = "AKIDTRENTFIXTURE0001"
SECRET_ACCESS_KEY = "trentFixtureSecret/0123+abcdefghijklmnopqrst"
REGION = "us-east-1"
SERVICE = "kms"
FROZEN_NOW = datetime.datetime(2024, 1, 15, 10, 20, 30)


class Captured(Exception):
    """Raised from ``before-send`` to stop a boto3 call once its request is recorded."""

    def __init__(self, request):
        super().__init__("captured")
        self.request = request


def as_fixture(name, method, url, headers, body, now):
    parts = urlsplit(url)
    header_list = [
        [key, value.decode("utf-8") if isinstance(value, bytes) else value] for key, value in headers.items()
    ]
    if not any(key.lower() == "host" for key, _ in header_list):
        # botocore signs the host it derives from the URL; urllib3 then sends the same value.
        header_list.insert(0, ["Host", botocore.auth._host_from_url(url)])
    if isinstance(body, bytes):
        body = body.decode("utf-8")
    return {
        "name": name,
        "now": now,
        "method": method,
        "path": parts.path,
        "query": parts.query,
        "headers": header_list,
        "body": body or "",
    }


def boto3_calls():
    session = boto3.session.Session(
        aws_access_key_id=ACCESS_KEY_ID, aws_secret_access_key=SECRET_ACCESS_KEY, region_name=REGION
    )
    calls = [
        ("boto3-list-keys", "https://kms.us-east-1.amazonaws.com", "list_keys", {}),
        (
            "boto3-encrypt-loopback-port",
            "http://127.0.0.1:7070",
            "encrypt",
            {
                "KeyId": "alias/trent-fixture",
                "Plaintext": b"not really secret",
                "EncryptionContext": {"purpose": "sigv4 fixture", "spaces": "a  b"},
            },
        ),
        ("boto3-describe-key", "http://localhost:8080", "describe_key", {"KeyId": "1234abcd-12ab-34cd"}),
    ]
    fixtures = []
    for name, endpoint, operation, params in calls:
        client = session.client("kms", endpoint_url=endpoint)

        def capture(request, **_):
            raise Captured(request)

        client.meta.events.register("before-send.kms", capture)
        try:
            getattr(client, operation)(**params)
        except Captured as captured:
            request = captured.request
            fixtures.append(
                as_fixture(name, request.method, request.url, request.headers, request.body, stamp())
            )
    return fixtures


def sigv4_direct():
    credentials = Credentials(ACCESS_KEY_ID, SECRET_ACCESS_KEY)
    json_headers = {
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": "TrentService.ListAliases",
    }
    cases = [
        ("sigv4-post-query-string", "POST", "https://kms.us-east-1.amazonaws.com/?b=2&a=1&a=0&flag&name=x%2Fy%20z",
         json_headers, b'{"Limit": 10}'),
        ("sigv4-get-admin-path", "GET", "http://127.0.0.1:7070/v1/sys/status", {}, b""),
        ("sigv4-get-encoded-path", "GET", "http://127.0.0.1:7070/v1/keys/alias%2Fmy%20key/tags", {}, b""),
        ("sigv4-get-dot-segments", "GET", "http://127.0.0.1:7070/v1/./keys//../sys/status/", {}, b""),
        ("sigv4-post-date-header", "POST", "https://kms.us-east-1.amazonaws.com/",
         {**json_headers, "Date": "placeholder, replaced by botocore"}, b"{}"),
        ("sigv4-post-content-sha256", "POST", "https://kms.us-east-1.amazonaws.com/",
         {**json_headers, "X-Amz-Content-SHA256": "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"},
         b"{}"),
    ]
    fixtures = []
    for name, method, url, headers, body in cases:
        request = AWSRequest(method=method, url=url, headers=headers, data=body)
        SigV4Auth(credentials, SERVICE, REGION).add_auth(request)
        fixtures.append(as_fixture(name, method, url, request.headers, body, stamp()))

    # Repeated headers and messy whitespace: botocore trims and joins them with commas.
    request = AWSRequest(method="POST", url="https://kms.us-east-1.amazonaws.com/", data=b"{}")
    for key, value in json_headers.items():
        request.headers[key] = value
    request.headers["X-Trent-Note"] = "  first   value "
    request.headers["X-Trent-Note"] = "second\tvalue"
    SigV4Auth(credentials, SERVICE, REGION).add_auth(request)
    fixtures.append(as_fixture("sigv4-repeated-header", "POST", request.url, request.headers, b"{}", stamp()))
    return fixtures


def stamp():
    return FROZEN_NOW.strftime("%Y%m%dT%H%M%SZ")


def botocore_fixtures():
    with mock.patch("botocore.auth.get_current_datetime", return_value=FROZEN_NOW):
        requests = boto3_calls() + sigv4_direct()
    return {
        "generator": f"botocore {botocore.__version__} (boto3 {boto3.__version__}), tests/wire/sign_fixtures.py",
        "access_key_id": ACCESS_KEY_ID,
        "secret_access_key": SECRET_ACCESS_KEY,
        "region": REGION,
        "service": SERVICE,
        "requests": requests,
    }


def capture_one_request(server):
    connection, _ = server.accept()
    with connection:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = connection.recv(65536)
            if not chunk:
                break
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            key, _, value = line.partition(b":")
            if key.strip().lower() == b"content-length":
                length = int(value.strip())
        while len(body) < length:
            body += connection.recv(65536)
        connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    return head.decode("latin-1"), body.decode("utf-8")


def curl_fixtures():
    # (name, target, extra curl arguments, expected error or None, note)
    cases = [
        ("curl-get-admin-path", "/v1/sys/status", [], None, None),
        ("curl-post-kms-json", "/", ["-H", "Content-Type: application/x-amz-json-1.1",
                                     "-H", "X-Amz-Target: TrentService.ListKeys", "--data-raw", "{}"], None, None),
        ("curl-get-sorted-query", "/v1/keys?a=1&b=2", [], None, None),
        ("curl-get-unsorted-query", "/v1/keys?b=2&a=1", [], "InvalidSignatureException",
         "curl 7.88 signs the query in the order given, not sorted as SigV4 requires, so AWS would reject it too"),
    ]
    version = subprocess.run(["curl", "--version"], capture_output=True, text=True, check=True).stdout.split("\n")[0]
    fixtures = []
    for name, target, extra, expect, note in cases:
        server = socket.socket()
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        result = {}
        thread = threading.Thread(target=lambda: result.update(raw=capture_one_request(server)))
        thread.start()
        subprocess.run(
            ["curl", "-sS", "-o", "/dev/null", "--aws-sigv4", f"aws:amz:{REGION}:{SERVICE}",
             "--user", f"{ACCESS_KEY_ID}:{SECRET_ACCESS_KEY}", *extra, f"http://127.0.0.1:{port}{target}"],
            check=True,
        )
        thread.join()
        server.close()
        head, body = result["raw"]
        request_line, *header_lines = head.split("\r\n")
        method, raw_target, _ = request_line.split(" ")
        path, _, query = raw_target.partition("?")
        headers = [list(map(str.strip, line.split(":", 1))) for line in header_lines]
        now = next(value for key, value in headers if key.lower() == "x-amz-date")
        fixture = {"name": name, "now": now, "method": method, "path": path, "query": query,
                   "headers": headers, "body": body}
        if expect:
            fixture.update(expect=expect, note=note)
        fixtures.append(fixture)
    return {
        "generator": f"{version}, tests/wire/sign_fixtures.py --curl",
        "access_key_id": ACCESS_KEY_ID,
        "secret_access_key": SECRET_ACCESS_KEY,
        "region": REGION,
        "service": SERVICE,
        "requests": fixtures,
    }


def write(name, fixtures):
    path = OUT_DIR / name
    path.write_text(json.dumps(fixtures, indent=2) + "\n")
    print(f"wrote {len(fixtures['requests'])} requests to {path.relative_to(REPO_ROOT)}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--curl", action="store_true", help="also capture curl --aws-sigv4 requests")
    args = parser.parse_args()
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    write("botocore_kms.json", botocore_fixtures())
    if args.curl:
        write("curl_kms.json", curl_fixtures())


if __name__ == "__main__":
    main()
