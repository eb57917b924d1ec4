"""Authorization through real boto3 against a running Trent node: key policies (CreateKey's
Policy, PutKeyPolicy, GetKeyPolicy, ListKeyPolicies, the lockout safety check), grants
(CreateGrant, ListGrants, ListRetirableGrants, RetireGrant, RevokeGrant, grant tokens), users
made through the admin API, and every refusal as the SDK's exception class with AWS's wording.

The node is shared by the session: every test makes its own users and keys.
"""

import json
import urllib.error
import urllib.request
import uuid

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from conftest import ACCESS_KEY_ID, ACCOUNT_ID, REGION, SECRET_ACCESS_KEY

ROOT = f"arn:aws:iam::{ACCOUNT_ID}:root"


def user_arn(name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT_ID}:user/{name}"


def key_arn(key_id: str) -> str:
    return f"arn:aws:kms:{REGION}:{ACCOUNT_ID}:key/{key_id}"


def admin_call(endpoint, method, path, body=None, credentials=(ACCESS_KEY_ID, SECRET_ACCESS_KEY)):
    """An admin API call signed with SigV4 by botocore's own signer; (status, JSON body)."""
    data = b"" if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    request = AWSRequest(method=method, url=f"{endpoint}{path}", data=data, headers={"content-type": "application/json"})
    SigV4Auth(Credentials(*credentials), "kms", REGION).add_auth(request)
    prepared = urllib.request.Request(request.url, data=data or None, method=method, headers=dict(request.headers.items()))
    try:
        with urllib.request.urlopen(prepared, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def new_user(endpoint, policy=None):
    """A user (with `policy`, if given) and a boto3 KMS client signing as its new access key."""
    name = f"wire-{uuid.uuid4().hex[:10]}"
    body = {"name": name} if policy is None else {"name": name, "policy": policy}
    status, user = admin_call(endpoint, "POST", "/v1/sys/users", body)
    assert status == 200, user
    assert user["arn"] == user_arn(name)
    status, key = admin_call(endpoint, "POST", "/v1/sys/access-keys", {"user": name, "description": "wire"})
    assert status == 200 and key["user"] == name, key
    client = boto3.client(
        "kms",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=key["access_key_id"],
        aws_secret_access_key=key["secret_access_key"],
        config=Config(retries={"mode": "standard", "total_max_attempts": 1}),
    )
    return name, client, (key["access_key_id"], key["secret_access_key"])


class denied:
    """`with denied() as excinfo:` — the call must fail with AccessDeniedException, which AWS
    returns as a common error (botocore has no modeled class for it: a ClientError)."""

    def __enter__(self):
        self.raises = pytest.raises(ClientError)
        self.excinfo = self.raises.__enter__()
        return self.excinfo

    def __exit__(self, *exc):
        suppressed = self.raises.__exit__(*exc)
        assert error_of(self.excinfo)[0] == "AccessDeniedException", error_of(self.excinfo)
        return suppressed


def error_of(excinfo):
    return excinfo.value.response["Error"]["Code"], excinfo.value.response["Error"]["Message"]


def test_default_key_policy_and_list_key_policies(kms):
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    policy = kms.get_key_policy(KeyId=key_id, PolicyName="default")
    assert policy["PolicyName"] == "default"
    document = json.loads(policy["Policy"])
    assert document["Statement"][0]["Principal"] == {"AWS": ROOT}
    assert document["Statement"][0]["Action"] == "kms:*"
    assert kms.get_key_policy(KeyId=key_id)["Policy"] == policy["Policy"]
    listed = kms.list_key_policies(KeyId=key_id)
    assert listed["PolicyNames"] == ["default"] and listed["Truncated"] is False
    with pytest.raises(kms.exceptions.NotFoundException):
        kms.get_key_policy(KeyId=str(uuid.uuid4()))


def test_key_policies_are_validated_and_guard_against_lockout(kms):
    policy = {"Version": "2012-10-17", "Statement": [
        {"Sid": "Root", "Effect": "Allow", "Principal": {"AWS": ROOT}, "Action": "kms:*", "Resource": "*"}]}
    key_id = kms.create_key(Policy=json.dumps(policy))["KeyMetadata"]["KeyId"]
    assert json.loads(kms.get_key_policy(KeyId=key_id)["Policy"]) == policy

    for bad, reason in [
        ("{not json", "not valid JSON"),
        (json.dumps({"Statement": []}), "Statement"),
        (json.dumps({"Statement": {"Effect": "Maybe", "Principal": "*", "Action": "kms:*", "Resource": "*"}}), "Effect"),
        (json.dumps({"Statement": {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"}}), "s3:GetObject"),
        (json.dumps({"Statement": {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::999999999999:root"}, "Action": "kms:*", "Resource": "*"}}), "999999999999"),
        (json.dumps({"Statement": {"Effect": "Allow", "Principal": "*", "Action": "kms:*", "Resource": "*",
                                   "Condition": {"StringSortOf": {"kms:CallerAccount": ACCOUNT_ID}}}}), "StringSortOf"),
    ]:
        with pytest.raises(kms.exceptions.MalformedPolicyDocumentException) as excinfo:
            kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=bad, BypassPolicyLockoutSafetyCheck=True)
        assert reason in error_of(excinfo)[1], (bad, error_of(excinfo))
        with pytest.raises(kms.exceptions.MalformedPolicyDocumentException):
            kms.create_key(Policy=bad)

    locked = json.dumps({"Statement": {"Effect": "Allow", "Principal": {"AWS": user_arn("nobody")}, "Action": "kms:*", "Resource": "*"}})
    with pytest.raises(kms.exceptions.MalformedPolicyDocumentException) as excinfo:
        kms.put_key_policy(KeyId=key_id, Policy=locked)
    assert "will not allow you to update the key policy in the future" in error_of(excinfo)[1]
    with pytest.raises(kms.exceptions.LimitExceededException):
        kms.put_key_policy(KeyId=key_id, Policy=json.dumps({**policy, "Id": "x" * 33000}))
    assert json.loads(kms.get_key_policy(KeyId=key_id)["Policy"]) == policy, "refusals change nothing"

    kms.put_key_policy(KeyId=key_id, Policy=locked, BypassPolicyLockoutSafetyCheck=True)
    with denied() as excinfo:
        kms.describe_key(KeyId=key_id)
    assert error_of(excinfo)[1] == (
        f"User: {user_arn('admin')} is not authorized to perform: kms:DescribeKey on resource: "
        f"{key_arn(key_id)} because no resource-based policy allows the kms:DescribeKey action"
    )


def test_identity_policies_decide_what_the_default_key_policy_delegates(endpoint, kms):
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["kms:Encrypt", "kms:DescribeKey"], "Resource": "*"},
        {"Effect": "Deny", "Action": "kms:Encrypt", "Resource": "*",
         "Condition": {"StringEquals": {"kms:EncryptionContext:tier": "secret"}}}]}
    name, client, _ = new_user(endpoint, policy)
    assert client.describe_key(KeyId=key_id)["KeyMetadata"]["KeyId"] == key_id
    client.encrypt(KeyId=key_id, Plaintext=b"ok", EncryptionContext={"tier": "public"})
    with denied() as excinfo:
        client.encrypt(KeyId=key_id, Plaintext=b"no", EncryptionContext={"tier": "secret"})
    assert error_of(excinfo)[1].endswith("with an explicit deny in an identity-based policy")
    with denied() as excinfo:
        client.schedule_key_deletion(KeyId=key_id)
    assert error_of(excinfo)[1] == (
        f"User: {user_arn(name)} is not authorized to perform: kms:ScheduleKeyDeletion on resource: "
        f"{key_arn(key_id)} because no identity-based policy allows the kms:ScheduleKeyDeletion action"
    )
    with denied():
        client.list_keys()
    with denied():
        client.get_key_policy(KeyId=key_id)


def test_a_user_whose_only_right_is_a_grant_with_an_encryption_context_constraint(endpoint, kms):
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    name, client, _ = new_user(endpoint)
    with denied():
        client.encrypt(KeyId=key_id, Plaintext=b"before")
    grant = kms.create_grant(
        KeyId=key_id, GranteePrincipal=user_arn(name), Operations=["Encrypt", "Decrypt"],
        Constraints={"EncryptionContextEquals": {"app": "billing"}}, Name="billing-app",
    )
    assert len(grant["GrantId"]) == 64 and grant["GrantToken"]
    context = {"app": "billing"}
    blob = client.encrypt(KeyId=key_id, Plaintext=b"granted", EncryptionContext=context,
                          GrantTokens=[grant["GrantToken"]])["CiphertextBlob"]
    assert client.decrypt(CiphertextBlob=blob, EncryptionContext=context)["Plaintext"] == b"granted"
    for other in [{}, {"app": "payroll"}, {"app": "billing", "extra": "x"}]:
        with denied() as excinfo:
            client.encrypt(KeyId=key_id, Plaintext=b"x", EncryptionContext=other)
        assert "kms:Encrypt" in error_of(excinfo)[1]
    with denied():
        client.generate_data_key(KeyId=key_id, KeySpec="AES_256", EncryptionContext=context)
    same = kms.create_grant(
        KeyId=key_id, GranteePrincipal=user_arn(name), Operations=["Decrypt", "Encrypt"],
        Constraints={"EncryptionContextEquals": {"app": "billing"}}, Name="billing-app",
    )
    assert same["GrantId"] == grant["GrantId"], "same name and parameters: the same grant"
    kms.revoke_grant(KeyId=key_id, GrantId=grant["GrantId"])
    with denied():
        client.encrypt(KeyId=key_id, Plaintext=b"after", EncryptionContext=context)


def test_grant_listing_retiring_and_errors(endpoint, kms):
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    grantee, grantee_client, _ = new_user(endpoint)
    retirer, retirer_client, _ = new_user(endpoint)
    made = [
        kms.create_grant(KeyId=key_id, GranteePrincipal=user_arn(grantee), Operations=["Encrypt"],
                         RetiringPrincipal=user_arn(retirer))["GrantId"],
        kms.create_grant(KeyId=key_id, GranteePrincipal=user_arn(grantee), Operations=["Decrypt", "RetireGrant"])["GrantId"],
        kms.create_grant(KeyId=key_id, GranteePrincipal=user_arn(retirer), Operations=["DescribeKey"])["GrantId"],
    ]
    pages, marker = [], None
    while True:
        page = kms.list_grants(KeyId=key_id, Limit=2, **({"Marker": marker} if marker else {}))
        pages.append(page["Grants"])
        if not page["Truncated"]:
            break
        marker = page["NextMarker"]
    listed = [grant for page in pages for grant in page]
    assert sorted(grant["GrantId"] for grant in listed) == sorted(made) and len(pages) == 2
    entry = next(grant for grant in listed if grant["GrantId"] == made[0])
    assert entry["KeyId"] == key_arn(key_id) and entry["IssuingAccount"] == ROOT
    assert entry["GranteePrincipal"] == user_arn(grantee) and entry["RetiringPrincipal"] == user_arn(retirer)
    assert entry["Operations"] == ["Encrypt"] and entry["CreationDate"]
    only = kms.list_grants(KeyId=key_id, GranteePrincipal=user_arn(retirer))["Grants"]
    assert [grant["GrantId"] for grant in only] == [made[2]]
    assert [g["GrantId"] for g in kms.list_grants(KeyId=key_id, GrantId=made[1])["Grants"]] == [made[1]]
    retirable = kms.list_retirable_grants(RetiringPrincipal=user_arn(retirer))["Grants"]
    assert [grant["GrantId"] for grant in retirable] == [made[0]]

    # The grantee without RetireGrant in the grant may not retire it; its retiring principal may.
    with pytest.raises(ClientError) as excinfo:
        grantee_client.retire_grant(KeyId=key_arn(key_id), GrantId=made[0])
    assert error_of(excinfo)[0] == "AccessDeniedException"
    retirer_client.retire_grant(KeyId=key_arn(key_id), GrantId=made[0])
    grantee_client.retire_grant(KeyId=key_arn(key_id), GrantId=made[1])
    assert [g["GrantId"] for g in kms.list_grants(KeyId=key_id)["Grants"]] == [made[2]]

    with pytest.raises(kms.exceptions.InvalidGrantIdException):
        kms.revoke_grant(KeyId=key_id, GrantId="not-a-grant-id")
    with pytest.raises(kms.exceptions.NotFoundException):
        kms.revoke_grant(KeyId=key_id, GrantId=made[0])
    with pytest.raises(kms.exceptions.InvalidGrantTokenException):
        kms.encrypt(KeyId=key_id, Plaintext=b"x", GrantTokens=["made-up-token"])
    with pytest.raises(kms.exceptions.InvalidGrantTokenException):
        kms.retire_grant(GrantToken="made-up-token")
    with pytest.raises(ClientError) as excinfo:
        kms.create_grant(KeyId=key_id, GranteePrincipal=user_arn(grantee), Operations=["Sign"])
    assert error_of(excinfo)[0] == "ValidationException"
    with pytest.raises(kms.exceptions.DryRunOperationException):
        kms.create_grant(KeyId=key_id, GranteePrincipal=user_arn(grantee), Operations=["Encrypt"], DryRun=True)
    kms.revoke_grant(KeyId=key_id, GrantId=made[2])
    assert kms.list_grants(KeyId=key_id)["Grants"] == []


def test_users_and_admin_calls_are_authorized(endpoint):
    name, _, credentials = new_user(endpoint, {"Statement": {"Effect": "Allow", "Action": "kms:*", "Resource": "*"}})
    status, body = admin_call(endpoint, "POST", "/v1/sys/users", {"name": "not-allowed"}, credentials)
    assert status == 400 and body["__type"] == "AccessDeniedException", body
    assert body["message"] == (
        f"User: {user_arn(name)} is not authorized to perform: iam:CreateUser on resource: * "
        "because no identity-based policy allows the iam:CreateUser action"
    )
    status, body = admin_call(endpoint, "DELETE", f"/v1/sys/users/{name}")
    assert status == 409 and body["__type"] == "DeleteConflictException", body
    status, body = admin_call(endpoint, "PUT", f"/v1/sys/users/{name}/policy", b'{"Statement": []}')
    assert body["__type"] == "MalformedPolicyDocumentException", body
    status, body = admin_call(endpoint, "GET", f"/v1/sys/users/{name}/policy")
    assert status == 200 and json.loads(body["policy"])["Statement"]["Action"] == "kms:*"
    status, body = admin_call(endpoint, "POST", "/v1/sys/authorize",
                              {"principal": name, "action": "kms:Encrypt", "context": {}})
    assert status == 200 and body["decision"] == "allow", body
    status, body = admin_call(endpoint, "POST", "/v1/sys/authorize",
                              {"principal": name, "action": "iam:DeleteUser"})
    assert body["decision"] == "deny" and "iam:DeleteUser" in body["message"], body
