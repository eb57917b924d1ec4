"""The AWS Encryption SDK for Python against a running Trent node: envelope encryption of a
multi-MiB file through the streaming API with a Trent key, the key's state enforced on decrypt,
and tampered messages refused.

The ESDK builds its own botocore clients; they find Trent through ``AWS_ENDPOINT_URL_KMS`` and the
usual credential variables, exactly as an application would be configured. Each provider gets a
botocore session with hooks that record every KMS call it makes, so the tests can check which
operations reached Trent and what Trent answered.
"""

import io
import json
import os

import aws_encryption_sdk
import botocore.session
import pytest
from aws_encryption_sdk import CommitmentPolicy
from aws_encryption_sdk.exceptions import DecryptKeyError, GenerateKeyError
from aws_encryption_sdk.identifiers import Algorithm
from aws_encryption_sdk.key_providers.kms import DiscoveryFilter
from botocore.exceptions import ClientError
from cryptography.exceptions import InvalidSignature, InvalidTag

from conftest import ACCESS_KEY_ID, ACCOUNT_ID, REGION, SECRET_ACCESS_KEY

FILE_BYTES = 5 * 1024 * 1024
# The ESDK's default suite under REQUIRE_ENCRYPT_REQUIRE_DECRYPT: key commitment plus a signature.
DEFAULT_SUITE = Algorithm.AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384
# The suite derives its data key from 32 bytes that GenerateDataKey returns.
DATA_KEY_BYTES = 32


@pytest.fixture
def esdk_env(endpoint, monkeypatch, tmp_path):
    """Points every botocore client made from here on at Trent, through the environment only."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_KMS", endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    # One attempt per call, so the recorded calls are exactly what the ESDK asked for.
    monkeypatch.setenv("AWS_RETRY_MODE", "standard")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    # Keep the user's own configuration and credentials out of the test.
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"):
        monkeypatch.delenv(name, raising=False)
    return endpoint


@pytest.fixture
def esdk():
    return aws_encryption_sdk.EncryptionSDKClient(commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT)


class RecordedSession:
    """A botocore session (configured from the environment) that records each KMS call made by
    clients created from it: operation, request document, HTTP status, URL and error code."""

    def __init__(self):
        self.session = botocore.session.Session()
        self.calls = []
        self.session.register("before-call.kms", self._before)
        self.session.register("after-call.kms", self._after)

    def _before(self, model, params, **_):
        body = params.get("body") or b"{}"
        self.calls.append({"operation": model.name, "request": json.loads(body)})

    def _after(self, model, http_response, parsed, **_):
        call = self.calls[-1]
        assert call["operation"] == model.name
        call["status"] = http_response.status_code
        call["url"] = http_response.url
        call["error"] = parsed.get("Error", {}).get("Code")
        call["key_id"] = parsed.get("KeyId")

    def operations(self):
        return [(call["operation"], call["status"], call["error"]) for call in self.calls]


def strict_provider(key_id: str):
    recorded = RecordedSession()
    provider = aws_encryption_sdk.StrictAwsKmsMasterKeyProvider(key_ids=[key_id], botocore_session=recorded.session)
    return provider, recorded


def new_key(kms) -> dict:
    return kms.create_key(Description="encryption sdk wire test")["KeyMetadata"]


def stream_through(esdk, mode: str, source_path, destination_path, **kwargs):
    """Runs the ESDK's streaming API from one file to another; returns the message header."""
    with open(source_path, "rb") as source, open(destination_path, "wb") as destination:
        with esdk.stream(mode=mode, source=source, **kwargs) as stream:
            for chunk in stream:
                destination.write(chunk)
            return stream.header


