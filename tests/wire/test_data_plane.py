"""The KMS data plane (Encrypt, Decrypt, ReEncrypt, GenerateDataKey, GenerateDataKeyWithoutPlaintext,
GenerateRandom) through real AWS clients against a running Trent node: boto3 for every operation and
every error it can answer, the aws CLI for a binary round trip, and hand-signed HTTP for the bodies
an SDK never sends (bad base64, wrong JSON types, unknown targets).

The node is shared by the whole session, so every test makes its own keys and aliases. ``kms``
validates parameters as users run boto3; ``raw_kms`` lets out-of-range values reach the server.
"""

import base64
import json
import os
import re
import subprocess
import urllib.error
import urllib.request
import uuid

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from conftest import ACCESS_KEY_ID, ACCOUNT_ID, REGION, SECRET_ACCESS_KEY, aws_cli, aws_cli_env

KEY_ARN = re.compile(rf"^arn:aws:kms:{REGION}:{ACCOUNT_ID}:key/[0-9a-f]{{8}}(-[0-9a-f]{{4}}){{3}}-[0-9a-f]{{12}}$")

# Trent's symmetric blob (DESIGN §4): version (1) | key id (16) | material version (4) | [v2: salt
# (16)] | nonce (12) | ciphertext | tag (16); v2 is written from cluster feature level 4. The
# tamper test flips a byte in each region.
COMMON_HEADER_BYTES = 1 + 16 + 4
SALT_BYTES = {1: 0, 2: 16}
NONCE_BYTES = 12
TAG_BYTES = 16


def header_bytes(blob: bytes) -> int:
    assert blob[0] in SALT_BYTES, f"unknown blob format {blob[0]}"
    return COMMON_HEADER_BYTES + SALT_BYTES[blob[0]]


def blob_overhead(blob: bytes) -> int:
    return header_bytes(blob) + NONCE_BYTES + TAG_BYTES


INVALID_CIPHERTEXT_MESSAGE = "The ciphertext is invalid or was encrypted with another encryption context"
DRY_RUN_MESSAGE = "The request would have succeeded, but the DryRun parameter was set."
RECIPIENT = {"KeyEncryptionAlgorithm": "RSAES_OAEP_SHA_256", "AttestationDocument": b"not-an-attestation"}
# Every byte value, so no encoding step can get away with mangling one.
ALL_BYTES = bytes(range(256))


# ------------------------------------------------------------------------------------------------
# Helpers
# ------------------------------------------------------------------------------------------------


def unique_alias(prefix: str = "dp") -> str:
    return f"alias/{prefix}-{uuid.uuid4().hex[:12]}"


def new_key(kms, alias: bool = False) -> dict:
    """A fresh symmetric key's metadata; with ``alias``, also ``Alias`` and ``AliasArn``."""
    metadata = kms.create_key(Description="data plane wire test")["KeyMetadata"]
    if alias:
        name = unique_alias()
        kms.create_alias(AliasName=name, TargetKeyId=metadata["KeyId"])
        metadata = {**metadata, "Alias": name, "AliasArn": f"arn:aws:kms:{REGION}:{ACCOUNT_ID}:{name}"}
    return metadata


def refused(code: str, call, status: int = 400, **kwargs) -> dict:
    """Runs ``call(**kwargs)``, which must fail with ``code`` and ``status``; returns the error response."""
    with pytest.raises(ClientError) as excinfo:
        call(**kwargs)
    response = excinfo.value.response
    shown = {key: value for key, value in kwargs.items() if not isinstance(value, bytes)}
    assert response["Error"]["Code"] == code, (shown, response["Error"])
    assert response["ResponseMetadata"]["HTTPStatusCode"] == status, (shown, response["ResponseMetadata"])
    assert response["ResponseMetadata"]["RequestId"], "errors carry x-amzn-RequestId"
    return response


def message_of(response: dict) -> str:
    return response["Error"]["Message"]


def flip(blob: bytes, index: int) -> bytes:
    forged = bytearray(blob)
    forged[index] ^= 0x01
    return bytes(forged)


# ------------------------------------------------------------------------------------------------
# Encrypt and Decrypt
# ------------------------------------------------------------------------------------------------


