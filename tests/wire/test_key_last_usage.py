"""GetKeyLastUsage through boto3: botocore's model parses Trent's answer (dates as datetimes, the
usage as AWS's KeyLastUsageData), an unused key answers an empty ``KeyLastUsage``, a successful
Encrypt is reported with the request id boto3 saw, and an alias is ``NotFoundException``.
"""

import uuid
from datetime import datetime, timedelta, timezone

import pytest
from botocore.exceptions import ClientError


def test_an_unused_key_has_no_last_usage_and_tracking_starts_no_earlier_than_creation(kms):
    key = kms.create_key(Description="last usage on the wire")["KeyMetadata"]
    answer = kms.get_key_last_usage(KeyId=key["KeyId"])
    assert answer["KeyId"] == key["Arn"]
    assert answer["KeyLastUsage"] == {}
    assert isinstance(answer["KeyCreationDate"], datetime)
    assert answer["KeyCreationDate"] == key["CreationDate"]
    assert answer["TrackingStartDate"] >= answer["KeyCreationDate"]


def test_an_encrypt_is_reported_with_its_request_id(kms):
    key = kms.create_key(Description="last usage on the wire")["KeyMetadata"]
    before = datetime.now(timezone.utc) - timedelta(seconds=2)
    encrypted = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"used once")
    usage = kms.get_key_last_usage(KeyId=key["Arn"])["KeyLastUsage"]
    assert usage["Operation"] == "Encrypt"
    assert isinstance(usage["Timestamp"], datetime)
    assert before <= usage["Timestamp"] <= datetime.now(timezone.utc) + timedelta(seconds=2)
    assert usage["KmsRequestId"] == encrypted["ResponseMetadata"]["RequestId"]
    uuid.UUID(usage["CloudTrailEventId"])
    assert usage["CloudTrailEventId"] != usage["KmsRequestId"]

    kms.decrypt(CiphertextBlob=encrypted["CiphertextBlob"])
    assert kms.get_key_last_usage(KeyId=key["KeyId"])["KeyLastUsage"]["Operation"] == "Decrypt"


def test_aliases_and_unknown_keys_are_not_found(kms):
    key_id = kms.create_key(Description="last usage on the wire")["KeyMetadata"]["KeyId"]
    alias = f"alias/last-usage-{uuid.uuid4().hex[:8]}"
    kms.create_alias(AliasName=alias, TargetKeyId=key_id)
    for named in (alias, str(uuid.uuid4())):
        with pytest.raises(ClientError) as excinfo:
            kms.get_key_last_usage(KeyId=named)
        assert excinfo.value.response["Error"]["Code"] == "NotFoundException", named


def test_the_caller_needs_kms_get_key_last_usage(endpoint, kms):
    from test_authorization import denied, error_of, new_user

    key_id = kms.create_key(Description="last usage on the wire")["KeyMetadata"]["KeyId"]
    allow = lambda *actions: {"Version": "2012-10-17", "Statement": [  # noqa: E731
        {"Effect": "Allow", "Action": list(actions), "Resource": "*"}]}
    _, encrypter, _ = new_user(endpoint, allow("kms:Encrypt"))
    encrypted = encrypter.encrypt(KeyId=key_id, Plaintext=b"a user's use")
    with denied() as excinfo:
        encrypter.get_key_last_usage(KeyId=key_id)
    assert "kms:GetKeyLastUsage" in error_of(excinfo)[1]
    _, auditor, _ = new_user(endpoint, allow("kms:GetKeyLastUsage"))
    usage = auditor.get_key_last_usage(KeyId=key_id)["KeyLastUsage"]
    assert usage["KmsRequestId"] == encrypted["ResponseMetadata"]["RequestId"]
