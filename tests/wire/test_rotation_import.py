"""Key rotation and import (issue 16) through boto3: the eight operations are recognised and
boto3's requests (built from botocore's model) parse and validate; the five rotation operations
are served with AWS's shapes and errors, and the import operations refuse a key whose material
Trent made (their behaviour: test_import.py). Requests botocore would refuse client-side go
through ``raw_kms`` to check the server's own limits.
"""

import re
from datetime import datetime, timedelta, timezone

import pytest
from botocore.exceptions import ClientError

NOT_YET = "is not implemented yet"


def refused(code: str, call, **kwargs) -> dict:
    with pytest.raises(ClientError) as excinfo:
        call(**kwargs)
    error = excinfo.value.response["Error"]
    assert error["Code"] == code, (kwargs, error)
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    return error


@pytest.fixture(scope="module")
def key_id(kms):
    return kms.create_key(Description="rotation and import on the wire")["KeyMetadata"]["KeyId"]


def calls(key_id: str):
    """Every operation with a request botocore's model accepts."""
    return {
        "EnableKeyRotation": ("enable_key_rotation", {"KeyId": key_id, "RotationPeriodInDays": 90}),
        "DisableKeyRotation": ("disable_key_rotation", {"KeyId": key_id}),
        "GetKeyRotationStatus": ("get_key_rotation_status", {"KeyId": key_id}),
        "RotateKeyOnDemand": ("rotate_key_on_demand", {"KeyId": key_id}),
        "ListKeyRotations": ("list_key_rotations", {"KeyId": key_id, "Limit": 10}),
        "GetParametersForImport": (
            "get_parameters_for_import",
            {"KeyId": key_id, "WrappingAlgorithm": "RSAES_OAEP_SHA_256", "WrappingKeySpec": "RSA_2048"},
        ),
        "ImportKeyMaterial": (
            "import_key_material",
            {
                "KeyId": key_id,
                "ImportToken": b"t" * 64,
                "EncryptedKeyMaterial": b"m" * 256,
                "ExpirationModel": "KEY_MATERIAL_EXPIRES",
                "ValidTo": datetime.now(timezone.utc) + timedelta(days=30),
            },
        ),
        "DeleteImportedKeyMaterial": ("delete_imported_key_material", {"KeyId": key_id}),
    }


def new_key(kms, **kwargs) -> str:
    return kms.create_key(Description="rotation on the wire", **kwargs)["KeyMetadata"]["KeyId"]


def test_enable_get_status_and_disable_key_rotation(kms):
    key = new_key(kms)
    status = kms.get_key_rotation_status(KeyId=key)
    assert status["KeyRotationEnabled"] is False
    assert "RotationPeriodInDays" not in status and "NextRotationDate" not in status
    kms.enable_key_rotation(KeyId=key, RotationPeriodInDays=180)
    status = kms.get_key_rotation_status(KeyId=key)
    assert status["KeyRotationEnabled"] is True
    assert status["RotationPeriodInDays"] == 180
    assert status["KeyId"].endswith(key)
    expected = datetime.now(timezone.utc) + timedelta(days=180)
    assert abs((status["NextRotationDate"] - expected).total_seconds()) < 120
    assert "OnDemandRotationStartDate" not in status
    kms.disable_key_rotation(KeyId=key)
    status = kms.get_key_rotation_status(KeyId=key)
    assert status["KeyRotationEnabled"] is False
    assert "NextRotationDate" not in status


def test_enable_key_rotation_defaults_to_365_days(kms):
    key = new_key(kms)
    kms.enable_key_rotation(KeyId=key)
    assert kms.get_key_rotation_status(KeyId=key)["RotationPeriodInDays"] == 365