def test_encrypt_decrypt_round_trip(kms):
    key = new_key(kms)
    encrypted = kms.encrypt(KeyId=key["KeyId"], Plaintext=ALL_BYTES)
    assert encrypted["KeyId"] == key["Arn"], "responses name the key by its ARN"
    assert KEY_ARN.match(encrypted["KeyId"])
    assert encrypted["EncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"
    assert encrypted["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert encrypted["ResponseMetadata"]["RequestId"]
    blob = encrypted["CiphertextBlob"]
    assert len(blob) == blob_overhead(blob) + len(ALL_BYTES)
    assert ALL_BYTES not in blob

    again = kms.encrypt(KeyId=key["KeyId"], Plaintext=ALL_BYTES)["CiphertextBlob"]
    assert again != blob, "every encryption takes a fresh nonce"

    for ciphertext in (blob, again):
        decrypted = kms.decrypt(CiphertextBlob=ciphertext)
        assert decrypted["Plaintext"] == ALL_BYTES
        assert decrypted["KeyId"] == key["Arn"]
        assert decrypted["EncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"
        assert decrypted["ResponseMetadata"]["RequestId"]


def test_plaintext_size_boundaries(kms, raw_kms):
    key_id = new_key(kms)["KeyId"]
    for size in (1, 4096):
        plaintext = os.urandom(size)
        blob = kms.encrypt(KeyId=key_id, Plaintext=plaintext)["CiphertextBlob"]
        assert len(blob) == blob_overhead(blob) + size
        assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == plaintext

    response = refused("ValidationException", raw_kms.encrypt, KeyId=key_id, Plaintext=b"")
    assert "plaintext" in message_of(response)
    response = refused("ValidationException", raw_kms.encrypt, KeyId=key_id, Plaintext=b"x" * 4097)
    assert "4096" in message_of(response)

    refused("ValidationException", raw_kms.decrypt, CiphertextBlob=b"")
    response = refused("ValidationException", raw_kms.decrypt, CiphertextBlob=b"x" * 6145)
    assert "6144" in message_of(response)
    refused("ValidationException", raw_kms.re_encrypt, CiphertextBlob=b"x" * 6145, DestinationKeyId=key_id)
    # 6144 bytes is within the limit: the blob is refused for what it is, not for its size.
    refused("InvalidCiphertextException", raw_kms.decrypt, CiphertextBlob=b"\x01" * 6144)


def test_missing_required_fields(raw_kms, kms):
    key_id = new_key(kms)["KeyId"]
    response = refused("ValidationException", raw_kms.encrypt, KeyId=key_id)
    assert "plaintext" in message_of(response)
    response = refused("ValidationException", raw_kms.encrypt, Plaintext=b"x")
    assert "keyId" in message_of(response)
    response = refused("ValidationException", raw_kms.decrypt)
    assert "ciphertextBlob" in message_of(response)
    response = refused("ValidationException", raw_kms.generate_data_key, KeySpec="AES_256")
    assert "keyId" in message_of(response)
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"x")["CiphertextBlob"]
    response = refused("ValidationException", raw_kms.re_encrypt, CiphertextBlob=blob)
    assert "destinationKeyId" in message_of(response)


def test_every_key_identifier_encrypts_and_decrypts(kms):
    key = new_key(kms, alias=True)
    references = (key["KeyId"], key["Arn"], key["Alias"], key["AliasArn"])
    for reference in references:
        encrypted = kms.encrypt(KeyId=reference, Plaintext=b"by " + reference.encode())
        assert encrypted["KeyId"] == key["Arn"], reference
        for decrypt_with in references:
            decrypted = kms.decrypt(CiphertextBlob=encrypted["CiphertextBlob"], KeyId=decrypt_with)
            assert decrypted["Plaintext"] == b"by " + reference.encode(), (reference, decrypt_with)
            assert decrypted["KeyId"] == key["Arn"]


def test_encryption_context_is_bound(kms):
    key_id = new_key(kms)["KeyId"]
    context = {"tenant": "acme", "purpose": "wire", "ünïcode": "välue ✓"}
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"bound", EncryptionContext=context)["CiphertextBlob"]

    reordered = dict(reversed(list(context.items())))
    assert kms.decrypt(CiphertextBlob=blob, EncryptionContext=reordered)["Plaintext"] == b"bound"

    wrong_contexts = [
        None,
        {},
        {"tenant": "acme", "purpose": "wire"},
        {**context, "extra": "pair"},
        {**context, "tenant": "ACME"},
        {**context, "tenant": "acme "},
        {"Tenant": "acme", "purpose": "wire", "ünïcode": "välue ✓"},
    ]
    for wrong in wrong_contexts:
        kwargs = {"CiphertextBlob": blob}
        if wrong is not None:
            kwargs["EncryptionContext"] = wrong
        response = refused("InvalidCiphertextException", kms.decrypt, **kwargs)
        assert message_of(response) == INVALID_CIPHERTEXT_MESSAGE, wrong

    # A blob made without a context opens without one, and refuses any.
    bare = kms.encrypt(KeyId=key_id, Plaintext=b"bare")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=bare, EncryptionContext={})["Plaintext"] == b"bare"
    refused("InvalidCiphertextException", kms.decrypt, CiphertextBlob=bare, EncryptionContext={"a": ""})

    # Length-prefixed canonical form: moving a character between key and value is a different context.
    split = kms.encrypt(KeyId=key_id, Plaintext=b"s", EncryptionContext={"ab": "c"})["CiphertextBlob"]
    refused("InvalidCiphertextException", kms.decrypt, CiphertextBlob=split, EncryptionContext={"a": "bc"})


def test_encryption_context_size_limit(kms):
    key_id = new_key(kms)["KeyId"]
    response = refused(
        "ValidationException", kms.encrypt, KeyId=key_id, Plaintext=b"x", EncryptionContext={"k": "v" * 9000}
    )
    assert "encryption context" in message_of(response)
    refused("ValidationException", kms.decrypt, CiphertextBlob=b"\x01" * 60, EncryptionContext={"k": "v" * 9000})