def test_stream_a_multi_mib_file_through_a_trent_key(esdk_env, esdk, kms, tmp_path):
    key = new_key(kms)
    plaintext = os.urandom(FILE_BYTES)
    plain_path = tmp_path / "payload.bin"
    plain_path.write_bytes(plaintext)
    cipher_path = tmp_path / "payload.bin.encrypted"
    context = {"purpose": "wire-esdk", "file": "payload.bin"}

    provider, recorded = strict_provider(key["Arn"])
    header = stream_through(esdk, "e", plain_path, cipher_path, key_provider=provider, encryption_context=context)

    message = cipher_path.read_bytes()
    assert len(message) > FILE_BYTES
    assert plaintext[:4096] not in message
    assert header.algorithm == DEFAULT_SUITE
    assert {name: header.encryption_context[name] for name in context} == context
    assert set(header.encryption_context) == set(context) | {"aws-crypto-public-key"}

    # Exactly one GenerateDataKey reached Trent, for the suite's 32 bytes, bound to the full context.
    assert recorded.operations() == [("GenerateDataKey", 200, None)]
    [call] = recorded.calls
    assert call["url"].startswith(esdk_env), call["url"]
    assert call["request"]["KeyId"] == key["Arn"]
    assert call["request"]["NumberOfBytes"] == DATA_KEY_BYTES
    assert call["request"]["EncryptionContext"] == header.encryption_context
    assert call["key_id"] == key["Arn"]

    # The message carries one encrypted data key: a Trent blob under the key, bound to the context.
    [edk] = header.encrypted_data_keys
    assert edk.key_provider.provider_id == "aws-kms"
    assert edk.key_provider.key_info == key["Arn"].encode()
    opened = kms.decrypt(CiphertextBlob=edk.encrypted_data_key, EncryptionContext=header.encryption_context)
    assert opened["KeyId"] == key["Arn"]
    assert len(opened["Plaintext"]) == DATA_KEY_BYTES
    with pytest.raises(kms.exceptions.InvalidCiphertextException):
        kms.decrypt(CiphertextBlob=edk.encrypted_data_key, EncryptionContext=context)

    # A fresh provider (new clients, nothing cached) decrypts the file with one Decrypt call.
    decrypt_provider, decrypt_recorded = strict_provider(key["Arn"])
    decrypted_path = tmp_path / "payload.bin.decrypted"
    decrypt_header = stream_through(esdk, "d", cipher_path, decrypted_path, key_provider=decrypt_provider)
    assert decrypted_path.read_bytes() == plaintext
    assert decrypt_header.encryption_context == header.encryption_context
    assert decrypt_header.algorithm == DEFAULT_SUITE
    assert decrypt_recorded.operations() == [("Decrypt", 200, None)]
    [call] = decrypt_recorded.calls
    assert call["url"].startswith(esdk_env)
    assert call["request"]["KeyId"] == key["Arn"]
    assert call["request"]["EncryptionContext"] == header.encryption_context
    # The ESDK refuses a Decrypt answer naming any key but the one it asked for.
    assert call["key_id"] == key["Arn"]


def test_alias_for_encryption_and_discovery_for_decryption(esdk_env, esdk, kms):
    key = new_key(kms)
    alias = f"alias/esdk-{os.urandom(6).hex()}"
    kms.create_alias(AliasName=alias, TargetKeyId=key["KeyId"])
    alias_arn = f"arn:aws:kms:{REGION}:{ACCOUNT_ID}:{alias}"
    plaintext = os.urandom(300_000)

    provider, recorded = strict_provider(alias_arn)
    message, header = esdk.encrypt(source=plaintext, key_provider=provider, encryption_context={"via": "alias"})
    assert recorded.calls[0]["request"]["KeyId"] == alias_arn
    # GenerateDataKey answers with the key ARN, and that is what the message records.
    [edk] = header.encrypted_data_keys
    assert edk.key_provider.key_info == key["Arn"].encode()

    recorded_discovery = RecordedSession()
    discovery = aws_encryption_sdk.DiscoveryAwsKmsMasterKeyProvider(
        discovery_filter=DiscoveryFilter(account_ids=[ACCOUNT_ID], partition="aws"),
        botocore_session=recorded_discovery.session,
    )
    decrypted, decrypt_header = esdk.decrypt(source=message, key_provider=discovery)
    assert decrypted == plaintext
    assert decrypt_header.encryption_context["via"] == "alias"
    assert recorded_discovery.operations() == [("Decrypt", 200, None)]
    assert recorded_discovery.calls[0]["request"]["KeyId"] == key["Arn"]


