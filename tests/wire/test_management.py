"""The KMS management operations through real AWS clients (boto3 and the aws CLI) against a running
Trent node: responses parse, pagination works, and errors surface as the SDK's exception classes.

The node is shared by the whole session, so every test names its own keys and aliases and never
assumes the cluster is empty.
"""

import json
import re
import shutil
import subprocess
import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from botocore.exceptions import ClientError

from conftest import ACCESS_KEY_ID, ACCOUNT_ID, REGION, SECRET_ACCESS_KEY, aws_cli_env

KEY_ARN = re.compile(rf"^arn:aws:kms:{REGION}:{ACCOUNT_ID}:key/[0-9a-f]{{8}}(-[0-9a-f]{{4}}){{3}}-[0-9a-f]{{12}}$")
DAY = timedelta(days=1)


def unique_alias(prefix: str = "wire") -> str:
    return f"alias/{prefix}-{uuid.uuid4().hex[:12]}"


def error_code(excinfo) -> str:
    return excinfo.value.response["Error"]["Code"]


def create_key(kms, **kwargs) -> dict:
    return kms.create_key(**kwargs)["KeyMetadata"]


def describe(kms, key_id: str) -> dict:
    return kms.describe_key(KeyId=key_id)["KeyMetadata"]


def tags_of(kms, key_id: str) -> dict:
    return {tag["TagKey"]: tag["TagValue"] for tag in kms.list_resource_tags(KeyId=key_id)["Tags"]}


# ------------------------------------------------------------------------------------------------
# Keys
# ------------------------------------------------------------------------------------------------


def test_create_key_defaults(kms):
    before = datetime.now(timezone.utc)
    response = kms.create_key()
    metadata = response["KeyMetadata"]
    assert KEY_ARN.match(metadata["Arn"]), metadata["Arn"]
    assert metadata["Arn"].endswith("/" + metadata["KeyId"])
    assert metadata["AWSAccountId"] == ACCOUNT_ID
    assert metadata["KeySpec"] == "SYMMETRIC_DEFAULT"
    assert metadata["CustomerMasterKeySpec"] == "SYMMETRIC_DEFAULT"
    assert metadata["KeyUsage"] == "ENCRYPT_DECRYPT"
    assert metadata["KeyState"] == "Enabled"
    assert metadata["Enabled"] is True
    assert metadata["Origin"] == "AWS_KMS"
    assert metadata["KeyManager"] == "CUSTOMER"
    assert metadata["MultiRegion"] is False
    assert metadata["EncryptionAlgorithms"] == ["SYMMETRIC_DEFAULT"]
    assert abs(metadata["CreationDate"] - before) < timedelta(minutes=1)
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert response["ResponseMetadata"]["RequestId"], "x-amzn-RequestId reaches the SDK"


def test_create_key_with_description_and_tags(kms):
    metadata = create_key(
        kms,
        Description="wire test key",
        KeySpec="SYMMETRIC_DEFAULT",
        KeyUsage="ENCRYPT_DECRYPT",
        Tags=[{"TagKey": "team", "TagValue": "payments"}, {"TagKey": "env", "TagValue": ""}],
    )
    assert metadata["Description"] == "wire test key"
    assert describe(kms, metadata["KeyId"])["Description"] == "wire test key"
    assert tags_of(kms, metadata["KeyId"]) == {"team": "payments", "env": ""}


def test_create_key_refusals(kms):
    with pytest.raises(ClientError) as excinfo:
        kms.create_key(KeySpec="AES_512")
    assert error_code(excinfo) == "ValidationException"
    assert "SYMMETRIC_DEFAULT" in excinfo.value.response["Error"]["Message"]
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert excinfo.value.response["ResponseMetadata"]["RequestId"], "errors carry x-amzn-RequestId"

    with pytest.raises(ClientError) as excinfo:
        kms.create_key(KeySpec="SYMMETRIC_DEFAULT", CustomerMasterKeySpec="SYMMETRIC_DEFAULT")
    assert error_code(excinfo) == "ValidationException"

    with pytest.raises(ClientError) as excinfo:
        kms.create_key(KeyUsage="SIGN_VERIFY")
    assert error_code(excinfo) == "ValidationException"

    with pytest.raises(ClientError) as excinfo:
        kms.create_key(Description="d" * 8193)
    assert error_code(excinfo) == "ValidationException"

    with pytest.raises(kms.exceptions.UnsupportedOperationException):
        kms.create_key(KeySpec="SM2")

    with pytest.raises(kms.exceptions.TagException):
        kms.create_key(Tags=[{"TagKey": "aws:owner", "TagValue": "x"}])