def test_decrypt_with_another_key_is_incorrect_key(kms):
    owner = new_key(kms)
    other = new_key(kms, alias=True)
    blob = kms.encrypt(KeyId=owner["KeyId"], Plaintext=b"mine")["CiphertextBlob"]
    for reference in (other["KeyId"], other["Arn"], other["Alias"], other["AliasArn"]):
        response = refused("IncorrectKeyException", kms.decrypt, CiphertextBlob=blob, KeyId=reference)
        assert "does not identify the KMS key that encrypted the ciphertext" in message_of(response)
    refused(
        "IncorrectKeyException",
        kms.re_encrypt,
        CiphertextBlob=blob,
        SourceKeyId=other["KeyId"],
        DestinationKeyId=owner["KeyId"],
    )
    # The right key still opens it.
    assert kms.decrypt(CiphertextBlob=blob, KeyId=owner["Arn"])["Plaintext"] == b"mine"


def test_unknown_keys_are_not_found(kms):
    key_id = new_key(kms)["KeyId"]
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"x")["CiphertextBlob"]
    missing = str(uuid.uuid4())
    for reference in (missing, f"arn:aws:kms:{REGION}:{ACCOUNT_ID}:key/{missing}", unique_alias("missing")):
        refused("NotFoundException", kms.encrypt, KeyId=reference, Plaintext=b"x")
        refused("NotFoundException", kms.generate_data_key, KeyId=reference, KeySpec="AES_256")
        refused("NotFoundException", kms.generate_data_key_without_plaintext, KeyId=reference, NumberOfBytes=8)
        refused("NotFoundException", kms.decrypt, CiphertextBlob=blob, KeyId=reference)
        refused("NotFoundException", kms.re_encrypt, CiphertextBlob=blob, DestinationKeyId=reference)
        refused(
            "NotFoundException", kms.re_encrypt, CiphertextBlob=blob, SourceKeyId=reference, DestinationKeyId=key_id
        )


def test_tampered_and_truncated_ciphertexts_are_invalid(kms):
    key = new_key(kms)
    other = new_key(kms)
    plaintext = b"tamper-evident plaintext"
    context = {"case": "tamper"}
    blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=plaintext, EncryptionContext=context)["CiphertextBlob"]
    assert len(blob) == blob_overhead(blob) + len(plaintext)
    assert kms.decrypt(CiphertextBlob=blob, EncryptionContext=context)["Plaintext"] == plaintext

    header = header_bytes(blob)
    body_start = header + NONCE_BYTES
    regions = {
        "version byte": 0,
        "key id": 5,
        "material version": COMMON_HEADER_BYTES - 1,
        "last header byte": header - 1,
        "nonce first": header,
        "nonce last": body_start - 1,
        "body first": body_start,
        "body middle": body_start + len(plaintext) // 2,
        "tag first": len(blob) - TAG_BYTES,
        "tag last": len(blob) - 1,
    }
    forgeries = {name: flip(blob, index) for name, index in regions.items()}
    forgeries.update(
        {
            "truncated by one": blob[:-1],
            "truncated to the header": blob[:header],
            "truncated to one byte": blob[:1],
            "one byte appended": blob + b"\x00",
            "tag removed": blob[:-TAG_BYTES],
            "names a key that does not exist": blob[:1] + uuid.uuid4().bytes + blob[17:],
            "names another existing key": blob[:1] + uuid.UUID(other["KeyId"]).bytes + blob[17:],
            "random bytes": os.urandom(len(blob)),
        }
    )
    messages = set()
    for name, forged in forgeries.items():
        assert forged != blob, name
        with pytest.raises(ClientError) as excinfo:
            kms.decrypt(CiphertextBlob=forged, EncryptionContext=context)
        assert excinfo.value.response["Error"]["Code"] == "InvalidCiphertextException", name
        messages.add(excinfo.value.response["Error"]["Message"])
        with pytest.raises(ClientError) as excinfo:
            kms.re_encrypt(CiphertextBlob=forged, SourceEncryptionContext=context, DestinationKeyId=other["KeyId"])
        assert excinfo.value.response["Error"]["Code"] == "InvalidCiphertextException", name
        messages.add(excinfo.value.response["Error"]["Message"])
    assert messages == {INVALID_CIPHERTEXT_MESSAGE}, "a forged blob gets one answer, whatever was changed"

    # Naming the key the (untouched) header names does not make a forged body any better.
    refused(
        "InvalidCiphertextException",
        kms.decrypt,
        CiphertextBlob=forgeries["body first"],
        EncryptionContext=context,
        KeyId=key["Arn"],
    )


def test_disabled_key_refuses_every_operation_until_enabled(kms):
    key = new_key(kms)
    healthy = new_key(kms)
    blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"before")["CiphertextBlob"]
    healthy_blob = kms.encrypt(KeyId=healthy["KeyId"], Plaintext=b"healthy")["CiphertextBlob"]
    kms.disable_key(KeyId=key["KeyId"])

    calls = [
        (kms.encrypt, {"KeyId": key["KeyId"], "Plaintext": b"x"}),
        (kms.decrypt, {"CiphertextBlob": blob}),
        (kms.decrypt, {"CiphertextBlob": blob, "KeyId": key["Arn"]}),
        (kms.re_encrypt, {"CiphertextBlob": blob, "DestinationKeyId": healthy["KeyId"]}),
        (kms.re_encrypt, {"CiphertextBlob": healthy_blob, "DestinationKeyId": key["KeyId"]}),
        (kms.generate_data_key, {"KeyId": key["KeyId"], "KeySpec": "AES_256"}),
        (kms.generate_data_key_without_plaintext, {"KeyId": key["KeyId"], "NumberOfBytes": 32}),
    ]
    for call, kwargs in calls:
        response = refused("DisabledException", call, **kwargs)
        assert message_of(response) == f"{key['Arn']} is disabled.", call

    kms.enable_key(KeyId=key["KeyId"])
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"before"
    assert kms.encrypt(KeyId=key["KeyId"], Plaintext=b"after")["KeyId"] == key["Arn"]


