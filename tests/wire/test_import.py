"""Bring-your-own-key import through boto3, with the material wrapped the two ways AWS's
developer guide shows: Python's ``cryptography`` and the ``openssl`` command line
(``openssl pkeyutl -encrypt -pkeyopt rsa_padding_mode:oaep ...``, and for RSA_AES_KEY_WRAP
``openssl enc -id-aes256-wrap-pad``). Every wrapping algorithm with every wrapping key size, the
imported key in use, deletion and re-import, and each error.
"""

import os
import subprocess
from datetime import datetime, timedelta, timezone

import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.keywrap import aes_key_wrap_with_padding

ALGORITHMS = ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256", "RSA_AES_KEY_WRAP_SHA_1", "RSA_AES_KEY_WRAP_SHA_256"]
WRAPPING_SPECS = ["RSA_2048", "RSA_3072", "RSA_4096"]


def refused(code: str, call, *args, **kwargs) -> dict:
    with pytest.raises(ClientError) as excinfo:
        call(*args, **kwargs)
    error = excinfo.value.response["Error"]
    assert error["Code"] == code, (kwargs, error)
    return error


def external_key(kms, spec="SYMMETRIC_DEFAULT", usage="ENCRYPT_DECRYPT") -> str:
    metadata = kms.create_key(Origin="EXTERNAL", KeySpec=spec, KeyUsage=usage)["KeyMetadata"]
    assert metadata["KeyState"] == "PendingImport"
    assert metadata["Origin"] == "EXTERNAL"
    return metadata["KeyId"]


def wrap_with_cryptography(algorithm: str, public_key_der: bytes, material: bytes) -> bytes:
    public_key = serialization.load_der_public_key(public_key_der)
    digest = hashes.SHA1() if algorithm.endswith("SHA_1") else hashes.SHA256()
    oaep = padding.OAEP(mgf=padding.MGF1(algorithm=digest), algorithm=digest, label=None)
    if algorithm.startswith("RSAES_OAEP"):
        return public_key.encrypt(material, oaep)
    aes_key = os.urandom(32)
    return public_key.encrypt(aes_key, oaep) + aes_key_wrap_with_padding(aes_key, material)


def wrap_with_openssl(tmp_path, algorithm: str, public_key_der: bytes, material: bytes) -> bytes:
    """As AWS's guide does it, step by step on files."""
    (tmp_path / "WrappingPublicKey.der").write_bytes(public_key_der)
    (tmp_path / "PlaintextKeyMaterial.bin").write_bytes(material)
    md = "sha1" if algorithm.endswith("SHA_1") else "sha256"

    def oaep(plaintext: str, out: str):
        subprocess.run(
            ["openssl", "pkeyutl", "-encrypt", "-in", str(tmp_path / plaintext), "-out", str(tmp_path / out),
             "-inkey", str(tmp_path / "WrappingPublicKey.der"), "-keyform", "DER", "-pubin",
             "-pkeyopt", "rsa_padding_mode:oaep", "-pkeyopt", f"rsa_oaep_md:{md}", "-pkeyopt", f"rsa_mgf1_md:{md}"],
            check=True,
        )

    if algorithm.startswith("RSAES_OAEP"):
        oaep("PlaintextKeyMaterial.bin", "EncryptedKeyMaterial.bin")
        return (tmp_path / "EncryptedKeyMaterial.bin").read_bytes()
    subprocess.run(["openssl", "rand", "-out", str(tmp_path / "aes-key.bin"), "32"], check=True)
    aes_hex = (tmp_path / "aes-key.bin").read_bytes().hex()
    subprocess.run(
        ["openssl", "enc", "-id-aes256-wrap-pad", "-K", aes_hex, "-iv", "A65959A6",
         "-in", str(tmp_path / "PlaintextKeyMaterial.bin"), "-out", str(tmp_path / "key-material-wrapped.bin")],
        check=True,
    )
    oaep("aes-key.bin", "aes-key-wrapped.bin")
    return (tmp_path / "aes-key-wrapped.bin").read_bytes() + (tmp_path / "key-material-wrapped.bin").read_bytes()