def test_describe_key_by_every_identifier(kms):
    metadata = create_key(kms)
    alias = unique_alias()
    kms.create_alias(AliasName=alias, TargetKeyId=metadata["KeyId"])
    alias_arn = f"arn:aws:kms:{REGION}:{ACCOUNT_ID}:{alias}"
    for reference in (metadata["KeyId"], metadata["Arn"], alias, alias_arn):
        assert describe(kms, reference)["KeyId"] == metadata["KeyId"], reference


def test_describe_key_not_found(kms):
    missing = str(uuid.uuid4())
    for reference in (
        missing,
        f"arn:aws:kms:{REGION}:{ACCOUNT_ID}:key/{missing}",
        "not-a-key-id",
        unique_alias("missing"),
    ):
        with pytest.raises(kms.exceptions.NotFoundException):
            kms.describe_key(KeyId=reference)
    other_region = create_key(kms)["Arn"].replace(f":{REGION}:", ":eu-west-1:")
    with pytest.raises(kms.exceptions.NotFoundException):
        kms.describe_key(KeyId=other_region)


def test_list_keys_pages_with_limit_and_marker(kms):
    created = {create_key(kms)["KeyId"] for _ in range(5)}
    seen = []
    marker = None
    pages = 0
    while True:
        kwargs = {"Limit": 2} if marker is None else {"Limit": 2, "Marker": marker}
        page = kms.list_keys(**kwargs)
        pages += 1
        assert len(page["Keys"]) <= 2
        for entry in page["Keys"]:
            assert entry["KeyArn"].endswith("/" + entry["KeyId"])
        seen.extend(entry["KeyId"] for entry in page["Keys"])
        if not page["Truncated"]:
            assert "NextMarker" not in page
            break
        marker = page["NextMarker"]
    assert pages >= 3, "five keys at two a page take at least three pages"
    assert len(seen) == len(set(seen)), "no key is listed twice"
    assert created <= set(seen)

    paginated = [
        entry["KeyId"]
        for page in kms.get_paginator("list_keys").paginate(PaginationConfig={"PageSize": 2})
        for entry in page["Keys"]
    ]
    assert created <= set(paginated)


def test_list_keys_refuses_bad_limits_and_markers(raw_kms):
    for limit in (0, 1001):
        with pytest.raises(ClientError) as excinfo:
            raw_kms.list_keys(Limit=limit)
        assert error_code(excinfo) == "ValidationException"
    with pytest.raises(raw_kms.exceptions.InvalidMarkerException):
        raw_kms.list_keys(Marker="bogus-marker")


def test_disable_and_enable(kms):
    key_id = create_key(kms)["KeyId"]
    kms.disable_key(KeyId=key_id)
    metadata = describe(kms, key_id)
    assert metadata["Enabled"] is False
    assert metadata["KeyState"] == "Disabled"
    kms.enable_key(KeyId=key_id)
    metadata = describe(kms, key_id)
    assert metadata["Enabled"] is True
    assert metadata["KeyState"] == "Enabled"
    with pytest.raises(kms.exceptions.NotFoundException):
        kms.enable_key(KeyId=str(uuid.uuid4()))


def test_update_key_description(kms):
    key_id = create_key(kms, Description="before")["KeyId"]
    kms.update_key_description(KeyId=key_id, Description="after")
    assert describe(kms, key_id)["Description"] == "after"


def test_schedule_and_cancel_key_deletion(kms, raw_kms):
    key = create_key(kms)
    key_id = key["KeyId"]
    now = datetime.now(timezone.utc)
    scheduled = kms.schedule_key_deletion(KeyId=key_id)
    assert scheduled["KeyId"] == key["Arn"]
    assert scheduled["KeyState"] == "PendingDeletion"
    assert scheduled["PendingWindowInDays"] == 30
    assert abs(scheduled["DeletionDate"] - (now + 30 * DAY)) < timedelta(minutes=1)
    metadata = describe(kms, key_id)
    assert metadata["KeyState"] == "PendingDeletion"
    assert metadata["Enabled"] is False
    assert metadata["DeletionDate"] == scheduled["DeletionDate"]

    with pytest.raises(kms.exceptions.KMSInvalidStateException):
        kms.enable_key(KeyId=key_id)
    with pytest.raises(kms.exceptions.KMSInvalidStateException):
        kms.disable_key(KeyId=key_id)
    with pytest.raises(kms.exceptions.KMSInvalidStateException):
        kms.create_alias(AliasName=unique_alias(), TargetKeyId=key_id)
    with pytest.raises(kms.exceptions.KMSInvalidStateException):
        kms.tag_resource(KeyId=key_id, Tags=[{"TagKey": "a", "TagValue": "b"}])
    with pytest.raises(kms.exceptions.KMSInvalidStateException):
        kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)

    cancelled = kms.cancel_key_deletion(KeyId=key_id)
    assert cancelled["KeyId"] == key["Arn"]
    metadata = describe(kms, key_id)
    assert metadata["KeyState"] == "Disabled"
    assert "DeletionDate" not in metadata
    with pytest.raises(kms.exceptions.KMSInvalidStateException):
        kms.cancel_key_deletion(KeyId=key_id)

    seven = create_key(kms)["KeyId"]
    now = datetime.now(timezone.utc)
    scheduled = kms.schedule_key_deletion(KeyId=seven, PendingWindowInDays=7)
    assert scheduled["PendingWindowInDays"] == 7
    assert abs(scheduled["DeletionDate"] - (now + 7 * DAY)) < timedelta(minutes=1)

    for days in (6, 31):
        with pytest.raises(ClientError) as excinfo:
            raw_kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=days)
        assert error_code(excinfo) == "ValidationException"