def test_key_pending_deletion_is_in_an_invalid_state(kms):
    key = new_key(kms, alias=True)
    healthy = new_key(kms)
    blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"doomed")["CiphertextBlob"]
    healthy_blob = kms.encrypt(KeyId=healthy["KeyId"], Plaintext=b"healthy")["CiphertextBlob"]
    scheduled = kms.schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=7)
    assert scheduled["KeyState"] == "PendingDeletion"

    calls = [
        (kms.encrypt, {"KeyId": key["Alias"], "Plaintext": b"x"}),
        (kms.decrypt, {"CiphertextBlob": blob}),
        (kms.re_encrypt, {"CiphertextBlob": blob, "DestinationKeyId": healthy["KeyId"]}),
        (kms.re_encrypt, {"CiphertextBlob": healthy_blob, "DestinationKeyId": key["AliasArn"]}),
        (kms.generate_data_key, {"KeyId": key["Arn"], "NumberOfBytes": 64}),
        (kms.generate_data_key_without_plaintext, {"KeyId": key["KeyId"], "KeySpec": "AES_128"}),
    ]
    for call, kwargs in calls:
        response = refused("KMSInvalidStateException", call, **kwargs)
        assert message_of(response) == f"{key['Arn']} is pending deletion.", call

    # Cancelling leaves the key disabled; enabling it makes the old blob readable again.
    kms.cancel_key_deletion(KeyId=key["KeyId"])
    refused("DisabledException", kms.decrypt, CiphertextBlob=blob)
    kms.enable_key(KeyId=key["KeyId"])
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"doomed"


def test_encryption_algorithm(kms, raw_kms):
    key = new_key(kms)
    other = new_key(kms)
    encrypted = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"x", EncryptionAlgorithm="SYMMETRIC_DEFAULT")
    assert encrypted["EncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"
    blob = encrypted["CiphertextBlob"]
    decrypted = kms.decrypt(CiphertextBlob=blob, EncryptionAlgorithm="SYMMETRIC_DEFAULT")
    assert decrypted["Plaintext"] == b"x"

    for algorithm in ("RSAES_OAEP_SHA_256", "RSAES_OAEP_SHA_1"):
        response = refused(
            "InvalidKeyUsageException", kms.encrypt, KeyId=key["KeyId"], Plaintext=b"x", EncryptionAlgorithm=algorithm
        )
        assert key["Arn"] in message_of(response)
        refused("InvalidKeyUsageException", kms.decrypt, CiphertextBlob=blob, EncryptionAlgorithm=algorithm)
        refused(
            "InvalidKeyUsageException",
            kms.re_encrypt,
            CiphertextBlob=blob,
            DestinationKeyId=other["KeyId"],
            SourceEncryptionAlgorithm=algorithm,
        )
        refused(
            "InvalidKeyUsageException",
            kms.re_encrypt,
            CiphertextBlob=blob,
            DestinationKeyId=other["KeyId"],
            DestinationEncryptionAlgorithm=algorithm,
        )

    response = refused(
        "ValidationException", raw_kms.encrypt, KeyId=key["KeyId"], Plaintext=b"x", EncryptionAlgorithm="AES_GCM"
    )
    assert "encryptionAlgorithm" in message_of(response)
    refused("ValidationException", raw_kms.decrypt, CiphertextBlob=blob, EncryptionAlgorithm="symmetric_default")
    refused(
        "ValidationException",
        raw_kms.re_encrypt,
        CiphertextBlob=blob,
        DestinationKeyId=other["KeyId"],
        DestinationEncryptionAlgorithm="BOGUS",
    )


def test_grant_tokens_are_accepted_and_checked(kms, raw_kms):
    key_id = new_key(kms)["KeyId"]
    # Ten tokens (AWS's most) that this cluster issued; one it did not is InvalidGrantTokenException.
    token = kms.create_grant(
        KeyId=key_id, GranteePrincipal=f"arn:aws:iam::{ACCOUNT_ID}:user/admin", Operations=["Encrypt"]
    )["GrantToken"]
    tokens = [token] * 10
    with pytest.raises(kms.exceptions.InvalidGrantTokenException):
        kms.encrypt(KeyId=key_id, Plaintext=b"x", GrantTokens=["t" * 8192])
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"granted", GrantTokens=tokens)["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob, GrantTokens=tokens)["Plaintext"] == b"granted"
    assert kms.re_encrypt(CiphertextBlob=blob, DestinationKeyId=key_id, GrantTokens=tokens)["KeyId"]
    assert len(kms.generate_data_key(KeyId=key_id, KeySpec="AES_256", GrantTokens=tokens)["Plaintext"]) == 32
    assert kms.generate_data_key_without_plaintext(KeyId=key_id, KeySpec="AES_256", GrantTokens=tokens)[
        "CiphertextBlob"
    ]

    for bad in (["t"] * 11, [""], ["t" * 8193]):
        response = refused("ValidationException", raw_kms.encrypt, KeyId=key_id, Plaintext=b"x", GrantTokens=bad)
        assert "grantTokens" in message_of(response)
        refused("ValidationException", raw_kms.decrypt, CiphertextBlob=blob, GrantTokens=bad)
        refused(
            "ValidationException", raw_kms.re_encrypt, CiphertextBlob=blob, DestinationKeyId=key_id, GrantTokens=bad
        )
        refused("ValidationException", raw_kms.generate_data_key, KeyId=key_id, NumberOfBytes=8, GrantTokens=bad)
        refused(
            "ValidationException",
            raw_kms.generate_data_key_without_plaintext,
            KeyId=key_id,
            NumberOfBytes=8,
            GrantTokens=bad,
        )


def test_recipient_and_custom_key_store_are_unsupported(kms):
    key_id = new_key(kms)["KeyId"]
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"x")["CiphertextBlob"]
    response = refused("UnsupportedOperationException", kms.decrypt, CiphertextBlob=blob, Recipient=RECIPIENT)
    assert "Recipient" in message_of(response)
    refused(
        "UnsupportedOperationException", kms.generate_data_key, KeyId=key_id, KeySpec="AES_256", Recipient=RECIPIENT
    )
    refused("UnsupportedOperationException", kms.generate_random, NumberOfBytes=16, Recipient=RECIPIENT)
    response = refused(
        "UnsupportedOperationException", kms.generate_random, NumberOfBytes=16, CustomKeyStoreId="cks-1234567890abcdef0"
    )
    assert "key store" in message_of(response)


