"""bench/policy-setup.py ENDPOINT KEYS_FILE: makes what the suite's authorization run needs on a
dev cluster, signing as its administrator (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY):

- a user `bench-user` whose identity policy allows the data-plane actions on this account's keys;
- a key whose key policy is a realistic one: five statements (the account, the key's
  administrators, its users with a condition, grants with a condition, an explicit deny);
- an access key for the user.

Writes the key id to KEYS_FILE and prints `ACCESS_KEY_ID SECRET_ACCESS_KEY` for the run.
"""

import json
import os
import sys
import urllib.request

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

REGION = "us-east-1"
ACCOUNT = "111122223333"


def admin(endpoint, method, path, body):
    data = json.dumps(body).encode()
    request = AWSRequest(method=method, url=f"{endpoint}{path}", data=data, headers={"content-type": "application/json"})
    credentials = Credentials(os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"])
    SigV4Auth(credentials, "kms", REGION).add_auth(request)
    prepared = urllib.request.Request(request.url, data=data, method=method, headers=dict(request.headers.items()))
    with urllib.request.urlopen(prepared, timeout=30) as response:
        return json.load(response)


def main():
    endpoint, keys_file = sys.argv[1], sys.argv[2]
    user = "bench-user"
    user_arn = f"arn:aws:iam::{ACCOUNT}:user/{user}"
    admin_arn = f"arn:aws:iam::{ACCOUNT}:user/admin"
    identity = {"Version": "2012-10-17", "Statement": [
        {"Sid": "DataPlane", "Effect": "Allow",
         "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey*", "kms:DescribeKey"],
         "Resource": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/*"},
    ]}
    admin(endpoint, "POST", "/v1/sys/users", {"name": user, "policy": identity})
    key_policy = {"Version": "2012-10-17", "Id": "bench-key-policy", "Statement": [
        {"Sid": "EnableIAMUserPermissions", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
         "Action": "kms:*", "Resource": "*"},
        {"Sid": "AllowKeyAdministrators", "Effect": "Allow", "Principal": {"AWS": admin_arn},
         "Action": ["kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*",
                    "kms:Revoke*", "kms:Disable*", "kms:Get*", "kms:Delete*", "kms:TagResource",
                    "kms:UntagResource", "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion"],
         "Resource": "*"},
        {"Sid": "AllowUseOfTheKey", "Effect": "Allow", "Principal": {"AWS": user_arn},
         "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
         "Resource": "*", "Condition": {"StringEquals": {"kms:CallerAccount": ACCOUNT}}},
        {"Sid": "AllowAttachmentOfPersistentResources", "Effect": "Allow", "Principal": {"AWS": user_arn},
         "Action": ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"], "Resource": "*",
         "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}}},
        {"Sid": "NobodyDeletesIt", "Effect": "Deny", "Principal": {"AWS": user_arn},
         "Action": ["kms:ScheduleKeyDeletion", "kms:DisableKey"], "Resource": "*"},
    ]}
    kms = boto3.client("kms", endpoint_url=endpoint, region_name=REGION)
    key_id = kms.create_key(Description="bench: realistic policy", Policy=json.dumps(key_policy))["KeyMetadata"]["KeyId"]
    with open(keys_file, "w") as out:
        out.write(key_id + "\n")
    key = admin(endpoint, "POST", "/v1/sys/access-keys", {"user": user, "description": "bench"})
    print(key["access_key_id"], key["secret_access_key"])


if __name__ == "__main__":
    main()
