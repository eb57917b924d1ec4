"""bench/rotation-setup.py ENDPOINT CLOCK_FILE OUT_DIR VERSIONS BLOBS_PER_VERSION ROTATIONS: makes what
the suite's rotation runs need on a one-node dev cluster started with `--test-clock-file CLOCK_FILE`
and a short `--sweep-interval-ms`, signing as its administrator (AWS_ACCESS_KEY_ID /
AWS_SECRET_ACCESS_KEY):

- a key rotated automatically (the test clock moved one rotation period at a time, each rotation
  made by the leader's scheduler as in production) with BLOBS_PER_VERSION blobs of 1 KiB encrypted
  under each of its first VERSIONS material versions, then rotated on to ROTATIONS rotations;
- a key never rotated, with as many blobs under its one version.

Writes OUT_DIR/keys-rotated.txt, OUT_DIR/blobs-versions.txt (base64 blobs over VERSIONS versions),
OUT_DIR/keys-one-version.txt and OUT_DIR/blobs-one-version.txt, and prints what it made.
"""

import base64
import sys
import time

import boto3

PERIOD_DAYS = 90
DAY_MS = 24 * 60 * 60 * 1000
PLAINTEXT = b"\x5a" * 1024


def rotations(kms, key_id):
    count, marker = 0, None
    while True:
        page = kms.list_key_rotations(KeyId=key_id, Limit=1000, **({"Marker": marker} if marker else {}))
        count += len(page.get("Rotations", []))
        if not page.get("Truncated"):
            return count
        marker = page["NextMarker"]


def main():
    endpoint, clock_file, out_dir = sys.argv[1], sys.argv[2], sys.argv[3]
    versions, per_version, total_rotations = (int(arg) for arg in sys.argv[4:7])
    kms = boto3.client("kms", endpoint_url=endpoint, region_name="us-east-1")
    offset_ms = 0
    with open(clock_file, "w") as clock:
        clock.write("0")

    def encrypt(key_id, count):
        return [
            base64.b64encode(kms.encrypt(KeyId=key_id, Plaintext=PLAINTEXT)["CiphertextBlob"]).decode()
            for _ in range(count)
        ]

    rotated = kms.create_key(Description="trent-bench rotation: many versions")["KeyMetadata"]["KeyId"]
    kms.enable_key_rotation(KeyId=rotated, RotationPeriodInDays=PERIOD_DAYS)
    blobs = []
    started = time.monotonic()
    for done in range(total_rotations + 1):
        if done < versions:
            blobs.extend(encrypt(rotated, per_version))
        if done == total_rotations:
            break
        # One period and a minute on: the scheduler finds the key due and rotates it once.
        offset_ms += PERIOD_DAYS * DAY_MS + 60_000
        with open(clock_file, "w") as clock:
            clock.write(str(offset_ms))
        deadline = time.monotonic() + 30
        while rotations(kms, rotated) < done + 1:
            if time.monotonic() > deadline:
                sys.exit(f"rotation {done + 1} of {rotated} did not happen within 30 s")
            time.sleep(0.01)
    took = time.monotonic() - started
    with open(f"{out_dir}/keys-rotated.txt", "w") as keys:
        keys.write(rotated + "\n")
    with open(f"{out_dir}/blobs-versions.txt", "w") as out:
        out.write("\n".join(blobs) + "\n")

    single = kms.create_key(Description="trent-bench rotation: one version")["KeyMetadata"]["KeyId"]
    with open(f"{out_dir}/keys-one-version.txt", "w") as keys:
        keys.write(single + "\n")
    with open(f"{out_dir}/blobs-one-version.txt", "w") as out:
        out.write("\n".join(encrypt(single, len(blobs))) + "\n")
    print(
        f"{rotated}: {rotations(kms, rotated)} rotations ({took:.1f} s), {len(blobs)} blobs over "
        f"{versions} versions; {single}: {len(blobs)} blobs under one version"
    )


if __name__ == "__main__":
    main()