# ------------------------------------------------------------------------------------------------
# ReEncrypt
# ------------------------------------------------------------------------------------------------


def test_re_encrypt_between_keys_and_contexts(kms):
    source = new_key(kms, alias=True)
    destination = new_key(kms, alias=True)
    source_context = {"stage": "one"}
    destination_context = {"stage": "two", "owner": "wire"}
    blob = kms.encrypt(KeyId=source["KeyId"], Plaintext=ALL_BYTES, EncryptionContext=source_context)["CiphertextBlob"]

    moved = kms.re_encrypt(
        CiphertextBlob=blob,
        SourceEncryptionContext=source_context,
        SourceKeyId=source["Alias"],
        DestinationKeyId=destination["AliasArn"],
        DestinationEncryptionContext=destination_context,
    )
    assert moved["SourceKeyId"] == source["Arn"]
    assert moved["KeyId"] == destination["Arn"]
    assert moved["SourceEncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"
    assert moved["DestinationEncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"
    assert moved["ResponseMetadata"]["RequestId"]
    new_blob = moved["CiphertextBlob"]
    assert new_blob != blob
    assert len(new_blob) == blob_overhead(new_blob) + len(ALL_BYTES)

    decrypted = kms.decrypt(CiphertextBlob=new_blob, EncryptionContext=destination_context)
    assert decrypted["Plaintext"] == ALL_BYTES
    assert decrypted["KeyId"] == destination["Arn"]
    assert kms.decrypt(CiphertextBlob=new_blob, EncryptionContext=destination_context, KeyId=destination["Alias"])[
        "Plaintext"
    ] == ALL_BYTES
    refused("InvalidCiphertextException", kms.decrypt, CiphertextBlob=new_blob, EncryptionContext=source_context)
    refused(
        "IncorrectKeyException",
        kms.decrypt,
        CiphertextBlob=new_blob,
        EncryptionContext=destination_context,
        KeyId=source["KeyId"],
    )
    # The source blob is untouched.
    assert kms.decrypt(CiphertextBlob=blob, EncryptionContext=source_context)["Plaintext"] == ALL_BYTES

    # Without the source context the source blob does not open, so nothing is re-encrypted.
    refused("InvalidCiphertextException", kms.re_encrypt, CiphertextBlob=blob, DestinationKeyId=destination["KeyId"])

    # Same key, new context: rotating a context without SourceKeyId.
    rebound = kms.re_encrypt(
        CiphertextBlob=new_blob,
        SourceEncryptionContext=destination_context,
        DestinationKeyId=destination["KeyId"],
        DestinationEncryptionContext={"stage": "three"},
    )
    assert rebound["SourceKeyId"] == rebound["KeyId"] == destination["Arn"]
    assert kms.decrypt(CiphertextBlob=rebound["CiphertextBlob"], EncryptionContext={"stage": "three"})[
        "Plaintext"
    ] == ALL_BYTES


# ------------------------------------------------------------------------------------------------
# Data keys and random bytes
# ------------------------------------------------------------------------------------------------


def test_generate_data_key_lengths_and_decryption(kms):
    key = new_key(kms, alias=True)
    context = {"bucket": "wire", "object": "data-key"}
    cases = [({"KeySpec": "AES_256"}, 32), ({"KeySpec": "AES_128"}, 16)] + [
        ({"NumberOfBytes": n}, n) for n in (1, 64, 1024)
    ]
    seen = set()
    for spec, length in cases:
        generated = kms.generate_data_key(KeyId=key["Alias"], EncryptionContext=context, **spec)
        assert generated["KeyId"] == key["Arn"], spec
        assert len(generated["Plaintext"]) == length, spec
        assert len(generated["CiphertextBlob"]) == blob_overhead(generated["CiphertextBlob"]) + length, spec
        assert generated["ResponseMetadata"]["RequestId"]
        decrypted = kms.decrypt(CiphertextBlob=generated["CiphertextBlob"], EncryptionContext=context)
        assert decrypted["Plaintext"] == generated["Plaintext"], spec
        assert decrypted["KeyId"] == key["Arn"]
        refused("InvalidCiphertextException", kms.decrypt, CiphertextBlob=generated["CiphertextBlob"])
        seen.add(generated["Plaintext"])
    assert len(seen) == len(cases), "every data key is fresh"

    first = kms.generate_data_key(KeyId=key["KeyId"], KeySpec="AES_256")["Plaintext"]
    second = kms.generate_data_key(KeyId=key["KeyId"], KeySpec="AES_256")["Plaintext"]
    assert first != second


def test_generate_data_key_without_plaintext(kms):
    key = new_key(kms)
    context = {"purpose": "later"}
    for spec, length in [({"KeySpec": "AES_256"}, 32), ({"KeySpec": "AES_128"}, 16), ({"NumberOfBytes": 100}, 100)]:
        generated = kms.generate_data_key_without_plaintext(KeyId=key["Arn"], EncryptionContext=context, **spec)
        assert "Plaintext" not in generated, "the data key never leaves in plaintext"
        assert generated["KeyId"] == key["Arn"]
        assert generated["ResponseMetadata"]["RequestId"]
        decrypted = kms.decrypt(CiphertextBlob=generated["CiphertextBlob"], EncryptionContext=context)
        assert len(decrypted["Plaintext"]) == length, spec


def test_generate_data_key_refusals(kms, raw_kms):
    key_id = new_key(kms)["KeyId"]
    for operation in (raw_kms.generate_data_key, raw_kms.generate_data_key_without_plaintext):
        for kwargs in ({}, {"KeySpec": "AES_256", "NumberOfBytes": 32}):
            response = refused("ValidationException", operation, KeyId=key_id, **kwargs)
            assert message_of(response) == "Please specify either number of bytes or key spec.", kwargs
        for count in (0, -1, 1025):
            response = refused("ValidationException", operation, KeyId=key_id, NumberOfBytes=count)
            assert "numberOfBytes" in message_of(response)
            assert f"'{count}'" in message_of(response)
        for spec in ("AES_512", "aes_256", "SYMMETRIC_DEFAULT"):
            response = refused("ValidationException", operation, KeyId=key_id, KeySpec=spec)
            assert "keySpec" in message_of(response)


def test_generate_random(kms, raw_kms):
    for count in (1, 32, 1024):
        generated = kms.generate_random(NumberOfBytes=count)
        assert len(generated["Plaintext"]) == count
        assert generated["ResponseMetadata"]["RequestId"]
    first = kms.generate_random(NumberOfBytes=32)["Plaintext"]
    second = kms.generate_random(NumberOfBytes=32)["Plaintext"]
    assert first != second
    assert first != bytes(32)
    # 4 KiB of output covers (nearly) every byte value; a stuck or biased generator would not.
    pooled = b"".join(kms.generate_random(NumberOfBytes=1024)["Plaintext"] for _ in range(4))
    assert len(set(pooled)) > 240

    for count in (0, -5, 1025):
        response = refused("ValidationException", raw_kms.generate_random, NumberOfBytes=count)
        assert "numberOfBytes" in message_of(response)
    refused("ValidationException", raw_kms.generate_random)


# ------------------------------------------------------------------------------------------------
# DryRun and request ids
# ------------------------------------------------------------------------------------------------


def test_dry_run_on_every_operation(kms):
    # GenerateRandom has no DryRun parameter in the AWS model; every other data-plane call does.
    key = new_key(kms)
    other = new_key(kms)
    blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"dry", EncryptionContext={"c": "1"})["CiphertextBlob"]
    calls = [
        (kms.encrypt, {"KeyId": key["KeyId"], "Plaintext": b"x"}),
        (kms.decrypt, {"CiphertextBlob": blob, "EncryptionContext": {"c": "1"}}),
        (kms.decrypt, {"CiphertextBlob": blob, "EncryptionContext": {"c": "1"}, "KeyId": key["Arn"]}),
        (
            kms.re_encrypt,
            {"CiphertextBlob": blob, "SourceEncryptionContext": {"c": "1"}, "DestinationKeyId": other["KeyId"]},
        ),
        (kms.generate_data_key, {"KeyId": key["KeyId"], "KeySpec": "AES_256"}),
        (kms.generate_data_key_without_plaintext, {"KeyId": key["KeyId"], "NumberOfBytes": 16}),
    ]
    request_ids = set()
    for call, kwargs in calls:
        response = refused("DryRunOperationException", call, status=412, DryRun=True, **kwargs)
        assert message_of(response) == DRY_RUN_MESSAGE
        request_ids.add(response["ResponseMetadata"]["RequestId"])
        # DryRun=False is an ordinary call.
        done = call(DryRun=False, **kwargs)
        assert done["ResponseMetadata"]["HTTPStatusCode"] == 200
        assert "KeyId" in done
    assert len(request_ids) == len(calls), "every response has its own request id"

    # A dry run still makes every check: a request that would fail fails the same way.
    refused("InvalidCiphertextException", kms.decrypt, CiphertextBlob=blob, DryRun=True)
    refused(
        "IncorrectKeyException",
        kms.decrypt,
        CiphertextBlob=blob,
        EncryptionContext={"c": "1"},
        KeyId=other["KeyId"],
        DryRun=True,
    )
    kms.disable_key(KeyId=other["KeyId"])
    refused("DisabledException", kms.encrypt, KeyId=other["KeyId"], Plaintext=b"x", DryRun=True)
    refused("DisabledException", kms.generate_data_key, KeyId=other["KeyId"], KeySpec="AES_256", DryRun=True)


def test_dry_run_ignore_ciphertext_modifier(kms):
    """With DryRunModifiers=[IGNORE_CIPHERTEXT] a dry run needs no ciphertext, but still checks
    the keys it names."""
    key = new_key(kms)
    other = new_key(kms)
    refused(
        "DryRunOperationException",
        kms.decrypt,
        status=412,
        KeyId=key["Arn"],
        DryRun=True,
        DryRunModifiers=["IGNORE_CIPHERTEXT"],
    )
    refused(
        "DryRunOperationException",
        kms.re_encrypt,
        status=412,
        CiphertextBlob=b"not a blob",
        SourceKeyId=key["Arn"],
        DestinationKeyId=other["Arn"],
        DryRun=True,
        DryRunModifiers=["IGNORE_CIPHERTEXT"],
    )
    kms.disable_key(KeyId=key["KeyId"])
    refused(
        "DisabledException",
        kms.decrypt,
        KeyId=key["Arn"],
        DryRun=True,
        DryRunModifiers=["IGNORE_CIPHERTEXT"],
    )


def test_every_data_plane_response_carries_a_request_id(kms):
    key_id = new_key(kms)["KeyId"]
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"id")["CiphertextBlob"]
    responses = [
        kms.encrypt(KeyId=key_id, Plaintext=b"id"),
        kms.decrypt(CiphertextBlob=blob),
        kms.re_encrypt(CiphertextBlob=blob, DestinationKeyId=key_id),
        kms.generate_data_key(KeyId=key_id, KeySpec="AES_128"),
        kms.generate_data_key_without_plaintext(KeyId=key_id, KeySpec="AES_128"),
        kms.generate_random(NumberOfBytes=8),
    ]
    ids = [response["ResponseMetadata"]["RequestId"] for response in responses]
    assert all(ids), ids
    assert all(response["ResponseMetadata"]["HTTPHeaders"].get("x-amzn-requestid") for response in responses)
    assert len(set(ids)) == len(ids), "request ids are unique"