def parameters(kms, key_id: str, algorithm: str, spec: str = "RSA_2048") -> dict:
    answer = kms.get_parameters_for_import(KeyId=key_id, WrappingAlgorithm=algorithm, WrappingKeySpec=spec)
    assert answer["KeyId"].endswith(key_id)
    assert 0 < len(answer["ImportToken"]) <= 6144
    remaining = answer["ParametersValidTo"] - datetime.now(timezone.utc)
    assert timedelta(hours=23) < remaining <= timedelta(hours=24, minutes=1), remaining
    return answer


def import_material(kms, key_id: str, params: dict, wrapped: bytes, **extra) -> dict:
    fields = {"ExpirationModel": "KEY_MATERIAL_DOES_NOT_EXPIRE"} if "ValidTo" not in extra else {}
    fields.update(extra)
    return kms.import_key_material(
        KeyId=key_id, ImportToken=params["ImportToken"], EncryptedKeyMaterial=wrapped, **fields
    )


def round_trips(kms, key_id: str) -> bool:
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"imported")["CiphertextBlob"]
    return kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"imported"


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("wrapping_spec", WRAPPING_SPECS)
def test_symmetric_material_wrapped_by_cryptography_imports_with_every_algorithm_and_size(kms, algorithm, wrapping_spec):
    key_id = external_key(kms)
    params = parameters(kms, key_id, algorithm, wrapping_spec)
    valid_to = datetime.now(timezone.utc) + timedelta(days=30)
    imported = import_material(
        kms, key_id, params, wrap_with_cryptography(algorithm, params["PublicKey"], os.urandom(32)),
        ValidTo=valid_to, ExpirationModel="KEY_MATERIAL_EXPIRES",
    )
    assert len(imported["KeyMaterialId"]) == 64
    metadata = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert metadata["KeyState"] == "Enabled"
    assert metadata["ExpirationModel"] == "KEY_MATERIAL_EXPIRES"
    assert abs((metadata["ValidTo"] - valid_to).total_seconds()) < 2
    assert round_trips(kms, key_id)


@pytest.mark.parametrize("algorithm", ["RSAES_OAEP_SHA_256", "RSA_AES_KEY_WRAP_SHA_256", "RSAES_OAEP_SHA_1"])
def test_symmetric_material_wrapped_by_the_openssl_cli_imports(kms, tmp_path, algorithm):
    key_id = external_key(kms)
    params = parameters(kms, key_id, algorithm, "RSA_3072")
    import_material(kms, key_id, params, wrap_with_openssl(tmp_path, algorithm, params["PublicKey"], os.urandom(32)))
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["ExpirationModel"] == "KEY_MATERIAL_DOES_NOT_EXPIRE"
    assert round_trips(kms, key_id)


def test_an_ecc_private_key_wrapped_by_openssl_signs_verifiably(kms, tmp_path):
    private = ec.generate_private_key(ec.SECP256R1())
    der = private.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    key_id = external_key(kms, "ECC_NIST_P256", "SIGN_VERIFY")
    params = parameters(kms, key_id, "RSA_AES_KEY_WRAP_SHA_256", "RSA_4096")
    import_material(kms, key_id, params, wrap_with_openssl(tmp_path, "RSA_AES_KEY_WRAP_SHA_256", params["PublicKey"], der))
    signature = kms.sign(KeyId=key_id, Message=b"hello", SigningAlgorithm="ECDSA_SHA_256")["Signature"]
    private.public_key().verify(signature, b"hello", ec.ECDSA(hashes.SHA256()))
    public = kms.get_public_key(KeyId=key_id)["PublicKey"]
    assert public == private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def test_delete_then_reimport_restores_old_ciphertexts_and_other_material_is_refused(kms):
    key_id = external_key(kms)
    material = os.urandom(32)
    params = parameters(kms, key_id, "RSAES_OAEP_SHA_256")
    first = import_material(kms, key_id, params, wrap_with_cryptography("RSAES_OAEP_SHA_256", params["PublicKey"], material))
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"old")["CiphertextBlob"]
    deleted = kms.delete_imported_key_material(KeyId=key_id)
    assert deleted["KeyMaterialId"] == first["KeyMaterialId"]
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "PendingImport"
    refused("KMSInvalidStateException", kms.decrypt, CiphertextBlob=blob)
    other = wrap_with_cryptography("RSAES_OAEP_SHA_256", params["PublicKey"], os.urandom(32))
    refused("IncorrectKeyMaterialException", import_material, kms, key_id, params, other)
    again = import_material(kms, key_id, params, wrap_with_cryptography("RSAES_OAEP_SHA_256", params["PublicKey"], material))
    assert again["KeyMaterialId"] == first["KeyMaterialId"]
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"old"