def test_key_state_is_enforced_on_decrypt(esdk_env, esdk, kms):
    key = new_key(kms)
    plaintext = os.urandom(100_000)
    provider, _ = strict_provider(key["Arn"])
    message, _ = esdk.encrypt(source=plaintext, key_provider=provider, encryption_context={"state": "test"})

    kms.disable_key(KeyId=key["KeyId"])
    provider, recorded = strict_provider(key["Arn"])
    with pytest.raises(DecryptKeyError):
        esdk.decrypt(source=message, key_provider=provider)
    assert recorded.operations() == [("Decrypt", 400, "DisabledException")]

    with pytest.raises(GenerateKeyError) as excinfo:
        esdk.encrypt(source=b"more", key_provider=provider)
    assert isinstance(excinfo.value.__cause__, ClientError)
    assert excinfo.value.__cause__.response["Error"]["Code"] == "DisabledException"

    kms.enable_key(KeyId=key["KeyId"])
    provider, recorded = strict_provider(key["Arn"])
    decrypted, _ = esdk.decrypt(source=message, key_provider=provider)
    assert decrypted == plaintext
    assert recorded.operations() == [("Decrypt", 200, None)]

    kms.schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=7)
    provider, recorded = strict_provider(key["Arn"])
    with pytest.raises(DecryptKeyError):
        esdk.decrypt(source=message, key_provider=provider)
    assert recorded.operations() == [("Decrypt", 400, "KMSInvalidStateException")]


def test_tampered_messages_are_refused(esdk_env, esdk, kms):
    key = new_key(kms)
    plaintext = os.urandom(200_000)
    context = {"tamper": "original-value"}
    provider, _ = strict_provider(key["Arn"])
    message, header = esdk.encrypt(source=plaintext, key_provider=provider, encryption_context=context)
    [edk] = header.encrypted_data_keys

    def refused_by(exception, forged: bytes) -> list:
        """Decrypts ``forged`` with a fresh provider, expecting ``exception``; returns its KMS calls."""
        fresh, recorded = strict_provider(key["Arn"])
        with pytest.raises(exception):
            esdk.decrypt(source=forged, key_provider=fresh)
        return recorded.operations()

    # The untouched message decrypts.
    fresh, recorded = strict_provider(key["Arn"])
    assert esdk.decrypt(source=message, key_provider=fresh)[0] == plaintext
    assert recorded.operations() == [("Decrypt", 200, None)]

    # The encryption context in the header: Trent refuses to open the data key under the new context.
    at = message.index(b"original-value")
    forged = message[:at] + b"Original-value" + message[at + len(b"original-value"):]
    assert refused_by(DecryptKeyError, forged) == [("Decrypt", 400, "InvalidCiphertextException")]

    # The encrypted data key (Trent's blob) in the header: Trent refuses it.
    at = message.index(edk.encrypted_data_key)
    for offset in (0, 30, len(edk.encrypted_data_key) - 1):
        forged = bytearray(message)
        forged[at + offset] ^= 0x01
        assert refused_by(DecryptKeyError, bytes(forged)) == [("Decrypt", 400, "InvalidCiphertextException")], offset

    # A frame of the body: the data key opens, the frame's tag does not.
    forged = bytearray(message)
    forged[len(message) // 2] ^= 0x01
    assert refused_by(InvalidTag, bytes(forged)) == [("Decrypt", 200, None)]

    # The footer's signature.
    forged = bytearray(message)
    forged[-1] ^= 0x01
    assert refused_by(InvalidSignature, bytes(forged)) == [("Decrypt", 200, None)]

    # The streaming API refuses a tampered body too, before handing out its last frame.
    forged = bytearray(message)
    forged[len(message) // 2] ^= 0x01
    fresh, _ = strict_provider(key["Arn"])
    out = io.BytesIO()
    with pytest.raises(InvalidTag):
        with esdk.stream(mode="d", source=io.BytesIO(bytes(forged)), key_provider=fresh) as stream:
            for chunk in stream:
                out.write(chunk)
    assert len(out.getvalue()) < len(plaintext)