# ------------------------------------------------------------------------------------------------
# Hand-signed HTTP: what no SDK sends
# ------------------------------------------------------------------------------------------------


def signed_post(endpoint: str, target: str, body: bytes):
    """POSTs ``body`` with ``X-Amz-Target: target``, SigV4-signed; returns (status, headers, JSON body)."""
    request = AWSRequest(
        method="POST",
        url=f"{endpoint}/",
        data=body,
        headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": target},
    )
    SigV4Auth(Credentials(ACCESS_KEY_ID, SECRET_ACCESS_KEY), "kms", REGION).add_auth(request)
    prepared = request.prepare()
    outgoing = urllib.request.Request(prepared.url, data=body, headers=dict(prepared.headers), method="POST")
    try:
        with urllib.request.urlopen(outgoing, timeout=10) as response:
            return response.status, response.headers, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, error.headers, json.loads(error.read())


def post_json(endpoint: str, operation: str, document) -> tuple:
    return signed_post(endpoint, f"TrentService.{operation}", json.dumps(document).encode())


def test_raw_http_success_shape(endpoint, kms):
    key = new_key(kms)
    document = {
        "KeyId": key["KeyId"],
        "Plaintext": base64.b64encode(b"raw").decode(),
        # JSON null is an absent field; unknown fields are ignored, as AWS ignores them.
        "EncryptionContext": None,
        "GrantTokens": None,
        "SomeFutureField": {"nested": [1, 2]},
    }
    status, headers, body = post_json(endpoint, "Encrypt", document)
    assert status == 200, body
    assert headers["Content-Type"] == "application/x-amz-json-1.1"
    assert headers["x-amzn-RequestId"]
    assert set(body) == {"CiphertextBlob", "KeyId", "EncryptionAlgorithm"}
    assert body["KeyId"] == key["Arn"]
    blob = base64.b64decode(body["CiphertextBlob"], validate=True)

    status, headers, body = post_json(endpoint, "Decrypt", {"CiphertextBlob": base64.b64encode(blob).decode()})
    assert status == 200, body
    assert set(body) == {"KeyId", "Plaintext", "EncryptionAlgorithm"}
    assert base64.b64decode(body["Plaintext"]) == b"raw"

    status, headers, body = post_json(endpoint, "GenerateRandom", {"NumberOfBytes": 48})
    assert status == 200, body
    assert set(body) == {"Plaintext"}
    assert len(base64.b64decode(body["Plaintext"])) == 48

    status, headers, body = post_json(endpoint, "Encrypt", {**document, "DryRun": True})
    assert status == 412
    assert body["__type"] == "DryRunOperationException"
    assert headers["x-amzn-RequestId"]