def test_each_import_error(kms, raw_kms):
    key_id = external_key(kms)
    other_key = external_key(kms)
    params = parameters(kms, key_id, "RSAES_OAEP_SHA_256")
    theirs = parameters(kms, other_key, "RSAES_OAEP_SHA_256")
    good = wrap_with_cryptography("RSAES_OAEP_SHA_256", params["PublicKey"], os.urandom(32))
    flipped = bytes([good[0] ^ 1]) + good[1:]
    refused("InvalidCiphertextException", import_material, kms, key_id, params, flipped)
    short = wrap_with_cryptography("RSAES_OAEP_SHA_256", params["PublicKey"], os.urandom(16))
    refused("IncorrectKeyMaterialException", import_material, kms, key_id, params, short)
    refused("InvalidImportTokenException", import_material, kms, key_id, theirs, good)
    refused("InvalidImportTokenException", import_material, kms, key_id, {"ImportToken": b"x" * 64}, good)
    refused("ValidationException", kms.import_key_material, KeyId=key_id, ImportToken=params["ImportToken"],
            EncryptedKeyMaterial=good, ExpirationModel="KEY_MATERIAL_EXPIRES")
    refused("ValidationException", kms.import_key_material, KeyId=key_id, ImportToken=params["ImportToken"],
            EncryptedKeyMaterial=good, ValidTo=datetime.now(timezone.utc) - timedelta(minutes=1))
    refused("ValidationException", kms.import_key_material, KeyId=key_id, ImportToken=params["ImportToken"],
            EncryptedKeyMaterial=good, ValidTo=datetime.now(timezone.utc) + timedelta(days=366))
    refused("UnsupportedOperationException", kms.get_parameters_for_import, KeyId=key_id,
            WrappingAlgorithm="SM2PKE", WrappingKeySpec="SM2")
    refused("ValidationException", raw_kms.get_parameters_for_import, KeyId=key_id,
            WrappingAlgorithm="RSAES_OAEP_SHA_512", WrappingKeySpec="RSA_2048")
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "PendingImport", "nothing was imported"
    refused("KMSInvalidStateException", kms.encrypt, KeyId=key_id, Plaintext=b"x")
    refused("KMSInvalidStateException", kms.enable_key, KeyId=key_id)
    import_material(kms, key_id, params, good)
    assert round_trips(kms, key_id)
    refused("UnsupportedOperationException", kms.create_key, Origin="EXTERNAL", KeySpec="ML_KEM_768",
            KeyUsage="ENCAPSULATE_DECAPSULATE")


def test_new_material_waits_for_rotation_and_is_deleted_by_its_id(kms):
    key_id = external_key(kms)
    params = parameters(kms, key_id, "RSA_AES_KEY_WRAP_SHA_256")
    wrap = lambda material: wrap_with_cryptography("RSA_AES_KEY_WRAP_SHA_256", params["PublicKey"], material)
    current = os.urandom(32)
    first = import_material(kms, key_id, params, wrap(current), KeyMaterialDescription="first")
    refused("ValidationException", import_material, kms, key_id, params, wrap(os.urandom(32)),
            ImportType="NEW_KEY_MATERIAL", KeyMaterialId=first["KeyMaterialId"])
    refused("IncorrectKeyMaterialException", import_material, kms, key_id, params, wrap(current),
            ImportType="NEW_KEY_MATERIAL")
    pending = import_material(kms, key_id, params, wrap(os.urandom(32)), ImportType="NEW_KEY_MATERIAL")
    assert pending["KeyMaterialId"] != first["KeyMaterialId"]
    metadata = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert metadata["CurrentKeyMaterialId"] == first["KeyMaterialId"], "new material waits for a rotation"
    deleted = kms.delete_imported_key_material(KeyId=key_id, KeyMaterialId=pending["KeyMaterialId"])
    assert deleted["KeyMaterialId"] == pending["KeyMaterialId"]
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Enabled", "the current material stays"
    refused("NotFoundException", kms.delete_imported_key_material, KeyId=key_id, KeyMaterialId=pending["KeyMaterialId"])