def test_rotate_on_demand_keeps_old_ciphertexts_and_lists_the_rotation(kms):
    key = new_key(kms)
    first = kms.describe_key(KeyId=key)["KeyMetadata"]["CurrentKeyMaterialId"]
    old = kms.encrypt(KeyId=key, Plaintext=b"before")["CiphertextBlob"]
    rotated = kms.rotate_key_on_demand(KeyId=key)
    assert rotated["KeyId"] == kms.describe_key(KeyId=key)["KeyMetadata"]["Arn"]
    current = kms.describe_key(KeyId=key)["KeyMetadata"]["CurrentKeyMaterialId"]
    assert re.fullmatch("[0-9a-f]{64}", current) and current != first
    new = kms.encrypt(KeyId=key, Plaintext=b"after")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=old)["Plaintext"] == b"before"
    assert kms.decrypt(CiphertextBlob=new)["Plaintext"] == b"after"
    moved = kms.re_encrypt(CiphertextBlob=old, DestinationKeyId=key)["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=moved)["Plaintext"] == b"before"

    listed = kms.list_key_rotations(KeyId=key)
    assert listed["Truncated"] is False and "NextMarker" not in listed
    [entry] = listed["Rotations"]
    assert entry["KeyMaterialId"] == current
    assert entry["KeyMaterialState"] == "CURRENT"
    assert entry["RotationType"] == "ON_DEMAND"
    assert abs((entry["RotationDate"] - datetime.now(timezone.utc)).total_seconds()) < 120
    for imported_only in ("ImportState", "KeyMaterialDescription", "ExpirationModel", "ValidTo"):
        assert imported_only not in entry
    everything = kms.list_key_rotations(KeyId=key, IncludeKeyMaterial="ALL_KEY_MATERIAL")["Rotations"]
    assert [e["KeyMaterialState"] for e in everything] == ["NON_CURRENT", "CURRENT"]
    assert everything[0]["KeyMaterialId"] == first and "RotationDate" not in everything[0]


def test_list_key_rotations_pages_with_limit_and_marker(kms):
    key = new_key(kms)
    for _ in range(3):
        kms.rotate_key_on_demand(KeyId=key)
    seen, marker = [], None
    while True:
        page = kms.list_key_rotations(KeyId=key, Limit=2, **({"Marker": marker} if marker else {}))
        assert len(page["Rotations"]) <= 2
        seen += page["Rotations"]
        if not page["Truncated"]:
            assert "NextMarker" not in page
            break
        marker = page["NextMarker"]
    assert len(seen) == 3 and len({e["KeyMaterialId"] for e in seen}) == 3
    assert [e["KeyMaterialState"] for e in seen] == ["NON_CURRENT", "NON_CURRENT", "CURRENT"]
    refused("InvalidMarkerException", kms.list_key_rotations, KeyId=key, Marker="not-a-marker")


def test_rotation_of_a_disabled_key_is_refused(kms):
    key = new_key(kms)
    kms.disable_key(KeyId=key)
    refused("DisabledException", kms.enable_key_rotation, KeyId=key)
    refused("DisabledException", kms.rotate_key_on_demand, KeyId=key)
    assert kms.get_key_rotation_status(KeyId=key)["KeyRotationEnabled"] is False


@pytest.mark.parametrize(
    "spec,usage", [("HMAC_256", "GENERATE_VERIFY_MAC"), ("RSA_2048", "ENCRYPT_DECRYPT"), ("ECC_NIST_P256", "SIGN_VERIFY")]
)
def test_keys_that_are_not_symmetric_encryption_keys_do_not_rotate(kms, spec, usage):
    key = new_key(kms, KeySpec=spec, KeyUsage=usage)
    refused("UnsupportedOperationException", kms.enable_key_rotation, KeyId=key)
    refused("UnsupportedOperationException", kms.rotate_key_on_demand, KeyId=key)
    refused("UnsupportedOperationException", kms.list_key_rotations, KeyId=key)
    assert kms.get_key_rotation_status(KeyId=key)["KeyRotationEnabled"] is False
    assert "CurrentKeyMaterialId" not in kms.describe_key(KeyId=key)["KeyMetadata"]


def test_a_key_rotates_on_demand_25_times(kms):
    key = new_key(kms)
    for _ in range(25):
        kms.rotate_key_on_demand(KeyId=key)
    refused("LimitExceededException", kms.rotate_key_on_demand, KeyId=key)
    assert len(kms.list_key_rotations(KeyId=key, Limit=100)["Rotations"]) == 25


@pytest.mark.parametrize("operation", ["GetParametersForImport", "ImportKeyMaterial", "DeleteImportedKeyMaterial"])
def test_each_import_operation_is_served_and_refuses_a_key_trent_made(kms, key_id, operation):
    method, params = calls(key_id)[operation]
    error = refused("UnsupportedOperationException", getattr(kms, method), **params)
    assert NOT_YET not in error["Message"], error
    assert "origin is AWS_KMS" in error["Message"], error


def test_unknown_keys_are_not_found_before_anything_else(kms):
    missing = "11111111-2222-3333-4444-555555555555"
    for method, params in calls(missing).values():
        refused("NotFoundException", getattr(kms, method), **params)


def test_the_server_checks_awss_limits_itself(raw_kms, key_id):
    for days in (89, 2561):
        refused("ValidationException", raw_kms.enable_key_rotation, KeyId=key_id, RotationPeriodInDays=days)
    for limit in (0, 1001):
        refused("ValidationException", raw_kms.list_key_rotations, KeyId=key_id, Limit=limit)
    refused(
        "ValidationException",
        raw_kms.get_parameters_for_import,
        KeyId=key_id,
        WrappingAlgorithm="RSAES_OAEP_SHA_512",
        WrappingKeySpec="RSA_2048",
    )