def test_raw_http_serialization_errors(endpoint, kms):
    key_id = new_key(kms)["KeyId"]
    bad_documents = [
        ("Encrypt", {"KeyId": key_id, "Plaintext": "not base64!"}),
        ("Decrypt", {"CiphertextBlob": "%%%%"}),
        ("Encrypt", {"KeyId": key_id, "Plaintext": 12345}),
        ("Encrypt", {"KeyId": 7, "Plaintext": "aGk="}),
        ("Encrypt", {"KeyId": key_id, "Plaintext": "aGk=", "EncryptionContext": {"a": 1}}),
        ("Encrypt", {"KeyId": key_id, "Plaintext": "aGk=", "EncryptionContext": ["a", "b"]}),
        ("Encrypt", {"KeyId": key_id, "Plaintext": "aGk=", "GrantTokens": "one-token"}),
        ("Encrypt", {"KeyId": key_id, "Plaintext": "aGk=", "DryRun": "yes"}),
        ("GenerateRandom", {"NumberOfBytes": "ten"}),
        ("GenerateDataKey", {"KeyId": key_id, "NumberOfBytes": [32]}),
        ("ReEncrypt", {"CiphertextBlob": "aGk=", "DestinationKeyId": {"id": key_id}}),
    ]
    for operation, document in bad_documents:
        status, headers, body = post_json(endpoint, operation, document)
        assert (status, body.get("__type")) == (400, "SerializationException"), (operation, document, body)
        assert headers["x-amzn-RequestId"]
    for raw in (b"not json", b"[1, 2]", b'{"KeyId": '):
        status, headers, body = signed_post(endpoint, "TrentService.Encrypt", raw)
        assert (status, body.get("__type")) == (400, "SerializationException"), (raw, body)