def test_an_imported_key_rotates_on_demand_to_its_pending_material_and_old_blobs_still_decrypt(kms):
    key_id = external_key(kms)
    params = parameters(kms, key_id, "RSAES_OAEP_SHA_256")
    wrap = lambda material: wrap_with_cryptography("RSAES_OAEP_SHA_256", params["PublicKey"], material)
    first = import_material(kms, key_id, params, wrap(os.urandom(32)))
    refused("KMSInvalidStateException", kms.rotate_key_on_demand, KeyId=key_id)
    old = kms.encrypt(KeyId=key_id, Plaintext=b"first material")["CiphertextBlob"]
    pending = import_material(kms, key_id, params, wrap(os.urandom(32)), ImportType="NEW_KEY_MATERIAL")
    listed = kms.list_key_rotations(KeyId=key_id, IncludeKeyMaterial="ALL_KEY_MATERIAL")["Rotations"]
    states = {entry["KeyMaterialId"]: entry["KeyMaterialState"] for entry in listed}
    assert states == {first["KeyMaterialId"]: "CURRENT", pending["KeyMaterialId"]: "PENDING_ROTATION"}
    assert kms.list_key_rotations(KeyId=key_id)["Rotations"] == [], "nothing has rotated yet"

    kms.rotate_key_on_demand(KeyId=key_id)
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["CurrentKeyMaterialId"] == pending["KeyMaterialId"]
    [rotation] = kms.list_key_rotations(KeyId=key_id)["Rotations"]
    assert rotation["KeyMaterialId"] == pending["KeyMaterialId"]
    assert rotation["RotationType"] == "ON_DEMAND" and rotation["KeyMaterialState"] == "CURRENT"
    assert rotation["ImportState"] == "IMPORTED"
    new = kms.encrypt(KeyId=key_id, Plaintext=b"second material")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=old)["Plaintext"] == b"first material"
    assert kms.decrypt(CiphertextBlob=new)["Plaintext"] == b"second material"
    # Nothing pending any more: another rotation needs another import first.
    refused("KMSInvalidStateException", kms.rotate_key_on_demand, KeyId=key_id)
    refused("UnsupportedOperationException", kms.enable_key_rotation, KeyId=key_id)


def test_non_symmetric_keys_take_no_material_description_and_deleted_keys_no_parameters(kms):
    key_id = external_key(kms, "HMAC_256", "GENERATE_VERIFY_MAC")
    params = parameters(kms, key_id, "RSAES_OAEP_SHA_256")
    wrapped = wrap_with_cryptography("RSAES_OAEP_SHA_256", params["PublicKey"], os.urandom(32))
    refused("ValidationException", import_material, kms, key_id, params, wrapped, KeyMaterialDescription="hmac")
    import_material(kms, key_id, params, wrapped)
    mac = kms.generate_mac(KeyId=key_id, Message=b"m", MacAlgorithm="HMAC_SHA_256")["Mac"]
    assert kms.verify_mac(KeyId=key_id, Message=b"m", MacAlgorithm="HMAC_SHA_256", Mac=mac)["MacValid"] is True
    kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    refused("KMSInvalidStateException", kms.get_parameters_for_import, KeyId=key_id,
            WrappingAlgorithm="RSAES_OAEP_SHA_256", WrappingKeySpec="RSA_2048")
    refused("KMSInvalidStateException", import_material, kms, key_id, params, wrapped)