# ------------------------------------------------------------------------------------------------
# Aliases
# ------------------------------------------------------------------------------------------------


def test_alias_lifecycle(kms):
    first = create_key(kms)
    second = create_key(kms)
    alias = unique_alias()
    kms.create_alias(AliasName=alias, TargetKeyId=first["KeyId"])
    with pytest.raises(kms.exceptions.AlreadyExistsException):
        kms.create_alias(AliasName=alias, TargetKeyId=second["KeyId"])

    [entry] = kms.list_aliases(KeyId=first["KeyId"])["Aliases"]
    assert entry["AliasName"] == alias
    assert entry["AliasArn"] == f"arn:aws:kms:{REGION}:{ACCOUNT_ID}:{alias}"
    assert entry["TargetKeyId"] == first["KeyId"]
    created_at = entry["LastUpdatedDate"]

    time.sleep(0.01)
    kms.update_alias(AliasName=alias, TargetKeyId=second["Arn"])
    assert describe(kms, alias)["KeyId"] == second["KeyId"]
    assert kms.list_aliases(KeyId=first["KeyId"])["Aliases"] == []
    [entry] = kms.list_aliases(KeyId=second["KeyId"])["Aliases"]
    assert entry["LastUpdatedDate"] > created_at

    kms.delete_alias(AliasName=alias)
    with pytest.raises(kms.exceptions.NotFoundException):
        kms.describe_key(KeyId=alias)
    with pytest.raises(kms.exceptions.NotFoundException):
        kms.delete_alias(AliasName=alias)


def test_alias_refusals(kms):
    key_id = create_key(kms)["KeyId"]
    with pytest.raises(kms.exceptions.InvalidAliasNameException):
        kms.create_alias(AliasName="alias/aws/" + uuid.uuid4().hex, TargetKeyId=key_id)
    for name in ("no-prefix-" + uuid.uuid4().hex, "alias/bad name"):
        with pytest.raises(ClientError) as excinfo:
            kms.create_alias(AliasName=name, TargetKeyId=key_id)
        assert error_code(excinfo) == "ValidationException", name
    with pytest.raises(kms.exceptions.NotFoundException):
        kms.create_alias(AliasName=unique_alias(), TargetKeyId=str(uuid.uuid4()))
    alias = unique_alias()
    kms.create_alias(AliasName=alias, TargetKeyId=key_id)
    with pytest.raises(ClientError) as excinfo:
        kms.create_alias(AliasName=unique_alias(), TargetKeyId=alias)
    assert error_code(excinfo) == "ValidationException"


def test_list_aliases_pages_with_key_filter(kms):
    key_id = create_key(kms)["KeyId"]
    names = sorted(unique_alias("page") for _ in range(3))
    for name in names:
        kms.create_alias(AliasName=name, TargetKeyId=key_id)
    seen = []
    marker = None
    while True:
        kwargs = {"KeyId": key_id, "Limit": 1}
        if marker is not None:
            kwargs["Marker"] = marker
        page = kms.list_aliases(**kwargs)
        seen.extend(entry["AliasName"] for entry in page["Aliases"])
        if not page["Truncated"]:
            break
        marker = page["NextMarker"]
    assert seen == names

    everything = [
        entry["AliasName"] for page in kms.get_paginator("list_aliases").paginate() for entry in page["Aliases"]
    ]
    assert set(names) <= set(everything)


# ------------------------------------------------------------------------------------------------
# Tags
# ------------------------------------------------------------------------------------------------


