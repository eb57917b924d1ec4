"""The audit trail as a CloudTrail user reads it: a boto3 call's record, found by the request id
boto3 got back, carries CloudTrail's KMS fields, and `GET /v1/sys/audit` filters by key."""

import json
import urllib.parse
import urllib.request

import botocore.session
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from conftest import ACCESS_KEY_ID, ACCOUNT_ID, REGION, SECRET_ACCESS_KEY


def audit(endpoint: str, **filters) -> dict:
    """`GET /v1/sys/audit` signed as the administrator, as botocore signs any request."""
    url = f"{endpoint}/v1/sys/audit?{urllib.parse.urlencode(filters, quote_via=urllib.parse.quote)}"
    request = AWSRequest(method="GET", url=url)
    SigV4Auth(Credentials(ACCESS_KEY_ID, SECRET_ACCESS_KEY), "kms", REGION).add_auth(request)
    prepared = urllib.request.Request(url, headers=dict(request.headers.items()), method="GET")
    with urllib.request.urlopen(prepared, timeout=10) as response:
        return json.load(response)


def test_a_boto3_call_is_recorded_as_cloudtrail_records_kms(kms, endpoint):
    key = kms.create_key(Description="audited by boto3")["KeyMetadata"]
    answer = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"audit me, not my plaintext", EncryptionContext={"app": "wire"})
    request_id = answer["ResponseMetadata"]["RequestId"]

    page = audit(endpoint, keyId=key["KeyId"], eventName="Encrypt")
    records = [event for event in page["Events"] if event["requestID"] == request_id]
    assert len(records) == 1, page
    record = records[0]
    assert record["eventSource"] == "kms.amazonaws.com"
    assert record["eventName"] == "Encrypt"
    assert record["eventType"] == "AwsApiCall"
    assert record["readOnly"] is True
    assert record["awsRegion"] == REGION
    assert record["recipientAccountId"] == ACCOUNT_ID
    assert record["userIdentity"]["type"] == "IAMUser"
    assert record["userIdentity"]["accessKeyId"] == ACCESS_KEY_ID
    assert record["userIdentity"]["arn"] == f"arn:aws:iam::{ACCOUNT_ID}:user/admin"
    assert "Boto3" in record["userAgent"] or "Botocore" in record["userAgent"], record["userAgent"]
    assert record["requestParameters"] == {"keyId": key["KeyId"], "encryptionContext": {"app": "wire"}}
    assert record["resources"] == [{"ARN": key["Arn"], "accountId": ACCOUNT_ID, "type": "AWS::KMS::Key"}]
    assert record["responseElements"] is None
    assert "plaintext" not in json.dumps(record).lower().replace('"plaintext"', "")

    created = audit(endpoint, keyId=key["KeyId"], eventName="CreateKey")["Events"]
    assert [event["responseElements"]["keyMetadata"]["KeyId"] for event in created] == [key["KeyId"]]
    assert created[0]["readOnly"] is False