def test_raw_http_unknown_operation(endpoint):
    for target in ("TrentService.EncryptEverything", "TrentService.", "KmsService.Encrypt", "Encrypt"):
        status, headers, body = signed_post(endpoint, target, b"{}")
        assert (status, body.get("__type")) == (400, "UnknownOperationException"), (target, body)
        assert headers["x-amzn-RequestId"]


# ------------------------------------------------------------------------------------------------
# The aws CLI
# ------------------------------------------------------------------------------------------------


@pytest.mark.skipif(aws_cli() is None, reason="the aws CLI is not installed")
def test_aws_cli_encrypt_decrypt_binary_file(endpoint, kms, tmp_path):
    key = new_key(kms, alias=True)
    env = aws_cli_env(tmp_path)

    def aws(*args: str, check: bool = True) -> subprocess.CompletedProcess:
        command = [aws_cli(), "kms", *args, "--endpoint-url", endpoint]
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
        if check:
            assert done.returncode == 0, f"{' '.join(command)} failed:\n{done.stderr}"
        return done

    plaintext = ALL_BYTES + os.urandom(2048) + b"\x00\r\n\x1a" + ALL_BYTES[::-1]
    source = tmp_path / "plain.bin"
    source.write_bytes(plaintext)

    encoded = aws(
        "encrypt",
        "--key-id", key["Alias"],
        "--plaintext", f"fileb://{source}",
        "--encryption-context", "purpose=cli,team=wire",
        "--output", "text",
        "--query", "CiphertextBlob",
    ).stdout.strip()
    blob = base64.b64decode(encoded, validate=True)
    assert len(blob) == blob_overhead(blob) + len(plaintext)
    ciphertext = tmp_path / "cipher.bin"
    ciphertext.write_bytes(blob)

    decrypted = json.loads(
        aws(
            "decrypt",
            "--ciphertext-blob", f"fileb://{ciphertext}",
            "--encryption-context", "team=wire,purpose=cli",
            "--output", "json",
        ).stdout
    )
    assert decrypted["KeyId"] == key["Arn"]
    assert decrypted["EncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"
    assert base64.b64decode(decrypted["Plaintext"]) == plaintext

    # The blob also opens through boto3: the CLI and the SDK see the same wire format.
    assert kms.decrypt(CiphertextBlob=blob, EncryptionContext={"purpose": "cli", "team": "wire"})[
        "Plaintext"
    ] == plaintext

    wrong = aws(
        "decrypt",
        "--ciphertext-blob", f"fileb://{ciphertext}",
        "--encryption-context", "purpose=cli",
        check=False,
    )
    assert wrong.returncode != 0
    assert "InvalidCiphertextException" in wrong.stderr

    dry = aws("generate-data-key", "--key-id", key["KeyId"], "--key-spec", "AES_256", "--dry-run", check=False)
    assert dry.returncode != 0
    assert "DryRunOperationException" in dry.stderr