def test_tag_untag_and_list(kms):
    key_id = create_key(kms)["KeyId"]
    kms.tag_resource(KeyId=key_id, Tags=[{"TagKey": "team", "TagValue": "a"}, {"TagKey": "env", "TagValue": "dev"}])
    assert tags_of(kms, key_id) == {"team": "a", "env": "dev"}
    kms.tag_resource(KeyId=key_id, Tags=[{"TagKey": "env", "TagValue": "prod"}])
    assert tags_of(kms, key_id) == {"team": "a", "env": "prod"}
    kms.untag_resource(KeyId=key_id, TagKeys=["team"])
    assert tags_of(kms, key_id) == {"env": "prod"}

    page = kms.list_resource_tags(KeyId=key_id, Limit=1)
    assert page["Truncated"] is False
    assert page["Tags"] == [{"TagKey": "env", "TagValue": "prod"}]


def test_tag_refusals(kms):
    key_id = create_key(kms)["KeyId"]
    with pytest.raises(kms.exceptions.TagException):
        kms.tag_resource(KeyId=key_id, Tags=[{"TagKey": "aws:owner", "TagValue": "x"}])
    kms.tag_resource(KeyId=key_id, Tags=[{"TagKey": f"k{i:02}", "TagValue": "v"} for i in range(50)])
    with pytest.raises(kms.exceptions.LimitExceededException):
        kms.tag_resource(KeyId=key_id, Tags=[{"TagKey": "k50", "TagValue": "v"}])
    kms.tag_resource(KeyId=key_id, Tags=[{"TagKey": "k00", "TagValue": "overwritten"}])
    tags = tags_of(kms, key_id)
    assert len(tags) == 50
    assert tags["k00"] == "overwritten"
    with pytest.raises(kms.exceptions.NotFoundException):
        kms.list_resource_tags(KeyId=str(uuid.uuid4()))


# ------------------------------------------------------------------------------------------------
# The aws CLI
# ------------------------------------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("aws") is None, reason="the aws CLI is not on PATH")
def test_aws_cli_create_describe_list(endpoint, tmp_path):
    env = aws_cli_env(tmp_path)

    def aws(*args: str) -> dict:
        command = ["aws", "kms", *args, "--endpoint-url", endpoint, "--output", "json"]
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, f"{' '.join(command)} failed:\n{done.stderr}"
        return json.loads(done.stdout) if done.stdout.strip() else {}

    created = aws("create-key", "--description", "from the aws cli")["KeyMetadata"]
    assert KEY_ARN.match(created["Arn"])
    assert created["KeyState"] == "Enabled"
    described = aws("describe-key", "--key-id", created["KeyId"])["KeyMetadata"]
    assert described["Description"] == "from the aws cli"
    assert described["Arn"] == created["Arn"]
    listed = aws("list-keys")
    assert created["KeyId"] in {entry["KeyId"] for entry in listed["Keys"]}

    missing = subprocess.run(
        ["aws", "kms", "describe-key", "--key-id", str(uuid.uuid4()), "--endpoint-url", endpoint],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert missing.returncode != 0
    assert "NotFoundException" in missing.stderr


def test_boto3_with_a_wrong_secret_or_unknown_key_is_refused(endpoint):
    import boto3
    from botocore.config import Config

    for key_id, secret, expected in [
        (ACCESS_KEY_ID, "not-the-secret", "InvalidSignatureException"),
        ("TRENTNOBODY", SECRET_ACCESS_KEY, "UnrecognizedClientException"),
    ]:
        client = boto3.client(
            "kms",
            endpoint_url=endpoint,
            region_name=REGION,
            aws_access_key_id=key_id,
            aws_secret_access_key=secret,
            config=Config(retries={"mode": "standard", "total_max_attempts": 1}),
        )
        with pytest.raises(ClientError) as excinfo:
            client.list_keys()
        assert excinfo.value.response["Error"]["Code"] == expected


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl_aws_sigv4_reaches_the_admin_api(endpoint):
    signed = subprocess.run(
        [
            "curl", "-sS", "--fail-with-body",
            "--aws-sigv4", f"aws:amz:{REGION}:kms",
            "--user", f"{ACCESS_KEY_ID}:{SECRET_ACCESS_KEY}",
            f"{endpoint}/v1/sys/cluster",
        ],
        capture_output=True, text=True, timeout=30,
    )
    assert signed.returncode == 0, signed.stdout + signed.stderr
    assert json.loads(signed.stdout)["members"]
    unsigned = subprocess.run(
        ["curl", "-sS", f"{endpoint}/v1/sys/cluster"], capture_output=True, text=True, timeout=30
    )
    assert json.loads(unsigned.stdout)["__type"] == "MissingAuthenticationTokenException"
