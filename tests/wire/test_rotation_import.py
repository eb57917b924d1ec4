"""Key rotation and import (issue 16) through boto3, as far as this build serves them: the eight
operations are recognised, boto3's requests (built from botocore's model) parse and validate,
the rotation operations answer UnsupportedOperationException until their behaviour lands, and
the import operations refuse a key whose material Trent made (their behaviour: test_import.py). Requests botocore would
refuse client-side go through ``raw_kms`` to check the server's own limits.
"""

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


@pytest.mark.parametrize(
    "operation",
    [
        "EnableKeyRotation",
        "DisableKeyRotation",
        "GetKeyRotationStatus",
        "RotateKeyOnDemand",
        "ListKeyRotations",
    ],
)
def test_each_operation_is_recognised_and_not_yet_served(kms, key_id, operation):
    method, params = calls(key_id)[operation]
    error = refused("UnsupportedOperationException", getattr(kms, method), **params)
    assert NOT_YET in error["Message"], error


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
