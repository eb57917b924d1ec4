"""Asymmetric, HMAC and post-quantum keys through boto3 against a running Trent node: CreateKey for
every key spec and usage, GetPublicKey, Sign and Verify, RSA Encrypt and Decrypt, GenerateMac and
VerifyMac, DeriveSharedSecret, Encapsulate and Decapsulate, GenerateDataKeyPair and
GenerateDataKeyPairWithoutPlaintext.

What Trent returns is checked against implementations that are not Trent's: ``cryptography``
(OpenSSL) loads every public key, verifies every RSA, ECDSA and Ed25519 signature, encrypts with
RSA-OAEP and computes ECDH; the ``openssl`` CLI re-reads the public keys and re-verifies every RSA,
ECDSA and Ed25519 signature case; Ed25519ph, which neither has, is verified by the RFC 8032 reference algorithm written
out below; the ML-DSA external μ is computed here from FIPS 204. ML-DSA and ML-KEM are checked
through Trent's own Verify and Decapsulate, with a tampered input that must fail, and, where the
pure-Python FIPS 204 and FIPS 203 implementations dilithium-py and kyber-py are installed, against
them too (those tests skip, saying so, where they are not).

Creating keys is the slow part (RSA-4096 above all), so each (KeySpec, KeyUsage) is created once per
module by the ``keys`` fixture and shared by the tests that only read it. ``kms`` validates
parameters as users run boto3; ``raw_kms`` lets out-of-range values reach the server.
"""

import hashlib
import importlib
import os
import re
import subprocess

import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa, utils

from conftest import ACCOUNT_ID, REGION

KEY_ARN = re.compile(rf"^arn:aws:kms:{REGION}:{ACCOUNT_ID}:key/[0-9a-f]{{8}}(-[0-9a-f]{{4}}){{3}}-[0-9a-f]{{12}}$")
DRY_RUN_MESSAGE = "The request would have succeeded, but the DryRun parameter was set."

RSA_SPECS = ("RSA_2048", "RSA_3072", "RSA_4096")
NIST_CURVES = ("ECC_NIST_P256", "ECC_NIST_P384", "ECC_NIST_P521")
ML_DSA_SPECS = ("ML_DSA_44", "ML_DSA_65", "ML_DSA_87")
ML_KEM_SPECS = ("ML_KEM_512", "ML_KEM_768", "ML_KEM_1024")
HMAC_SPECS = ("HMAC_224", "HMAC_256", "HMAC_384", "HMAC_512")

RSA_BITS = {"RSA_2048": 2048, "RSA_3072": 3072, "RSA_4096": 4096}
RSA_SIGNING = (
    "RSASSA_PKCS1_V1_5_SHA_256",
    "RSASSA_PKCS1_V1_5_SHA_384",
    "RSASSA_PKCS1_V1_5_SHA_512",
    "RSASSA_PSS_SHA_256",
    "RSASSA_PSS_SHA_384",
    "RSASSA_PSS_SHA_512",
)
RSA_ENCRYPTION = ("RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256")
# AWS's Encrypt reference: the largest plaintext per key spec and OAEP hash (k - 2·hLen - 2).
RSA_MAX_PLAINTEXT = {
    ("RSA_2048", "RSAES_OAEP_SHA_1"): 214,
    ("RSA_2048", "RSAES_OAEP_SHA_256"): 190,
    ("RSA_3072", "RSAES_OAEP_SHA_1"): 342,
    ("RSA_3072", "RSAES_OAEP_SHA_256"): 318,
    ("RSA_4096", "RSAES_OAEP_SHA_1"): 470,
    ("RSA_4096", "RSAES_OAEP_SHA_256"): 446,
}
CURVES = {
    "ECC_NIST_P256": ec.SECP256R1,
    "ECC_NIST_P384": ec.SECP384R1,
    "ECC_NIST_P521": ec.SECP521R1,
    "ECC_SECG_P256K1": ec.SECP256K1,
}
OPENSSL_CURVE_NAMES = {
    "ECC_NIST_P256": "prime256v1",
    "ECC_NIST_P384": "secp384r1",
    "ECC_NIST_P521": "secp521r1",
    "ECC_SECG_P256K1": "secp256k1",
}
ECDSA_ALGORITHM = {
    "ECC_NIST_P256": "ECDSA_SHA_256",
    "ECC_NIST_P384": "ECDSA_SHA_384",
    "ECC_NIST_P521": "ECDSA_SHA_512",
    "ECC_SECG_P256K1": "ECDSA_SHA_256",
}
# ECDH's raw shared secret is the x-coordinate: the field size in bytes.
ECDH_SECRET_BYTES = {"ECC_NIST_P256": 32, "ECC_NIST_P384": 48, "ECC_NIST_P521": 66}
ED25519_ALGORITHMS = ("ED25519_SHA_512", "ED25519_PH_SHA_512")
HMAC_ALGORITHM = {
    "HMAC_224": "HMAC_SHA_224",
    "HMAC_256": "HMAC_SHA_256",
    "HMAC_384": "HMAC_SHA_384",
    "HMAC_512": "HMAC_SHA_512",
}
HMAC_BYTES = {"HMAC_224": 28, "HMAC_256": 32, "HMAC_384": 48, "HMAC_512": 64}

# FIPS 204 / FIPS 203 sizes, and the NIST object identifiers the SPKI names them by
# (draft-ietf-lamps-dilithium-certificates, draft-ietf-lamps-kyber-certificates).
ML_DSA_PUBLIC_BYTES = {"ML_DSA_44": 1312, "ML_DSA_65": 1952, "ML_DSA_87": 2592}
ML_DSA_SIGNATURE_BYTES = {"ML_DSA_44": 2420, "ML_DSA_65": 3309, "ML_DSA_87": 4627}
ML_DSA_OID = {
    "ML_DSA_44": "2.16.840.1.101.3.4.3.17",
    "ML_DSA_65": "2.16.840.1.101.3.4.3.18",
    "ML_DSA_87": "2.16.840.1.101.3.4.3.19",
}
ML_KEM_PUBLIC_BYTES = {"ML_KEM_512": 800, "ML_KEM_768": 1184, "ML_KEM_1024": 1568}
ML_KEM_CIPHERTEXT_BYTES = {"ML_KEM_512": 768, "ML_KEM_768": 1088, "ML_KEM_1024": 1568}
ML_KEM_OID = {
    "ML_KEM_512": "2.16.840.1.101.3.4.4.1",
    "ML_KEM_768": "2.16.840.1.101.3.4.4.2",
    "ML_KEM_1024": "2.16.840.1.101.3.4.4.3",
}

# The hash each signing algorithm names, as hashlib and cryptography spell it.
HASH_OF = {
    "RSASSA_PKCS1_V1_5_SHA_256": "sha256",
    "RSASSA_PKCS1_V1_5_SHA_384": "sha384",
    "RSASSA_PKCS1_V1_5_SHA_512": "sha512",
    "RSASSA_PSS_SHA_256": "sha256",
    "RSASSA_PSS_SHA_384": "sha384",
    "RSASSA_PSS_SHA_512": "sha512",
    "ECDSA_SHA_256": "sha256",
    "ECDSA_SHA_384": "sha384",
    "ECDSA_SHA_512": "sha512",
    "ED25519_SHA_512": "sha512",
    "ED25519_PH_SHA_512": "sha512",
}
CRYPTOGRAPHY_HASH = {"sha1": hashes.SHA1, "sha256": hashes.SHA256, "sha384": hashes.SHA384, "sha512": hashes.SHA512}

ALGORITHM_FIELDS = (
    "EncryptionAlgorithms",
    "SigningAlgorithms",
    "MacAlgorithms",
    "KeyAgreementAlgorithms",
    "EncapsulationAlgorithms",
)


def expected_algorithms(spec: str, usage: str) -> dict:
    """The one algorithm list AWS documents for a key of ``spec`` and ``usage``."""
    if spec == "SYMMETRIC_DEFAULT":
        return {"EncryptionAlgorithms": ["SYMMETRIC_DEFAULT"]}
    if spec in RSA_SPECS:
        if usage == "ENCRYPT_DECRYPT":
            return {"EncryptionAlgorithms": list(RSA_ENCRYPTION)}
        return {"SigningAlgorithms": list(RSA_SIGNING)}
    if spec in CURVES:
        if usage == "KEY_AGREEMENT":
            return {"KeyAgreementAlgorithms": ["ECDH"]}
        return {"SigningAlgorithms": [ECDSA_ALGORITHM[spec]]}
    if spec == "ECC_NIST_EDWARDS25519":
        return {"SigningAlgorithms": list(ED25519_ALGORITHMS)}
    if spec in ML_DSA_SPECS:
        return {"SigningAlgorithms": ["ML_DSA_SHAKE_256"]}
    if spec in ML_KEM_SPECS:
        return {"EncapsulationAlgorithms": ["ML_KEM"]}
    if spec in HMAC_SPECS:
        return {"MacAlgorithms": [HMAC_ALGORITHM[spec]]}
    raise AssertionError(f"no expectation for {spec}")


VALID_COMBINATIONS = (
    [(spec, usage) for spec in RSA_SPECS for usage in ("SIGN_VERIFY", "ENCRYPT_DECRYPT")]
    + [(spec, usage) for spec in NIST_CURVES for usage in ("SIGN_VERIFY", "KEY_AGREEMENT")]
    + [("ECC_SECG_P256K1", "SIGN_VERIFY"), ("ECC_NIST_EDWARDS25519", "SIGN_VERIFY")]
    + [(spec, "SIGN_VERIFY") for spec in ML_DSA_SPECS]
    + [(spec, "ENCAPSULATE_DECAPSULATE") for spec in ML_KEM_SPECS]
    + [(spec, "GENERATE_VERIFY_MAC") for spec in HMAC_SPECS]
)
ASYMMETRIC_COMBINATIONS = [(spec, usage) for spec, usage in VALID_COMBINATIONS if spec not in HMAC_SPECS]

INVALID_COMBINATIONS = (
    ("RSA_2048", "GENERATE_VERIFY_MAC"),
    ("RSA_2048", "KEY_AGREEMENT"),
    ("RSA_2048", "ENCAPSULATE_DECAPSULATE"),
    ("ECC_NIST_P256", "ENCRYPT_DECRYPT"),
    ("ECC_NIST_P384", "GENERATE_VERIFY_MAC"),
    ("ECC_SECG_P256K1", "KEY_AGREEMENT"),
    ("ECC_SECG_P256K1", "ENCRYPT_DECRYPT"),
    ("ECC_NIST_EDWARDS25519", "KEY_AGREEMENT"),
    ("ECC_NIST_EDWARDS25519", "ENCRYPT_DECRYPT"),
    ("ML_DSA_44", "ENCRYPT_DECRYPT"),
    ("ML_DSA_65", "KEY_AGREEMENT"),
    ("ML_KEM_768", "SIGN_VERIFY"),
    ("ML_KEM_512", "ENCRYPT_DECRYPT"),
    ("ML_KEM_1024", "KEY_AGREEMENT"),
    ("HMAC_256", "SIGN_VERIFY"),
    ("HMAC_512", "ENCRYPT_DECRYPT"),
    ("SYMMETRIC_DEFAULT", "GENERATE_VERIFY_MAC"),
    ("SYMMETRIC_DEFAULT", "ENCAPSULATE_DECAPSULATE"),
)

# Every (spec, algorithm, message type) AWS accepts for Sign, but EXTERNAL_MU (its own test).
SIGN_CASES = (
    [(spec, algorithm, kind) for spec in RSA_SPECS for algorithm in RSA_SIGNING for kind in ("RAW", "DIGEST")]
    + [(spec, ECDSA_ALGORITHM[spec], kind) for spec in CURVES for kind in ("RAW", "DIGEST")]
    + [("ECC_NIST_EDWARDS25519", "ED25519_SHA_512", "RAW"), ("ECC_NIST_EDWARDS25519", "ED25519_PH_SHA_512", "DIGEST")]
    + [(spec, "ML_DSA_SHAKE_256", "RAW") for spec in ML_DSA_SPECS]
)

DATA_KEY_PAIR_SPECS = RSA_SPECS + tuple(CURVES) + ("ECC_NIST_EDWARDS25519",)


# ------------------------------------------------------------------------------------------------
# Helpers
# ------------------------------------------------------------------------------------------------


class Keys:
    """One key per (KeySpec, KeyUsage) for the module, created on first use, and its public key."""

    def __init__(self, kms):
        self.kms = kms
        self.made = {}
        self.public = {}

    def __call__(self, spec: str, usage: str) -> dict:
        if (spec, usage) not in self.made:
            self.made[(spec, usage)] = self.kms.create_key(
                KeySpec=spec, KeyUsage=usage, Description=f"asymmetric wire test {spec} {usage}"
            )["KeyMetadata"]
        return self.made[(spec, usage)]

    def public_key(self, spec: str, usage: str) -> bytes:
        """The key's DER SubjectPublicKeyInfo, from GetPublicKey."""
        if (spec, usage) not in self.public:
            self.public[(spec, usage)] = self.kms.get_public_key(KeyId=self(spec, usage)["KeyId"])["PublicKey"]
        return self.public[(spec, usage)]

    def symmetric(self) -> dict:
        return self("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT")


@pytest.fixture(scope="module")
def keys(kms):
    return Keys(kms)


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


def flip(blob: bytes, index: int) -> bytes:
    forged = bytearray(blob)
    forged[index] ^= 0x01
    return bytes(forged)


def message_for(spec: str, algorithm: str, kind: str) -> tuple[bytes, bytes]:
    """(the message as the caller has it, the Message field to send for ``kind``)."""
    raw = f"signed by {spec} with {algorithm}: ".encode() + bytes(range(256))
    if kind == "DIGEST" and algorithm in HASH_OF:
        return raw, hashlib.new(HASH_OF[algorithm], raw).digest()
    return raw, raw


def openssl(*args, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["openssl", *args], input=stdin, capture_output=True, check=False)


# --- A minimal DER reader, for the SPKI and PKCS#8 of the post-quantum keys cryptography cannot load.


def der_read(data: bytes, offset: int = 0) -> tuple[int, bytes, int]:
    """(tag, content, offset after) of the DER element at ``offset``."""
    tag = data[offset]
    length = data[offset + 1]
    start = offset + 2
    if length & 0x80:
        count = length & 0x7F
        assert 1 <= count <= 3, "DER lengths here fit in three bytes"
        length = int.from_bytes(data[start : start + count], "big")
        assert length >= 0x80, "DER uses the short form below 128"
        start += count
    end = start + length
    assert end <= len(data), "element runs past the end"
    return tag, data[start:end], end


def der_oid(content: bytes) -> str:
    first, rest = divmod(content[0], 40)
    arcs, value = [first, rest], 0
    for byte in content[1:]:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(value)
            value = 0
    return ".".join(str(arc) for arc in arcs)


def spki_parts(spki: bytes) -> tuple[str, bool, bytes]:
    """(algorithm OID, whether the AlgorithmIdentifier has parameters, the public key bytes)."""
    tag, body, end = der_read(spki)
    assert (tag, end) == (0x30, len(spki)), "SPKI is one SEQUENCE and nothing after it"
    tag, algorithm, after = der_read(body)
    assert tag == 0x30
    tag, oid, oid_end = der_read(algorithm)
    assert tag == 0x06
    tag, bits, bits_end = der_read(body, after)
    assert (tag, bits_end) == (0x03, len(body)), "then one BIT STRING"
    assert bits[0] == 0, "no unused bits"
    return der_oid(oid), oid_end != len(algorithm), bits[1:]


def pkcs8_oid(private: bytes) -> str:
    tag, body, end = der_read(private)
    assert (tag, end) == (0x30, len(private))
    tag, version, after = der_read(body)
    assert tag == 0x02 and version in (b"\x00", b"\x01")
    tag, algorithm, _ = der_read(body, after)
    assert tag == 0x30
    tag, oid, _ = der_read(algorithm)
    assert tag == 0x06
    return der_oid(oid)


# --- Ed25519 and Ed25519ph verification: the reference algorithm of RFC 8032 §5.1 and §6.

ED_P = 2**255 - 19
ED_L = 2**252 + 27742317777372353535851937790883648493
ED_D = -121665 * pow(121666, -1, ED_P) % ED_P
ED_SQRT_M1 = pow(2, (ED_P - 1) // 4, ED_P)


def ed_add(a, b):
    t1 = (a[1] - a[0]) * (b[1] - b[0]) % ED_P
    t2 = (a[1] + a[0]) * (b[1] + b[0]) % ED_P
    t3 = 2 * a[3] * b[3] * ED_D % ED_P
    t4 = 2 * a[2] * b[2] % ED_P
    e, f, g, h = t2 - t1, t4 - t3, t4 + t3, t2 + t1
    return (e * f % ED_P, g * h % ED_P, f * g % ED_P, e * h % ED_P)


def ed_mul(scalar: int, point):
    result = (0, 1, 1, 0)
    while scalar:
        if scalar & 1:
            result = ed_add(result, point)
        point = ed_add(point, point)
        scalar >>= 1
    return result


def ed_equal(a, b) -> bool:
    return (a[0] * b[2] - b[0] * a[2]) % ED_P == 0 and (a[1] * b[2] - b[1] * a[2]) % ED_P == 0


def ed_recover_x(y: int, sign: int):
    if y >= ED_P:
        return None
    x2 = (y * y - 1) * pow(ED_D * y * y + 1, ED_P - 2, ED_P) % ED_P
    if x2 == 0:
        return None if sign else 0
    x = pow(x2, (ED_P + 3) // 8, ED_P)
    if (x * x - x2) % ED_P:
        x = x * ED_SQRT_M1 % ED_P
    if (x * x - x2) % ED_P:
        return None
    return ED_P - x if (x & 1) != sign else x


def ed_decompress(encoded: bytes):
    y = int.from_bytes(encoded, "little")
    sign, y = y >> 255, y & ((1 << 255) - 1)
    x = ed_recover_x(y, sign)
    return None if x is None else (x, y, 1, x * y % ED_P)


ED_G = ed_decompress((4 * pow(5, ED_P - 2, ED_P) % ED_P).to_bytes(32, "little"))


def ed25519_verify(public: bytes, message: bytes, signature: bytes, prehash: bool = False) -> bool:
    """RFC 8032 verification of Ed25519 or (``prehash``) Ed25519ph with an empty context, whose
    PH(M) is SHA-512(M)."""
    if len(public) != 32 or len(signature) != 64:
        return False
    a_point, r_point = ed_decompress(public), ed_decompress(signature[:32])
    s = int.from_bytes(signature[32:], "little")
    if a_point is None or r_point is None or s >= ED_L:
        return False
    dom = b""
    if prehash:
        dom = b"SigEd25519 no Ed25519 collisions" + bytes([1, 0])
        message = hashlib.sha512(message).digest()
    k = int.from_bytes(hashlib.sha512(dom + signature[:32] + public + message).digest(), "little") % ED_L
    return ed_equal(ed_mul(s, ED_G), ed_add(r_point, ed_mul(k, a_point)))


def verify_with_cryptography(public_der: bytes, algorithm: str, kind: str, message: bytes, signature: bytes) -> None:
    """Raises cryptography's InvalidSignature unless ``signature`` is ``algorithm`` over ``message``
    (a digest when ``kind`` is DIGEST)."""
    public = serialization.load_der_public_key(public_der)
    if algorithm == "ED25519_SHA_512":
        public.verify(signature, message)
        return
    digest = CRYPTOGRAPHY_HASH[HASH_OF[algorithm]]()
    chosen = utils.Prehashed(digest) if kind == "DIGEST" else digest
    if algorithm.startswith("RSASSA_PSS_"):
        public.verify(signature, message, padding.PSS(mgf=padding.MGF1(digest), salt_length=digest.digest_size), chosen)
    elif algorithm.startswith("RSASSA_PKCS1_V1_5_"):
        public.verify(signature, message, padding.PKCS1v15(), chosen)
    else:
        public.verify(signature, message, ec.ECDSA(chosen))


def ml_dsa_mu(public_key: bytes, message: bytes) -> bytes:
    """FIPS 204 μ with an empty context: SHAKE256(SHAKE256(pk, 64) || 0x00 || 0x00 || M, 64)."""
    tr = hashlib.shake_256(public_key).digest(64)
    return hashlib.shake_256(tr + b"\x00\x00" + message).digest(64)


# ------------------------------------------------------------------------------------------------
# CreateKey
# ------------------------------------------------------------------------------------------------


def check_algorithm_lists(document: dict, spec: str, usage: str) -> None:
    expected = expected_algorithms(spec, usage)
    for field in ALGORITHM_FIELDS:
        if field in expected:
            assert field in document, (spec, usage, field, document)
            assert sorted(document[field]) == sorted(expected[field]), (spec, usage, field, document[field])
            assert len(set(document[field])) == len(document[field]), "no algorithm twice"
        else:
            assert field not in document, (spec, usage, field, document.get(field))


@pytest.mark.parametrize(("spec", "usage"), VALID_COMBINATIONS)
def test_create_key_for_every_spec_and_usage(keys, kms, spec, usage):
    metadata = keys(spec, usage)
    assert KEY_ARN.match(metadata["Arn"]), metadata["Arn"]
    assert metadata["KeySpec"] == spec
    assert metadata["KeyUsage"] == usage
    assert metadata["KeyState"] == "Enabled"
    assert metadata["Enabled"] is True
    assert metadata["Origin"] == "AWS_KMS"
    assert metadata["KeyManager"] == "CUSTOMER"
    if spec in kms.meta.service_model.shape_for("CustomerMasterKeySpec").enum:
        assert metadata["CustomerMasterKeySpec"] == spec
    check_algorithm_lists(metadata, spec, usage)

    described = kms.describe_key(KeyId=metadata["Arn"])["KeyMetadata"]
    assert (described["KeySpec"], described["KeyUsage"]) == (spec, usage)
    check_algorithm_lists(described, spec, usage)


def test_symmetric_key_lists_only_symmetric_default(kms):
    metadata = kms.create_key()["KeyMetadata"]
    check_algorithm_lists(metadata, "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT")


@pytest.mark.parametrize(("spec", "usage"), INVALID_COMBINATIONS)
def test_create_key_refuses_a_usage_the_spec_does_not_have(kms, spec, usage):
    refused("ValidationException", kms.create_key, KeySpec=spec, KeyUsage=usage)


def test_create_key_sm2_is_unsupported(kms):
    # SM2 is a China-Regions key spec: valid in the model, unsupported everywhere else.
    for usage in ("SIGN_VERIFY", "ENCRYPT_DECRYPT", "KEY_AGREEMENT"):
        refused("UnsupportedOperationException", kms.create_key, KeySpec="SM2", KeyUsage=usage)


def test_create_key_refuses_an_unknown_spec_or_usage(raw_kms):
    refused("ValidationException", raw_kms.create_key, KeySpec="RSA_1024", KeyUsage="SIGN_VERIFY")
    refused("ValidationException", raw_kms.create_key, KeySpec="ML_DSA_44", KeyUsage="SIGN")
    refused("ValidationException", raw_kms.create_key, KeySpec="ECC_NIST_P256", KeyUsage="sign_verify")


# ------------------------------------------------------------------------------------------------
# GetPublicKey
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("spec", "usage"), ASYMMETRIC_COMBINATIONS)
def test_get_public_key(keys, kms, spec, usage, tmp_path):
    key = keys(spec, usage)
    response = kms.get_public_key(KeyId=key["KeyId"])
    assert response["KeyId"] == key["Arn"]
    assert response["KeySpec"] == spec
    assert response["KeyUsage"] == usage
    check_algorithm_lists(response, spec, usage)
    der = response["PublicKey"]
    assert kms.get_public_key(KeyId=key["Arn"])["PublicKey"] == der, "the same key every time"

    if spec in ML_DSA_SPECS or spec in ML_KEM_SPECS:
        oid = ML_DSA_OID.get(spec) or ML_KEM_OID[spec]
        size = ML_DSA_PUBLIC_BYTES.get(spec) or ML_KEM_PUBLIC_BYTES[spec]
        found_oid, has_parameters, raw = spki_parts(der)
        assert found_oid == oid, (spec, found_oid)
        assert not has_parameters, "ML-DSA and ML-KEM AlgorithmIdentifiers have absent parameters"
        assert len(raw) == size, (spec, len(raw))
        # OpenSSL 3.0 knows no ML-DSA or ML-KEM, but parses the structure and prints the OID.
        path = tmp_path / "public.der"
        path.write_bytes(der)
        parsed = openssl("asn1parse", "-inform", "DER", "-in", str(path))
        assert parsed.returncode == 0, parsed.stderr
        assert f":{oid}" in parsed.stdout.decode(), parsed.stdout.decode()
        return

    public = serialization.load_der_public_key(der)
    assert public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo) == der
    if spec in RSA_SPECS:
        assert isinstance(public, rsa.RSAPublicKey)
        assert public.key_size == RSA_BITS[spec]
        assert public.public_numbers().e == 65537
        expected_text = f"Public-Key: ({RSA_BITS[spec]} bit)"
    elif spec in CURVES:
        assert isinstance(public, ec.EllipticCurvePublicKey)
        assert isinstance(public.curve, CURVES[spec])
        expected_text = f"ASN1 OID: {OPENSSL_CURVE_NAMES[spec]}"
    else:
        assert isinstance(public, ed25519.Ed25519PublicKey)
        expected_text = "ED25519 Public-Key:"
    text = openssl("pkey", "-pubin", "-inform", "DER", "-noout", "-text", stdin=der)
    assert text.returncode == 0, text.stderr
    assert expected_text in text.stdout.decode(), text.stdout.decode()


def test_get_public_key_of_a_symmetric_or_hmac_key_is_unsupported(keys, kms):
    # AWS: "GetPublicKey ... UnsupportedOperationException: a specified resource is not valid for
    # this operation" - a symmetric or HMAC key has no public key.
    refused("UnsupportedOperationException", kms.get_public_key, KeyId=keys.symmetric()["KeyId"])
    refused("UnsupportedOperationException", kms.get_public_key, KeyId=keys("HMAC_256", "GENERATE_VERIFY_MAC")["KeyId"])


# ------------------------------------------------------------------------------------------------
# Sign and Verify
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("spec", "algorithm", "kind"), SIGN_CASES)
def test_sign_and_verify(keys, kms, spec, algorithm, kind):
    key = keys(spec, "SIGN_VERIFY")
    public_der = keys.public_key(spec, "SIGN_VERIFY")
    raw, message = message_for(spec, algorithm, kind)
    signed = kms.sign(KeyId=key["KeyId"], Message=message, MessageType=kind, SigningAlgorithm=algorithm)
    assert signed["KeyId"] == key["Arn"]
    assert signed["SigningAlgorithm"] == algorithm
    signature = signed["Signature"]

    if spec in RSA_SPECS:
        assert len(signature) == RSA_BITS[spec] // 8
    elif spec == "ECC_NIST_EDWARDS25519" or spec in ML_DSA_SPECS:
        assert len(signature) == (64 if spec == "ECC_NIST_EDWARDS25519" else ML_DSA_SIGNATURE_BYTES[spec])

    # Independent verification.
    if algorithm == "ED25519_PH_SHA_512":
        # AWS: with DIGEST, KMS "still performs the SHA-512 prehash ... the input is hashed twice":
        # the signature is Ed25519ph over the Message field itself.
        raw_public = spki_parts(public_der)[2]
        assert ed25519_verify(raw_public, message, signature, prehash=True), "Ed25519ph over the digest sent"
        assert not ed25519_verify(raw_public, raw, signature, prehash=True)
    elif spec not in ML_DSA_SPECS:
        verify_with_cryptography(public_der, algorithm, kind, message, signature)
        if kind == "DIGEST":
            # A DIGEST signature is the ordinary signature over the message the digest is of.
            verify_with_cryptography(public_der, algorithm, "RAW", raw, signature)
        if algorithm == "ED25519_SHA_512":
            assert ed25519_verify(spki_parts(public_der)[2], message, signature), "RFC 8032 reference agrees"

    verified = kms.verify(
        KeyId=key["KeyId"], Message=message, MessageType=kind, Signature=signature, SigningAlgorithm=algorithm
    )
    assert verified["SignatureValid"] is True
    assert verified["KeyId"] == key["Arn"]
    assert verified["SigningAlgorithm"] == algorithm

    common = {"KeyId": key["KeyId"], "MessageType": kind, "SigningAlgorithm": algorithm}
    refused(
        "KMSInvalidSignatureException",
        kms.verify,
        Message=message,
        Signature=flip(signature, len(signature) - 1),
        **common,
    )
    refused("KMSInvalidSignatureException", kms.verify, Message=message, Signature=flip(signature, 0), **common)
    refused("KMSInvalidSignatureException", kms.verify, Message=flip(message, 0), Signature=signature, **common)


@pytest.mark.parametrize("spec", RSA_SPECS[:1] + tuple(CURVES))
def test_a_raw_signature_verifies_as_a_digest_of_the_message(keys, kms, spec):
    """RAW hashes with the algorithm's hash, then signs: the same signature checks as DIGEST."""
    algorithm = "RSASSA_PSS_SHA_384" if spec in RSA_SPECS else ECDSA_ALGORITHM[spec]
    key_id = keys(spec, "SIGN_VERIFY")["KeyId"]
    raw, digest = message_for(spec, algorithm, "DIGEST")
    signature = kms.sign(KeyId=key_id, Message=raw, SigningAlgorithm=algorithm)["Signature"]
    verified = kms.verify(
        KeyId=key_id, Message=digest, MessageType="DIGEST", Signature=signature, SigningAlgorithm=algorithm
    )
    assert verified["SignatureValid"] is True
    by_digest = kms.sign(KeyId=key_id, Message=digest, MessageType="DIGEST", SigningAlgorithm=algorithm)["Signature"]
    assert (
        kms.verify(KeyId=key_id, Message=raw, Signature=by_digest, SigningAlgorithm=algorithm)["SignatureValid"] is True
    )
    # MessageType defaults to RAW: a digest sent without DIGEST is hashed again and is a different message.
    refused(
        "KMSInvalidSignatureException",
        kms.verify,
        KeyId=key_id,
        Message=digest,
        Signature=signature,
        SigningAlgorithm=algorithm,
    )


DIGEST_BYTES = {"sha256": 32, "sha384": 48, "sha512": 64}


def openssl_arguments(spec: str, algorithm: str, kind: str) -> list | None:
    """The ``openssl`` arguments (after the key; the input file is appended) that verify a
    signature of ``algorithm`` over a ``kind`` message, or None where the OpenSSL 3.0 CLI has no
    such scheme: Ed25519ph (checked against the RFC 8032 reference code instead) and ML-DSA
    (against dilithium-py)."""
    if algorithm == "ED25519_SHA_512":
        return ["pkeyutl", "-rawin"]
    if algorithm == "ED25519_PH_SHA_512" or spec in ML_DSA_SPECS:
        return None
    digest = HASH_OF[algorithm]
    if kind == "RAW":
        arguments, option = ["dgst", f"-{digest}"], "-sigopt"
    else:
        # pkeyutl verifies a signature over the digest it is given, which must be digest-long.
        arguments, option = ["pkeyutl", "-pkeyopt", f"digest:{digest}"], "-pkeyopt"
    if algorithm.startswith("RSASSA_PSS_"):
        # AWS's PSS: MGF1 with the same hash, salt as long as the digest.
        arguments += [option, "rsa_padding_mode:pss", option, f"rsa_pss_saltlen:{DIGEST_BYTES[digest]}"]
    return arguments


# Every Sign case the openssl CLI can check: every RSA, ECDSA and Ed25519 spec, algorithm and
# message type.
OPENSSL_CASES = [
    (spec, algorithm, kind, openssl_arguments(spec, algorithm, kind))
    for spec, algorithm, kind in SIGN_CASES
    if openssl_arguments(spec, algorithm, kind) is not None
]


def openssl_verify(arguments: list, key_path, signature_path, input_path) -> subprocess.CompletedProcess:
    tool, rest = arguments[0], arguments[1:]
    if tool == "dgst":
        return openssl(
            "dgst",
            *rest,
            "-verify",
            str(key_path),
            "-keyform",
            "DER",
            "-signature",
            str(signature_path),
            str(input_path),
        )
    return openssl(
        "pkeyutl", "-verify", "-pubin", "-inkey", str(key_path), "-keyform", "DER", *rest,
        "-sigfile", str(signature_path), "-in", str(input_path),
    )  # fmt: skip


@pytest.mark.parametrize(("spec", "algorithm", "kind", "arguments"), OPENSSL_CASES)
def test_openssl_verifies_every_signature_it_can_check(keys, kms, spec, algorithm, kind, arguments, tmp_path):
    key_id = keys(spec, "SIGN_VERIFY")["KeyId"]
    _, message = message_for(spec, algorithm, kind)
    signature = kms.sign(KeyId=key_id, Message=message, MessageType=kind, SigningAlgorithm=algorithm)["Signature"]
    key_path, signature_path, input_path = tmp_path / "public.der", tmp_path / "signature", tmp_path / "input"
    key_path.write_bytes(keys.public_key(spec, "SIGN_VERIFY"))
    signature_path.write_bytes(signature)
    input_path.write_bytes(message)
    checked = openssl_verify(arguments, key_path, signature_path, input_path)
    assert checked.returncode == 0, (checked.stdout, checked.stderr)
    assert b"Verified" in checked.stdout, checked.stdout
    signature_path.write_bytes(flip(signature, len(signature) - 1))
    assert openssl_verify(arguments, key_path, signature_path, input_path).returncode != 0, "openssl can say no"


@pytest.mark.parametrize("spec", ML_DSA_SPECS)
def test_ml_dsa_external_mu(keys, kms, spec):
    key_id = keys(spec, "SIGN_VERIFY")["KeyId"]
    raw_public = spki_parts(keys.public_key(spec, "SIGN_VERIFY"))[2]
    assert len(raw_public) == ML_DSA_PUBLIC_BYTES[spec]
    message = b"external mu for " + spec.encode()
    mu = ml_dsa_mu(raw_public, message)
    common = {"KeyId": key_id, "SigningAlgorithm": "ML_DSA_SHAKE_256"}

    by_mu = kms.sign(Message=mu, MessageType="EXTERNAL_MU", **common)
    assert by_mu["SigningAlgorithm"] == "ML_DSA_SHAKE_256"
    signature = by_mu["Signature"]
    assert len(signature) == ML_DSA_SIGNATURE_BYTES[spec]
    # Signing μ is signing the message it represents, and the reverse.
    assert kms.verify(Message=message, MessageType="RAW", Signature=signature, **common)["SignatureValid"] is True
    assert kms.verify(Message=mu, MessageType="EXTERNAL_MU", Signature=signature, **common)["SignatureValid"] is True
    by_raw = kms.sign(Message=message, **common)["Signature"]
    assert kms.verify(Message=mu, MessageType="EXTERNAL_MU", Signature=by_raw, **common)["SignatureValid"] is True

    wrong_mu = ml_dsa_mu(raw_public, message + b"!")
    refused(
        "KMSInvalidSignatureException",
        kms.verify,
        Message=wrong_mu,
        MessageType="EXTERNAL_MU",
        Signature=signature,
        **common,
    )
    # μ over a non-empty context (0x00 || 0x01 || "x") is another message.
    tr = hashlib.shake_256(raw_public).digest(64)
    with_context = hashlib.shake_256(tr + b"\x00\x01x" + message).digest(64)
    refused(
        "KMSInvalidSignatureException",
        kms.verify,
        Message=with_context,
        MessageType="EXTERNAL_MU",
        Signature=signature,
        **common,
    )
    refused("KMSInvalidSignatureException", kms.verify, Message=message, Signature=flip(signature, 0), **common)


def pure_python_pq(module: str, spec: str):
    """The parameter set ``spec`` of a pure-Python FIPS 204 / FIPS 203 implementation
    (dilithium-py's ``dilithium_py.ml_dsa``, kyber-py's ``kyber_py.ml_kem``), which
    tests/wire/requirements.txt installs: a missing one fails the test rather than skip it."""
    found = importlib.import_module(module)
    return getattr(found, spec)


@pytest.mark.parametrize("spec", ML_DSA_SPECS)
def test_ml_dsa_signatures_verify_with_dilithium_py(keys, kms, spec):
    ml_dsa = pure_python_pq("dilithium_py.ml_dsa", spec)
    key_id = keys(spec, "SIGN_VERIFY")["KeyId"]
    raw_public = spki_parts(keys.public_key(spec, "SIGN_VERIFY"))[2]
    message = b"FIPS 204 says yes to " + spec.encode()
    common = {"KeyId": key_id, "SigningAlgorithm": "ML_DSA_SHAKE_256"}
    signature = kms.sign(Message=message, **common)["Signature"]
    assert ml_dsa.verify(raw_public, message, signature), "pure ML-DSA with an empty context"
    assert not ml_dsa.verify(raw_public, message + b"!", signature)
    assert not ml_dsa.verify(raw_public, message, signature, ctx=b"x"), "the context is empty"
    assert not ml_dsa.verify(raw_public, message, flip(signature, 0))

    mu = ml_dsa_mu(raw_public, message)
    assert ml_dsa.prehash_external_mu(raw_public, message) == mu, "the μ computed here is FIPS 204's"
    by_mu = kms.sign(Message=mu, MessageType="EXTERNAL_MU", **common)["Signature"]
    assert ml_dsa.verify(raw_public, message, by_mu)


@pytest.mark.parametrize("spec", ML_KEM_SPECS)
def test_ml_kem_encapsulation_by_kyber_py_decapsulates_in_trent(keys, kms, spec):
    ml_kem = pure_python_pq("kyber_py.ml_kem", spec)
    key_id = keys(spec, "ENCAPSULATE_DECAPSULATE")["KeyId"]
    encapsulation_key = spki_parts(keys.public_key(spec, "ENCAPSULATE_DECAPSULATE"))[2]
    for _ in range(2):
        secret, ciphertext = ml_kem.encaps(encapsulation_key)
        decapsulated = kms.decapsulate(
            KeyId=key_id, SharedSecretCiphertextBlob=ciphertext, EncapsulationAlgorithm="ML_KEM"
        )
        assert decapsulated["SharedSecret"] == secret
        tampered = kms.decapsulate(
            KeyId=key_id, SharedSecretCiphertextBlob=flip(ciphertext, 5), EncapsulationAlgorithm="ML_KEM"
        )["SharedSecret"]
        assert tampered != secret


def ml_kem_private_key(ml_kem, private_der: bytes) -> tuple[bytes, bytes]:
    """(encapsulation key, decapsulation key) of an ML-KEM PKCS#8 private key, in any of the three
    forms of draft-ietf-lamps-kyber-certificates: seed [0], expandedKey, or both."""
    tag, body, _ = der_read(private_der)
    _, _, after = der_read(body)  # version
    _, _, after = der_read(body, after)  # algorithm
    tag, private_key, _ = der_read(body, after)
    assert tag == 0x04, "privateKey is an OCTET STRING"
    tag, inner, _ = der_read(private_key)
    if tag == 0x80:  # seed [0] IMPLICIT OCTET STRING (SIZE (64))
        assert len(inner) == 64
        return ml_kem.key_derive(inner)
    if tag == 0x30:  # both SEQUENCE { seed, expandedKey }
        _, seed, after = der_read(inner)
        _, expanded, _ = der_read(inner, after)
        derived = ml_kem.key_derive(seed)
        assert derived[1] == expanded, "the seed and the expanded key agree"
        return derived
    assert tag == 0x04, f"unknown ML-KEM private key form {tag:#x}"
    # dk = dk_PKE (384·k) || ek (384·k + 32) || H(ek) || z
    k = ml_kem.k
    encapsulation_key = inner[384 * k : 768 * k + 32]
    assert hashlib.sha3_256(encapsulation_key).digest() == inner[768 * k + 32 : 768 * k + 64]
    return encapsulation_key, inner


WRONG_DIGEST_LENGTHS = (
    ("RSA_2048", "RSASSA_PSS_SHA_256", "DIGEST", 48),
    ("RSA_2048", "RSASSA_PKCS1_V1_5_SHA_512", "DIGEST", 32),
    ("RSA_3072", "RSASSA_PKCS1_V1_5_SHA_256", "DIGEST", 31),
    ("ECC_NIST_P256", "ECDSA_SHA_256", "DIGEST", 33),
    ("ECC_NIST_P384", "ECDSA_SHA_384", "DIGEST", 32),
    ("ECC_NIST_P521", "ECDSA_SHA_512", "DIGEST", 66),
    ("ECC_SECG_P256K1", "ECDSA_SHA_256", "DIGEST", 20),
    ("ECC_NIST_EDWARDS25519", "ED25519_PH_SHA_512", "DIGEST", 32),
    ("ML_DSA_44", "ML_DSA_SHAKE_256", "EXTERNAL_MU", 32),
    ("ML_DSA_87", "ML_DSA_SHAKE_256", "EXTERNAL_MU", 65),
)


@pytest.mark.parametrize(("spec", "algorithm", "kind", "length"), WRONG_DIGEST_LENGTHS)
def test_a_digest_of_the_wrong_length_is_refused(keys, kms, spec, algorithm, kind, length):
    key_id = keys(spec, "SIGN_VERIFY")["KeyId"]
    common = {"KeyId": key_id, "Message": b"\x5a" * length, "MessageType": kind, "SigningAlgorithm": algorithm}
    refused("ValidationException", kms.sign, **common)
    refused("ValidationException", kms.verify, Signature=b"\x30" * 64, **common)


def test_message_and_signature_size_limits(keys, kms, raw_kms):
    key_id = keys("ECC_NIST_P256", "SIGN_VERIFY")["KeyId"]
    common = {"KeyId": key_id, "SigningAlgorithm": "ECDSA_SHA_256"}
    signature = kms.sign(Message=b"m" * 4096, **common)["Signature"]
    assert kms.verify(Message=b"m" * 4096, Signature=signature, **common)["SignatureValid"] is True
    refused("ValidationException", raw_kms.sign, Message=b"m" * 4097, **common)
    refused("ValidationException", raw_kms.verify, Message=b"m" * 4097, Signature=signature, **common)
    refused("ValidationException", raw_kms.sign, Message=b"", **common)
    # Signature, Mac and SharedSecretCiphertextBlob are CiphertextType: 1 to 6144 bytes.
    refused("ValidationException", raw_kms.verify, Message=b"m", Signature=b"s" * 6145, **common)
    refused("ValidationException", raw_kms.verify, Message=b"m", Signature=b"", **common)
    mac_key = keys("HMAC_256", "GENERATE_VERIFY_MAC")["KeyId"]
    refused(
        "ValidationException",
        raw_kms.verify_mac,
        KeyId=mac_key,
        Message=b"m",
        Mac=b"x" * 6145,
        MacAlgorithm="HMAC_SHA_256",
    )
    kem_key = keys("ML_KEM_512", "ENCAPSULATE_DECAPSULATE")["KeyId"]
    refused(
        "ValidationException",
        raw_kms.decapsulate,
        KeyId=kem_key,
        SharedSecretCiphertextBlob=b"c" * 6145,
        EncapsulationAlgorithm="ML_KEM",
    )


WRONG_ALGORITHMS = (
    ("ECC_NIST_P256", "ECDSA_SHA_384"),
    ("ECC_NIST_P256", "ECDSA_SHA_512"),
    ("ECC_NIST_P384", "ECDSA_SHA_256"),
    ("ECC_NIST_P521", "ECDSA_SHA_384"),
    ("ECC_SECG_P256K1", "ECDSA_SHA_512"),
    ("ECC_NIST_P256", "RSASSA_PSS_SHA_256"),
    ("ECC_NIST_P256", "SM2DSA"),
    ("RSA_2048", "ECDSA_SHA_256"),
    ("RSA_2048", "ML_DSA_SHAKE_256"),
    ("ECC_NIST_EDWARDS25519", "ECDSA_SHA_512"),
    ("ML_DSA_44", "ED25519_SHA_512"),
    ("ML_DSA_65", "RSASSA_PKCS1_V1_5_SHA_256"),
)


@pytest.mark.parametrize(("spec", "algorithm"), WRONG_ALGORITHMS)
def test_an_algorithm_the_key_does_not_offer_is_invalid_key_usage(keys, kms, spec, algorithm):
    key_id = keys(spec, "SIGN_VERIFY")["KeyId"]
    refused("InvalidKeyUsageException", kms.sign, KeyId=key_id, Message=b"m", SigningAlgorithm=algorithm)
    refused(
        "InvalidKeyUsageException",
        kms.verify,
        KeyId=key_id,
        Message=b"m",
        Signature=b"s" * 64,
        SigningAlgorithm=algorithm,
    )


def test_message_types_the_algorithm_does_not_take(keys, kms):
    # AWS: "ED25519_SHA_512 signing algorithm requires MessageType:RAW, ED25519_PH_SHA_512 requires
    # MessageType:DIGEST"; ML-DSA takes RAW or EXTERNAL_MU; EXTERNAL_MU is ML-DSA's alone. A
    # combination of valid values the request itself rules out is a ValidationException.
    ed25519_key = keys("ECC_NIST_EDWARDS25519", "SIGN_VERIFY")["KeyId"]
    ml_dsa_key = keys("ML_DSA_44", "SIGN_VERIFY")["KeyId"]
    p256_key = keys("ECC_NIST_P256", "SIGN_VERIFY")["KeyId"]
    cases = (
        (ed25519_key, "ED25519_SHA_512", "DIGEST", 64),
        (ed25519_key, "ED25519_PH_SHA_512", "RAW", 64),
        (ed25519_key, "ED25519_SHA_512", "EXTERNAL_MU", 64),
        (ml_dsa_key, "ML_DSA_SHAKE_256", "DIGEST", 64),
        (p256_key, "ECDSA_SHA_256", "EXTERNAL_MU", 64),
    )
    for key_id, algorithm, kind, length in cases:
        common = {"KeyId": key_id, "Message": b"\x11" * length, "MessageType": kind, "SigningAlgorithm": algorithm}
        refused("ValidationException", kms.sign, **common)
        refused("ValidationException", kms.verify, Signature=b"\x22" * 64, **common)


def test_unknown_algorithm_or_message_type_is_a_validation_error(keys, raw_kms):
    key_id = keys("ECC_NIST_P256", "SIGN_VERIFY")["KeyId"]
    refused("ValidationException", raw_kms.sign, KeyId=key_id, Message=b"m", SigningAlgorithm="ECDSA_SHA_1")
    refused(
        "ValidationException",
        raw_kms.sign,
        KeyId=key_id,
        Message=b"m",
        SigningAlgorithm="ECDSA_SHA_256",
        MessageType="HASHED",
    )
    refused("ValidationException", raw_kms.sign, KeyId=key_id, Message=b"m")


def test_keys_not_for_signing_are_invalid_key_usage(keys, kms):
    others = (
        (keys.symmetric()["KeyId"], "RSASSA_PSS_SHA_256"),
        (keys("RSA_2048", "ENCRYPT_DECRYPT")["KeyId"], "RSASSA_PSS_SHA_256"),
        (keys("HMAC_256", "GENERATE_VERIFY_MAC")["KeyId"], "ECDSA_SHA_256"),
        (keys("ECC_NIST_P256", "KEY_AGREEMENT")["KeyId"], "ECDSA_SHA_256"),
        (keys("ML_KEM_768", "ENCAPSULATE_DECAPSULATE")["KeyId"], "ML_DSA_SHAKE_256"),
    )
    for key_id, algorithm in others:
        refused("InvalidKeyUsageException", kms.sign, KeyId=key_id, Message=b"m", SigningAlgorithm=algorithm)
        refused(
            "InvalidKeyUsageException",
            kms.verify,
            KeyId=key_id,
            Message=b"m",
            Signature=b"s" * 64,
            SigningAlgorithm=algorithm,
        )


def test_verify_refuses_garbage_signatures(keys, kms):
    for spec, algorithm in (
        ("ECC_NIST_P256", "ECDSA_SHA_256"),
        ("RSA_2048", "RSASSA_PKCS1_V1_5_SHA_256"),
        ("ECC_NIST_EDWARDS25519", "ED25519_SHA_512"),
        ("ML_DSA_44", "ML_DSA_SHAKE_256"),
    ):
        key_id = keys(spec, "SIGN_VERIFY")["KeyId"]
        for garbage in (b"\x00", b"\x30\x06\x02\x01\x01\x02\x01\x01", os.urandom(300)):
            refused(
                "KMSInvalidSignatureException",
                kms.verify,
                KeyId=key_id,
                Message=b"m",
                Signature=garbage,
                SigningAlgorithm=algorithm,
            )


# ------------------------------------------------------------------------------------------------
# RSA Encrypt and Decrypt
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", RSA_SPECS)
@pytest.mark.parametrize("algorithm", RSA_ENCRYPTION)
def test_rsa_oaep_from_cryptography_decrypts_in_trent(keys, kms, spec, algorithm):
    key = keys(spec, "ENCRYPT_DECRYPT")
    public = serialization.load_der_public_key(keys.public_key(spec, "ENCRYPT_DECRYPT"))
    digest = hashes.SHA1() if algorithm == "RSAES_OAEP_SHA_1" else hashes.SHA256()
    oaep = padding.OAEP(mgf=padding.MGF1(digest), algorithm=digest, label=None)
    for plaintext in (b"\x00", bytes(range(256))[: RSA_MAX_PLAINTEXT[(spec, algorithm)]]):
        ciphertext = public.encrypt(plaintext, oaep)
        decrypted = kms.decrypt(CiphertextBlob=ciphertext, KeyId=key["KeyId"], EncryptionAlgorithm=algorithm)
        assert decrypted["Plaintext"] == plaintext
        assert decrypted["KeyId"] == key["Arn"]
        assert decrypted["EncryptionAlgorithm"] == algorithm
    other_algorithm = next(name for name in RSA_ENCRYPTION if name != algorithm)
    ciphertext = public.encrypt(b"the other hash", oaep)
    refused(
        "InvalidCiphertextException",
        kms.decrypt,
        CiphertextBlob=ciphertext,
        KeyId=key["KeyId"],
        EncryptionAlgorithm=other_algorithm,
    )
    refused(
        "InvalidCiphertextException",
        kms.decrypt,
        CiphertextBlob=flip(ciphertext, 7),
        KeyId=key["KeyId"],
        EncryptionAlgorithm=algorithm,
    )


@pytest.mark.parametrize("spec", RSA_SPECS)
@pytest.mark.parametrize("algorithm", RSA_ENCRYPTION)
def test_rsa_encrypt_round_trip_and_plaintext_limit(keys, kms, raw_kms, spec, algorithm):
    key = keys(spec, "ENCRYPT_DECRYPT")
    largest = RSA_MAX_PLAINTEXT[(spec, algorithm)]
    common = {"KeyId": key["KeyId"], "EncryptionAlgorithm": algorithm}
    plaintext = os.urandom(largest)
    encrypted = kms.encrypt(Plaintext=plaintext, **common)
    assert encrypted["KeyId"] == key["Arn"]
    assert encrypted["EncryptionAlgorithm"] == algorithm
    ciphertext = encrypted["CiphertextBlob"]
    assert len(ciphertext) == RSA_BITS[spec] // 8, "an RSA ciphertext is the modulus' size"
    again = kms.encrypt(Plaintext=plaintext, **common)["CiphertextBlob"]
    assert again != ciphertext, "OAEP is randomized"
    for blob in (ciphertext, again):
        assert kms.decrypt(CiphertextBlob=blob, **common)["Plaintext"] == plaintext
    refused("ValidationException", kms.encrypt, Plaintext=os.urandom(largest + 1), **common)
    refused("ValidationException", raw_kms.encrypt, Plaintext=b"", **common)


def rsa_ciphertext(keys, kms) -> bytes:
    key_id = keys("RSA_2048", "ENCRYPT_DECRYPT")["KeyId"]
    return kms.encrypt(KeyId=key_id, Plaintext=b"secret", EncryptionAlgorithm="RSAES_OAEP_SHA_256")["CiphertextBlob"]


def test_rsa_decrypt_needs_the_key_id(keys, kms):
    ciphertext = rsa_ciphertext(keys, kms)
    # The ciphertext of an asymmetric key names no key: without KeyId or EncryptionAlgorithm it is
    # read as a symmetric blob, and is not one.
    refused("InvalidCiphertextException", kms.decrypt, CiphertextBlob=ciphertext)
    # AWS (Decrypt, KeyId): "required ... when the ciphertext was encrypted under an asymmetric KMS
    # key". Which error a missing KeyId gets is not documented: a ValidationException for the
    # missing parameter, or InvalidCiphertextException for a blob that names no key.
    with pytest.raises(ClientError) as excinfo:
        kms.decrypt(CiphertextBlob=ciphertext, EncryptionAlgorithm="RSAES_OAEP_SHA_256")
    assert excinfo.value.response["Error"]["Code"] in ("ValidationException", "InvalidCiphertextException")


def test_rsa_key_refuses_algorithms_it_does_not_offer(keys, kms):
    key_id = keys("RSA_2048", "ENCRYPT_DECRYPT")["KeyId"]
    # EncryptionAlgorithm defaults to SYMMETRIC_DEFAULT, which an RSA key does not offer.
    refused("InvalidKeyUsageException", kms.encrypt, KeyId=key_id, Plaintext=b"secret")
    for algorithm in ("SYMMETRIC_DEFAULT", "SM2PKE"):
        refused(
            "InvalidKeyUsageException", kms.encrypt, KeyId=key_id, Plaintext=b"secret", EncryptionAlgorithm=algorithm
        )
    # Decrypt with SYMMETRIC_DEFAULT reads the blob as a symmetric one: AWS does not say whether the
    # key's usage or the blob is checked first, so either refusal is accepted.
    with pytest.raises(ClientError) as excinfo:
        kms.decrypt(CiphertextBlob=rsa_ciphertext(keys, kms), KeyId=key_id, EncryptionAlgorithm="SYMMETRIC_DEFAULT")
    assert excinfo.value.response["Error"]["Code"] in ("InvalidKeyUsageException", "InvalidCiphertextException")


@pytest.mark.parametrize("algorithm", RSA_ENCRYPTION + ("SM2PKE",))
def test_symmetric_key_refuses_asymmetric_encryption_algorithms(keys, kms, algorithm):
    # AWS: SYMMETRIC_DEFAULT is "the only supported algorithm that is valid for symmetric encryption KMS keys".
    symmetric = keys.symmetric()["KeyId"]
    refused(
        "InvalidKeyUsageException", kms.encrypt, KeyId=symmetric, Plaintext=b"secret", EncryptionAlgorithm=algorithm
    )
    blob = kms.encrypt(KeyId=symmetric, Plaintext=b"secret")["CiphertextBlob"]
    refused(
        "InvalidKeyUsageException", kms.decrypt, CiphertextBlob=blob, KeyId=symmetric, EncryptionAlgorithm=algorithm
    )


def test_keys_that_do_not_rsa_encrypt(keys, kms):
    ciphertext = rsa_ciphertext(keys, kms)
    for spec, usage in (
        ("RSA_2048", "SIGN_VERIFY"),
        ("ECC_NIST_P256", "SIGN_VERIFY"),
        ("ML_KEM_512", "ENCAPSULATE_DECAPSULATE"),
    ):
        key_id = keys(spec, usage)["KeyId"]
        common = {"KeyId": key_id, "EncryptionAlgorithm": "RSAES_OAEP_SHA_256"}
        refused("InvalidKeyUsageException", kms.encrypt, Plaintext=b"secret", **common)
        refused("InvalidKeyUsageException", kms.decrypt, CiphertextBlob=ciphertext, **common)


def test_rsa_ciphertext_of_another_key_does_not_open(keys, kms):
    ciphertext = rsa_ciphertext(keys, kms)
    common = {"CiphertextBlob": ciphertext, "EncryptionAlgorithm": "RSAES_OAEP_SHA_256"}
    # Another key of another size, and another key of the same size.
    refused("InvalidCiphertextException", kms.decrypt, KeyId=keys("RSA_3072", "ENCRYPT_DECRYPT")["KeyId"], **common)
    other = kms.create_key(KeySpec="RSA_2048", KeyUsage="ENCRYPT_DECRYPT")["KeyMetadata"]["KeyId"]
    refused("InvalidCiphertextException", kms.decrypt, KeyId=other, **common)


def test_rsa_encryption_takes_no_encryption_context(keys, kms):
    # AWS (Encrypt, EncryptionContext): "An encryption context is valid only for cryptographic
    # operations with a symmetric encryption KMS key. The standard asymmetric encryption
    # algorithms ... do not support an encryption context." The reference does not name the error
    # code; AWS answers ValidationException ("EncryptionContext is not supported when
    # encrypting/decrypting with asymmetric CMKs."), which is what is asserted here.
    key_id = keys("RSA_2048", "ENCRYPT_DECRYPT")["KeyId"]
    common = {"KeyId": key_id, "EncryptionAlgorithm": "RSAES_OAEP_SHA_256"}
    refused("ValidationException", kms.encrypt, Plaintext=b"secret", EncryptionContext={"purpose": "test"}, **common)
    ciphertext = kms.encrypt(Plaintext=b"secret", **common)["CiphertextBlob"]
    refused(
        "ValidationException", kms.decrypt, CiphertextBlob=ciphertext, EncryptionContext={"purpose": "test"}, **common
    )
    assert kms.decrypt(CiphertextBlob=ciphertext, EncryptionContext={}, **common)["Plaintext"] == b"secret"


# ------------------------------------------------------------------------------------------------
# GenerateMac and VerifyMac
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", HMAC_SPECS)
def test_generate_and_verify_mac(keys, kms, spec):
    key = keys(spec, "GENERATE_VERIFY_MAC")
    algorithm = HMAC_ALGORITHM[spec]
    message = b"mac me " + bytes(range(256))
    made = kms.generate_mac(KeyId=key["KeyId"], Message=message, MacAlgorithm=algorithm)
    assert made["KeyId"] == key["Arn"]
    assert made["MacAlgorithm"] == algorithm
    mac = made["Mac"]
    assert len(mac) == HMAC_BYTES[spec], "an HMAC is its hash's length"
    assert (
        kms.generate_mac(KeyId=key["Arn"], Message=message, MacAlgorithm=algorithm)["Mac"] == mac
    ), "HMAC is deterministic"
    assert kms.generate_mac(KeyId=key["KeyId"], Message=message + b"!", MacAlgorithm=algorithm)["Mac"] != mac

    verified = kms.verify_mac(KeyId=key["KeyId"], Message=message, Mac=mac, MacAlgorithm=algorithm)
    assert verified["MacValid"] is True
    assert verified["KeyId"] == key["Arn"]
    assert verified["MacAlgorithm"] == algorithm

    common = {"KeyId": key["KeyId"], "MacAlgorithm": algorithm}
    refused("KMSInvalidMacException", kms.verify_mac, Message=message, Mac=flip(mac, 0), **common)
    refused("KMSInvalidMacException", kms.verify_mac, Message=message, Mac=flip(mac, len(mac) - 1), **common)
    refused("KMSInvalidMacException", kms.verify_mac, Message=message, Mac=mac[:-1], **common)
    refused("KMSInvalidMacException", kms.verify_mac, Message=message, Mac=mac + b"\x00", **common)
    refused("KMSInvalidMacException", kms.verify_mac, Message=message[:-1], Mac=mac, **common)


def test_hmac_keys_are_distinct(kms):
    first = kms.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]["KeyId"]
    second = kms.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]["KeyId"]
    macs = [
        kms.generate_mac(KeyId=key_id, Message=b"same", MacAlgorithm="HMAC_SHA_256")["Mac"]
        for key_id in (first, second)
    ]
    assert macs[0] != macs[1]
    refused(
        "KMSInvalidMacException",
        kms.verify_mac,
        KeyId=second,
        Message=b"same",
        Mac=macs[0],
        MacAlgorithm="HMAC_SHA_256",
    )


def test_mac_refusals(keys, kms, raw_kms):
    hmac_256 = keys("HMAC_256", "GENERATE_VERIFY_MAC")["KeyId"]
    for wrong in ("HMAC_SHA_224", "HMAC_SHA_384", "HMAC_SHA_512"):
        refused("InvalidKeyUsageException", kms.generate_mac, KeyId=hmac_256, Message=b"m", MacAlgorithm=wrong)
        refused(
            "InvalidKeyUsageException", kms.verify_mac, KeyId=hmac_256, Message=b"m", Mac=b"x" * 32, MacAlgorithm=wrong
        )
    for key_id in (keys.symmetric()["KeyId"], keys("ECC_NIST_P256", "SIGN_VERIFY")["KeyId"]):
        refused("InvalidKeyUsageException", kms.generate_mac, KeyId=key_id, Message=b"m", MacAlgorithm="HMAC_SHA_256")
        refused(
            "InvalidKeyUsageException",
            kms.verify_mac,
            KeyId=key_id,
            Message=b"m",
            Mac=b"x" * 32,
            MacAlgorithm="HMAC_SHA_256",
        )
    refused(
        "ValidationException", raw_kms.generate_mac, KeyId=hmac_256, Message=b"m" * 4097, MacAlgorithm="HMAC_SHA_256"
    )
    refused("ValidationException", raw_kms.generate_mac, KeyId=hmac_256, Message=b"m", MacAlgorithm="HMAC_SHA_1")
    assert len(kms.generate_mac(KeyId=hmac_256, Message=b"m" * 4096, MacAlgorithm="HMAC_SHA_256")["Mac"]) == 32
    # HMAC keys sign nothing and encrypt nothing.
    refused("InvalidKeyUsageException", kms.encrypt, KeyId=hmac_256, Plaintext=b"m")


# ------------------------------------------------------------------------------------------------
# DeriveSharedSecret
# ------------------------------------------------------------------------------------------------


def spki(public_key) -> bytes:
    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


@pytest.mark.parametrize("spec", NIST_CURVES)
def test_derive_shared_secret_matches_cryptography(keys, kms, spec):
    key = keys(spec, "KEY_AGREEMENT")
    trent_public = serialization.load_der_public_key(keys.public_key(spec, "KEY_AGREEMENT"))
    for _ in range(2):
        peer = ec.generate_private_key(CURVES[spec]())
        derived = kms.derive_shared_secret(
            KeyId=key["KeyId"], KeyAgreementAlgorithm="ECDH", PublicKey=spki(peer.public_key())
        )
        assert derived["KeyId"] == key["Arn"]
        assert derived["KeyAgreementAlgorithm"] == "ECDH"
        assert derived["KeyOrigin"] == "AWS_KMS"
        assert "CiphertextForRecipient" not in derived
        expected = peer.exchange(ec.ECDH(), trent_public)
        assert len(expected) == ECDH_SECRET_BYTES[spec]
        assert derived["SharedSecret"] == expected


def test_derive_shared_secret_between_two_trent_keys(kms):
    first, second = (
        kms.create_key(KeySpec="ECC_NIST_P384", KeyUsage="KEY_AGREEMENT")["KeyMetadata"]["KeyId"] for _ in range(2)
    )
    public = {key_id: kms.get_public_key(KeyId=key_id)["PublicKey"] for key_id in (first, second)}
    one = kms.derive_shared_secret(KeyId=first, KeyAgreementAlgorithm="ECDH", PublicKey=public[second])["SharedSecret"]
    other = kms.derive_shared_secret(KeyId=second, KeyAgreementAlgorithm="ECDH", PublicKey=public[first])[
        "SharedSecret"
    ]
    assert one == other
    assert len(one) == 48


def test_derive_shared_secret_refusals(keys, kms, raw_kms):
    key_id = keys("ECC_NIST_P256", "KEY_AGREEMENT")["KeyId"]
    # AWS: the peer key "must be a DER-encoded X.509 public key" on the same curve; anything else
    # (another curve, another algorithm, not DER) is a ValidationException, as the reference says
    # of a public key the CLI has base64-encoded twice.
    wrong_keys = (
        spki(ec.generate_private_key(ec.SECP384R1()).public_key()),
        spki(ec.generate_private_key(ec.SECP256K1()).public_key()),
        spki(ed25519.Ed25519PrivateKey.generate().public_key()),
        spki(rsa.generate_private_key(65537, 2048).public_key()),
        b"\x30\x03\x02\x01\x00",
        spki(ec.generate_private_key(ec.SECP256R1()).public_key())[:-1],
        # A point off the curve (y changed): the invalid-curve attack's way in.
        flip(spki(ec.generate_private_key(ec.SECP256R1()).public_key()), 90),
    )
    for wrong in wrong_keys:
        refused(
            "ValidationException", kms.derive_shared_secret, KeyId=key_id, KeyAgreementAlgorithm="ECDH", PublicKey=wrong
        )
    peer = spki(ec.generate_private_key(ec.SECP256R1()).public_key())
    refused(
        "ValidationException", raw_kms.derive_shared_secret, KeyId=key_id, KeyAgreementAlgorithm="DH", PublicKey=peer
    )
    for other in (keys("ECC_NIST_P256", "SIGN_VERIFY"), keys.symmetric(), keys("RSA_2048", "ENCRYPT_DECRYPT")):
        refused(
            "InvalidKeyUsageException",
            kms.derive_shared_secret,
            KeyId=other["KeyId"],
            KeyAgreementAlgorithm="ECDH",
            PublicKey=peer,
        )
    # A key-agreement key does not sign.
    refused("InvalidKeyUsageException", kms.sign, KeyId=key_id, Message=b"m", SigningAlgorithm="ECDSA_SHA_256")


# ------------------------------------------------------------------------------------------------
# Encapsulate and Decapsulate
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", ML_KEM_SPECS)
def test_encapsulate_and_decapsulate(keys, kms, spec):
    key = keys(spec, "ENCAPSULATE_DECAPSULATE")
    common = {"KeyId": key["KeyId"], "EncapsulationAlgorithm": "ML_KEM"}
    encapsulated = kms.encapsulate(**common)
    assert encapsulated["KeyId"] == key["Arn"]
    assert encapsulated["EncapsulationAlgorithm"] == "ML_KEM"
    secret, ciphertext = encapsulated["SharedSecret"], encapsulated["SharedSecretCiphertextBlob"]
    assert len(secret) == 32
    assert len(ciphertext) == ML_KEM_CIPHERTEXT_BYTES[spec]

    decapsulated = kms.decapsulate(SharedSecretCiphertextBlob=ciphertext, **common)
    assert decapsulated["SharedSecret"] == secret
    assert decapsulated["KeyId"] == key["Arn"]
    assert decapsulated["EncapsulationAlgorithm"] == "ML_KEM"
    assert kms.decapsulate(SharedSecretCiphertextBlob=ciphertext, **common)["SharedSecret"] == secret

    again = kms.encapsulate(**common)
    assert again["SharedSecret"] != secret and again["SharedSecretCiphertextBlob"] != ciphertext, "fresh every time"

    # ML-KEM's implicit rejection turns a tampered ciphertext into another (pseudorandom) secret;
    # refusing it outright is acceptable too. Handing back the original secret is not.
    for index in (0, len(ciphertext) // 2, len(ciphertext) - 1):
        try:
            tampered = kms.decapsulate(SharedSecretCiphertextBlob=flip(ciphertext, index), **common)
        except ClientError as error:
            assert error.response["Error"]["Code"] == "InvalidCiphertextException", error.response["Error"]
        else:
            assert tampered["SharedSecret"] != secret
            assert len(tampered["SharedSecret"]) == 32


def test_encapsulation_refusals(keys, kms, raw_kms):
    ml_kem_768 = keys("ML_KEM_768", "ENCAPSULATE_DECAPSULATE")["KeyId"]
    ciphertext = kms.encapsulate(KeyId=ml_kem_768, EncapsulationAlgorithm="ML_KEM")["SharedSecretCiphertextBlob"]
    # A ciphertext of the wrong length for the key (ML-KEM-512's, or cut short) is not one.
    for wrong in (ciphertext[:768], ciphertext[:-1], ciphertext + b"\x00"):
        with pytest.raises(ClientError) as excinfo:
            kms.decapsulate(KeyId=ml_kem_768, SharedSecretCiphertextBlob=wrong, EncapsulationAlgorithm="ML_KEM")
        assert excinfo.value.response["Error"]["Code"] in ("InvalidCiphertextException", "ValidationException")
    ml_kem_1024 = keys("ML_KEM_1024", "ENCAPSULATE_DECAPSULATE")["KeyId"]
    with pytest.raises(ClientError) as excinfo:
        kms.decapsulate(KeyId=ml_kem_1024, SharedSecretCiphertextBlob=ciphertext, EncapsulationAlgorithm="ML_KEM")
    assert excinfo.value.response["Error"]["Code"] in ("InvalidCiphertextException", "ValidationException")
    refused("ValidationException", raw_kms.encapsulate, KeyId=ml_kem_768, EncapsulationAlgorithm="KYBER")
    for other in (keys.symmetric(), keys("ML_DSA_44", "SIGN_VERIFY"), keys("ECC_NIST_P256", "KEY_AGREEMENT")):
        refused("InvalidKeyUsageException", kms.encapsulate, KeyId=other["KeyId"], EncapsulationAlgorithm="ML_KEM")
        refused(
            "InvalidKeyUsageException",
            kms.decapsulate,
            KeyId=other["KeyId"],
            SharedSecretCiphertextBlob=ciphertext,
            EncapsulationAlgorithm="ML_KEM",
        )
    refused("InvalidKeyUsageException", kms.encrypt, KeyId=ml_kem_768, Plaintext=b"m")


# ------------------------------------------------------------------------------------------------
# GenerateDataKeyPair and GenerateDataKeyPairWithoutPlaintext
# ------------------------------------------------------------------------------------------------

PAIR_CONTEXT = {"purpose": "data key pair", "tenant": "wire"}
PKCS8_OID = {
    **{spec: "1.2.840.113549.1.1.1" for spec in RSA_SPECS},
    **{spec: "1.2.840.10045.2.1" for spec in CURVES},
    "ECC_NIST_EDWARDS25519": "1.3.101.112",
}


def check_private_key(spec: str, private_der: bytes, public_der: bytes) -> None:
    # PKCS#8 PrivateKeyInfo, as AWS documents it (not a bare PKCS#1 or SEC1 structure).
    assert pkcs8_oid(private_der) == PKCS8_OID[spec]
    private = serialization.load_der_private_key(private_der, password=None)
    assert spki(private.public_key()) == public_der, "the private key is the public key's"
    if spec in RSA_SPECS:
        assert isinstance(private, rsa.RSAPrivateKey) and private.key_size == RSA_BITS[spec]
    elif spec in CURVES:
        assert isinstance(private, ec.EllipticCurvePrivateKey) and isinstance(private.curve, CURVES[spec])
    else:
        assert isinstance(private, ed25519.Ed25519PrivateKey)


@pytest.mark.parametrize("spec", DATA_KEY_PAIR_SPECS)
def test_generate_data_key_pair(keys, kms, spec):
    wrapping = keys.symmetric()
    pair = kms.generate_data_key_pair(KeyId=wrapping["KeyId"], KeyPairSpec=spec, EncryptionContext=PAIR_CONTEXT)
    assert pair["KeyId"] == wrapping["Arn"]
    assert pair["KeyPairSpec"] == spec
    assert "CiphertextForRecipient" not in pair
    check_private_key(spec, pair["PrivateKeyPlaintext"], pair["PublicKey"])
    opened = kms.decrypt(CiphertextBlob=pair["PrivateKeyCiphertextBlob"], EncryptionContext=PAIR_CONTEXT)
    assert opened["Plaintext"] == pair["PrivateKeyPlaintext"]
    assert opened["KeyId"] == wrapping["Arn"]
    refused("InvalidCiphertextException", kms.decrypt, CiphertextBlob=pair["PrivateKeyCiphertextBlob"])
    second = kms.generate_data_key_pair(KeyId=wrapping["KeyId"], KeyPairSpec=spec, EncryptionContext=PAIR_CONTEXT)
    assert second["PublicKey"] != pair["PublicKey"], "a new pair every call"


@pytest.mark.parametrize("spec", DATA_KEY_PAIR_SPECS)
def test_generate_data_key_pair_without_plaintext(keys, kms, spec):
    wrapping = keys.symmetric()
    pair = kms.generate_data_key_pair_without_plaintext(
        KeyId=wrapping["KeyId"], KeyPairSpec=spec, EncryptionContext=PAIR_CONTEXT
    )
    assert pair["KeyId"] == wrapping["Arn"]
    assert pair["KeyPairSpec"] == spec
    assert "PrivateKeyPlaintext" not in pair
    private_der = kms.decrypt(CiphertextBlob=pair["PrivateKeyCiphertextBlob"], EncryptionContext=PAIR_CONTEXT)[
        "Plaintext"
    ]
    check_private_key(spec, private_der, pair["PublicKey"])
    refused(
        "InvalidCiphertextException",
        kms.decrypt,
        CiphertextBlob=pair["PrivateKeyCiphertextBlob"],
        EncryptionContext={"purpose": "other"},
    )


@pytest.mark.parametrize("spec", ML_KEM_SPECS)
def test_generate_ml_kem_data_key_pair(keys, kms, spec):
    wrapping = keys.symmetric()
    pair = kms.generate_data_key_pair(KeyId=wrapping["KeyId"], KeyPairSpec=spec, EncryptionContext=PAIR_CONTEXT)
    assert pair["KeyPairSpec"] == spec
    oid, has_parameters, raw = spki_parts(pair["PublicKey"])
    assert (oid, has_parameters, len(raw)) == (ML_KEM_OID[spec], False, ML_KEM_PUBLIC_BYTES[spec])
    assert pkcs8_oid(pair["PrivateKeyPlaintext"]) == ML_KEM_OID[spec]
    opened = kms.decrypt(CiphertextBlob=pair["PrivateKeyCiphertextBlob"], EncryptionContext=PAIR_CONTEXT)
    assert opened["Plaintext"] == pair["PrivateKeyPlaintext"]
    without = kms.generate_data_key_pair_without_plaintext(
        KeyId=wrapping["KeyId"], KeyPairSpec=spec, EncryptionContext=PAIR_CONTEXT
    )
    assert "PrivateKeyPlaintext" not in without
    assert spki_parts(without["PublicKey"])[0] == ML_KEM_OID[spec]
    private_der = kms.decrypt(CiphertextBlob=without["PrivateKeyCiphertextBlob"], EncryptionContext=PAIR_CONTEXT)[
        "Plaintext"
    ]
    assert pkcs8_oid(private_der) == ML_KEM_OID[spec]


@pytest.mark.parametrize("spec", ML_KEM_SPECS)
def test_ml_kem_data_key_pair_private_key_matches_its_public_key(keys, kms, spec):
    ml_kem = pure_python_pq("kyber_py.ml_kem", spec)
    pair = kms.generate_data_key_pair(KeyId=keys.symmetric()["KeyId"], KeyPairSpec=spec)
    public = spki_parts(pair["PublicKey"])[2]
    encapsulation_key, decapsulation_key = ml_kem_private_key(ml_kem, pair["PrivateKeyPlaintext"])
    assert encapsulation_key == public, "the private key is the public key's"
    secret, ciphertext = ml_kem.encaps(public)
    assert ml_kem.decaps(decapsulation_key, ciphertext) == secret


def test_data_key_pair_refusals(keys, kms, raw_kms):
    wrapping = keys.symmetric()["KeyId"]
    not_symmetric = (
        keys("RSA_2048", "ENCRYPT_DECRYPT"),
        keys("ECC_NIST_P256", "SIGN_VERIFY"),
        keys("HMAC_256", "GENERATE_VERIFY_MAC"),
        keys("ML_KEM_768", "ENCAPSULATE_DECAPSULATE"),
    )
    for name in ("generate_data_key_pair", "generate_data_key_pair_without_plaintext"):
        call, raw_call = getattr(kms, name), getattr(raw_kms, name)
        # SM2 is in the model's DataKeyPairSpec, for China Regions only.
        refused("UnsupportedOperationException", call, KeyId=wrapping, KeyPairSpec="SM2")
        refused("ValidationException", raw_call, KeyId=wrapping, KeyPairSpec="RSA_1024")
        refused("ValidationException", raw_call, KeyId=wrapping)
        # The private key is wrapped under a symmetric encryption key; no other key will do.
        for other in not_symmetric:
            refused("InvalidKeyUsageException", call, KeyId=other["KeyId"], KeyPairSpec="ECC_NIST_P256")


# ------------------------------------------------------------------------------------------------
# Key identifiers, key states, ReEncrypt
# ------------------------------------------------------------------------------------------------


def test_every_key_identifier_works(kms):
    key = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    alias = f"alias/asym-{key['KeyId'][:8]}"
    kms.create_alias(AliasName=alias, TargetKeyId=key["KeyId"])
    references = (key["KeyId"], key["Arn"], alias, f"arn:aws:kms:{REGION}:{ACCOUNT_ID}:{alias}")
    public = kms.get_public_key(KeyId=key["KeyId"])["PublicKey"]
    for reference in references:
        assert kms.get_public_key(KeyId=reference)["PublicKey"] == public, reference
        signed = kms.sign(KeyId=reference, Message=b"by " + reference.encode(), SigningAlgorithm="ECDSA_SHA_256")
        assert signed["KeyId"] == key["Arn"], reference
        verified = kms.verify(
            KeyId=reference,
            Message=b"by " + reference.encode(),
            Signature=signed["Signature"],
            SigningAlgorithm="ECDSA_SHA_256",
        )
        assert verified["KeyId"] == key["Arn"], reference
    missing = "arn:aws:kms:" + REGION + ":" + ACCOUNT_ID + ":key/00000000-0000-4000-8000-000000000000"
    refused("NotFoundException", kms.sign, KeyId=missing, Message=b"m", SigningAlgorithm="ECDSA_SHA_256")
    refused("NotFoundException", kms.get_public_key, KeyId=missing)
    refused("NotFoundException", kms.generate_mac, KeyId=missing, Message=b"m", MacAlgorithm="HMAC_SHA_256")


def test_deterministic_algorithms_are_deterministic(keys, kms):
    # RSASSA-PKCS1-v1_5, Ed25519 and HMAC have no randomness: the same input gives the same output.
    for spec, algorithm in (("RSA_2048", "RSASSA_PKCS1_V1_5_SHA_256"), ("ECC_NIST_EDWARDS25519", "ED25519_SHA_512")):
        key_id = keys(spec, "SIGN_VERIFY")["KeyId"]
        first, second = (
            kms.sign(KeyId=key_id, Message=b"same", SigningAlgorithm=algorithm)["Signature"] for _ in range(2)
        )
        assert first == second, algorithm


def key_state_calls(kms, made: dict) -> list:
    """(name, call, kwargs) for every operation on the keys in ``made`` (one per usage)."""
    peer = spki(ec.generate_private_key(ec.SECP256R1()).public_key())
    sign, mac, agree, kem, rsa_key = (made[name] for name in ("sign", "mac", "agree", "kem", "rsa"))
    return [
        ("Sign", kms.sign, {"KeyId": sign, "Message": b"m", "SigningAlgorithm": "ECDSA_SHA_256"}),
        (
            "Verify",
            kms.verify,
            {"KeyId": sign, "Message": b"m", "Signature": b"s" * 70, "SigningAlgorithm": "ECDSA_SHA_256"},
        ),
        ("GetPublicKey", kms.get_public_key, {"KeyId": sign}),
        ("GenerateMac", kms.generate_mac, {"KeyId": mac, "Message": b"m", "MacAlgorithm": "HMAC_SHA_256"}),
        (
            "VerifyMac",
            kms.verify_mac,
            {"KeyId": mac, "Message": b"m", "Mac": b"x" * 32, "MacAlgorithm": "HMAC_SHA_256"},
        ),
        (
            "DeriveSharedSecret",
            kms.derive_shared_secret,
            {"KeyId": agree, "KeyAgreementAlgorithm": "ECDH", "PublicKey": peer},
        ),
        ("Encapsulate", kms.encapsulate, {"KeyId": kem, "EncapsulationAlgorithm": "ML_KEM"}),
        ("Encrypt", kms.encrypt, {"KeyId": rsa_key, "Plaintext": b"m", "EncryptionAlgorithm": "RSAES_OAEP_SHA_1"}),
    ]


def test_disabled_and_pending_deletion_keys_are_refused(kms):
    specs = {
        "sign": ("ECC_NIST_P256", "SIGN_VERIFY"),
        "mac": ("HMAC_256", "GENERATE_VERIFY_MAC"),
        "agree": ("ECC_NIST_P256", "KEY_AGREEMENT"),
        "kem": ("ML_KEM_512", "ENCAPSULATE_DECAPSULATE"),
        "rsa": ("RSA_2048", "ENCRYPT_DECRYPT"),
    }
    made = {
        name: kms.create_key(KeySpec=spec, KeyUsage=usage)["KeyMetadata"]["KeyId"]
        for name, (spec, usage) in specs.items()
    }
    for key_id in made.values():
        kms.disable_key(KeyId=key_id)
    for name, call, kwargs in key_state_calls(kms, made):
        response = refused("DisabledException", call, **kwargs)
        assert response["Error"]["Message"], name
    for key_id in made.values():
        kms.enable_key(KeyId=key_id)
    assert kms.sign(KeyId=made["sign"], Message=b"m", SigningAlgorithm="ECDSA_SHA_256")["Signature"]
    for key_id in made.values():
        kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    for name, call, kwargs in key_state_calls(kms, made):
        refused("KMSInvalidStateException", call, **kwargs)


def test_re_encrypt_between_rsa_and_symmetric_keys(keys, kms):
    rsa_key = keys("RSA_3072", "ENCRYPT_DECRYPT")
    symmetric = keys.symmetric()
    public = serialization.load_der_public_key(keys.public_key("RSA_3072", "ENCRYPT_DECRYPT"))
    oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
    ciphertext = public.encrypt(b"moved between keys", oaep)

    moved = kms.re_encrypt(
        CiphertextBlob=ciphertext,
        SourceKeyId=rsa_key["KeyId"],
        SourceEncryptionAlgorithm="RSAES_OAEP_SHA_256",
        DestinationKeyId=symmetric["KeyId"],
        DestinationEncryptionContext={"moved": "yes"},
    )
    assert moved["SourceKeyId"] == rsa_key["Arn"]
    assert moved["KeyId"] == symmetric["Arn"]
    assert moved["SourceEncryptionAlgorithm"] == "RSAES_OAEP_SHA_256"
    assert moved["DestinationEncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"
    decrypted = kms.decrypt(CiphertextBlob=moved["CiphertextBlob"], EncryptionContext={"moved": "yes"})
    assert decrypted["Plaintext"] == b"moved between keys"

    back = kms.re_encrypt(
        CiphertextBlob=moved["CiphertextBlob"],
        SourceEncryptionContext={"moved": "yes"},
        DestinationKeyId=rsa_key["KeyId"],
        DestinationEncryptionAlgorithm="RSAES_OAEP_SHA_1",
    )
    assert back["DestinationEncryptionAlgorithm"] == "RSAES_OAEP_SHA_1"
    assert len(back["CiphertextBlob"]) == 384
    opened = kms.decrypt(
        CiphertextBlob=back["CiphertextBlob"], KeyId=rsa_key["KeyId"], EncryptionAlgorithm="RSAES_OAEP_SHA_1"
    )
    assert opened["Plaintext"] == b"moved between keys"


# ------------------------------------------------------------------------------------------------
# Authorization: the new operations are their own actions and grant operations
# ------------------------------------------------------------------------------------------------


def test_grant_operations_must_suit_the_key(keys, kms):
    from test_authorization import user_arn

    grantee = user_arn("asymmetric-grantee")
    # AWS (CreateGrant, Operations): "you cannot create a grant for a symmetric encryption KMS key
    # that allows the Sign operation, or a grant for an asymmetric KMS key that allows the
    # GenerateDataKey operation. If you try, KMS returns a ValidationError exception."
    unsuitable = (
        (keys.symmetric(), "Sign"),
        (keys.symmetric(), "GetPublicKey"),
        (keys("ECC_NIST_P256", "SIGN_VERIFY"), "GenerateDataKey"),
        (keys("ECC_NIST_P256", "SIGN_VERIFY"), "Encrypt"),
        (keys("HMAC_256", "GENERATE_VERIFY_MAC"), "Sign"),
        (keys("ML_KEM_512", "ENCAPSULATE_DECAPSULATE"), "DeriveSharedSecret"),
    )
    for key, operation in unsuitable:
        refused(
            "ValidationException",
            kms.create_grant,
            KeyId=key["KeyId"],
            GranteePrincipal=grantee,
            Operations=[operation],
        )


def test_grant_operations_of_every_key_usage(keys, kms):
    from test_authorization import user_arn

    grantee = user_arn("asymmetric-grantee")
    suitable = (
        (keys("ECC_NIST_P256", "SIGN_VERIFY"), ["Sign", "Verify", "GetPublicKey"]),
        (keys("HMAC_256", "GENERATE_VERIFY_MAC"), ["GenerateMac", "VerifyMac"]),
        (keys("ECC_NIST_P256", "KEY_AGREEMENT"), ["DeriveSharedSecret", "GetPublicKey"]),
        (keys("ML_KEM_512", "ENCAPSULATE_DECAPSULATE"), ["Encapsulate", "Decapsulate", "GetPublicKey"]),
        (keys("RSA_2048", "ENCRYPT_DECRYPT"), ["Encrypt", "Decrypt", "GetPublicKey"]),
        (keys.symmetric(), ["GenerateDataKeyPair", "GenerateDataKeyPairWithoutPlaintext"]),
    )
    for key, operations in suitable:
        grant = kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=grantee, Operations=operations)
        assert grant["GrantId"], operations


def test_a_grant_allows_exactly_its_asymmetric_operations(endpoint, kms):
    from test_authorization import denied, new_user, user_arn

    key_id = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    name, client, _ = new_user(endpoint)
    with denied():
        client.sign(KeyId=key_id, Message=b"m", SigningAlgorithm="ECDSA_SHA_256")
    grant = kms.create_grant(KeyId=key_id, GranteePrincipal=user_arn(name), Operations=["Sign"])
    signed = client.sign(
        KeyId=key_id, Message=b"m", SigningAlgorithm="ECDSA_SHA_256", GrantTokens=[grant["GrantToken"]]
    )
    assert kms.verify(KeyId=key_id, Message=b"m", Signature=signed["Signature"], SigningAlgorithm="ECDSA_SHA_256")[
        "SignatureValid"
    ]
    with denied() as excinfo:
        client.verify(KeyId=key_id, Message=b"m", Signature=signed["Signature"], SigningAlgorithm="ECDSA_SHA_256")
    assert "kms:Verify" in excinfo.value.response["Error"]["Message"]
    with denied() as excinfo:
        client.get_public_key(KeyId=key_id)
    assert "kms:GetPublicKey" in excinfo.value.response["Error"]["Message"]


def test_identity_policies_name_the_new_actions(endpoint, kms, keys):
    from test_authorization import denied, new_user

    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["kms:GenerateMac", "kms:Encapsulate"], "Resource": "*"}],
    }
    _, client, _ = new_user(endpoint, policy)
    mac_key = keys("HMAC_256", "GENERATE_VERIFY_MAC")["KeyId"]
    kem_key = keys("ML_KEM_512", "ENCAPSULATE_DECAPSULATE")["KeyId"]
    mac = client.generate_mac(KeyId=mac_key, Message=b"m", MacAlgorithm="HMAC_SHA_256")["Mac"]
    ciphertext = client.encapsulate(KeyId=kem_key, EncapsulationAlgorithm="ML_KEM")["SharedSecretCiphertextBlob"]
    checks = (
        (
            "kms:VerifyMac",
            client.verify_mac,
            {"KeyId": mac_key, "Message": b"m", "Mac": mac, "MacAlgorithm": "HMAC_SHA_256"},
        ),
        (
            "kms:Decapsulate",
            client.decapsulate,
            {"KeyId": kem_key, "SharedSecretCiphertextBlob": ciphertext, "EncapsulationAlgorithm": "ML_KEM"},
        ),
        ("kms:GetPublicKey", client.get_public_key, {"KeyId": kem_key}),
        (
            "kms:GenerateDataKeyPair",
            client.generate_data_key_pair,
            {"KeyId": keys.symmetric()["KeyId"], "KeyPairSpec": "ECC_NIST_P256"},
        ),
    )
    for action, call, kwargs in checks:
        with denied() as excinfo:
            call(**kwargs)
        assert action in excinfo.value.response["Error"]["Message"], action


# ------------------------------------------------------------------------------------------------
# DryRun
# ------------------------------------------------------------------------------------------------


def test_dry_run(keys, kms):
    sign_key = keys("ECC_NIST_P256", "SIGN_VERIFY")["KeyId"]
    signature = kms.sign(KeyId=sign_key, Message=b"m", SigningAlgorithm="ECDSA_SHA_256")["Signature"]
    mac_key = keys("HMAC_256", "GENERATE_VERIFY_MAC")["KeyId"]
    mac = kms.generate_mac(KeyId=mac_key, Message=b"m", MacAlgorithm="HMAC_SHA_256")["Mac"]
    kem_key = keys("ML_KEM_512", "ENCAPSULATE_DECAPSULATE")["KeyId"]
    kem_ciphertext = kms.encapsulate(KeyId=kem_key, EncapsulationAlgorithm="ML_KEM")["SharedSecretCiphertextBlob"]
    peer = spki(ec.generate_private_key(ec.SECP256R1()).public_key())
    calls = (
        (kms.sign, {"KeyId": sign_key, "Message": b"m", "SigningAlgorithm": "ECDSA_SHA_256"}),
        (kms.verify, {"KeyId": sign_key, "Message": b"m", "Signature": signature, "SigningAlgorithm": "ECDSA_SHA_256"}),
        (kms.generate_mac, {"KeyId": mac_key, "Message": b"m", "MacAlgorithm": "HMAC_SHA_256"}),
        (kms.verify_mac, {"KeyId": mac_key, "Message": b"m", "Mac": mac, "MacAlgorithm": "HMAC_SHA_256"}),
        (
            kms.derive_shared_secret,
            {
                "KeyId": keys("ECC_NIST_P256", "KEY_AGREEMENT")["KeyId"],
                "KeyAgreementAlgorithm": "ECDH",
                "PublicKey": peer,
            },
        ),
        (kms.encapsulate, {"KeyId": kem_key, "EncapsulationAlgorithm": "ML_KEM"}),
        (
            kms.decapsulate,
            {"KeyId": kem_key, "SharedSecretCiphertextBlob": kem_ciphertext, "EncapsulationAlgorithm": "ML_KEM"},
        ),
        (kms.generate_data_key_pair, {"KeyId": keys.symmetric()["KeyId"], "KeyPairSpec": "ECC_NIST_P256"}),
        (
            kms.generate_data_key_pair_without_plaintext,
            {"KeyId": keys.symmetric()["KeyId"], "KeyPairSpec": "ECC_NIST_P256"},
        ),
    )
    for call, kwargs in calls:
        response = refused("DryRunOperationException", call, status=412, DryRun=True, **kwargs)
        assert response["Error"]["Message"] == DRY_RUN_MESSAGE, call
        assert call(DryRun=False, **kwargs)["ResponseMetadata"]["HTTPStatusCode"] == 200
    # A dry run still checks the key's usage first.
    refused(
        "InvalidKeyUsageException", kms.sign, KeyId=mac_key, Message=b"m", SigningAlgorithm="ECDSA_SHA_256", DryRun=True
    )


def test_dry_run_without_a_ciphertext_checks_an_rsa_key(keys, kms):
    """DryRun with IGNORE_CIPHERTEXT names the RSA key and algorithm and needs no ciphertext: the
    key is checked as the real call would check it."""
    rsa_key = keys("RSA_2048", "ENCRYPT_DECRYPT")["KeyId"]
    refused(
        "DryRunOperationException",
        kms.decrypt,
        status=412,
        KeyId=rsa_key,
        EncryptionAlgorithm="RSAES_OAEP_SHA_256",
        DryRun=True,
        DryRunModifiers=["IGNORE_CIPHERTEXT"],
    )
    refused(
        "DryRunOperationException",
        kms.re_encrypt,
        status=412,
        SourceKeyId=rsa_key,
        SourceEncryptionAlgorithm="RSAES_OAEP_SHA_1",
        DestinationKeyId=keys.symmetric()["KeyId"],
        DryRun=True,
        DryRunModifiers=["IGNORE_CIPHERTEXT"],
    )
    # A symmetric key named with an RSA algorithm is still refused for its usage.
    refused(
        "InvalidKeyUsageException",
        kms.decrypt,
        KeyId=keys.symmetric()["KeyId"],
        EncryptionAlgorithm="RSAES_OAEP_SHA_256",
        DryRun=True,
        DryRunModifiers=["IGNORE_CIPHERTEXT"],
    )


def test_policies_see_the_algorithm_of_each_side_of_a_reencrypt(endpoint, keys):
    """kms:EncryptionAlgorithm reaches ReEncryptFrom and ReEncryptTo: a Deny on RSAES_OAEP_SHA_1
    stops a ReEncrypt out of an RSA ciphertext with SHA-1, not one with SHA-256."""
    from test_authorization import denied, new_user

    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "kms:*", "Resource": "*"},
            {
                "Effect": "Deny",
                "Action": "kms:ReEncrypt*",
                "Resource": "*",
                "Condition": {"StringEquals": {"kms:EncryptionAlgorithm": "RSAES_OAEP_SHA_1"}},
            },
        ],
    }
    _, client, _ = new_user(endpoint, policy)
    rsa_key = keys("RSA_2048", "ENCRYPT_DECRYPT")["KeyId"]
    destination = keys.symmetric()["KeyId"]
    for algorithm, allowed in (("RSAES_OAEP_SHA_256", True), ("RSAES_OAEP_SHA_1", False)):
        blob = client.encrypt(KeyId=rsa_key, Plaintext=b"moving", EncryptionAlgorithm=algorithm)["CiphertextBlob"]
        request = {
            "CiphertextBlob": blob,
            "SourceKeyId": rsa_key,
            "SourceEncryptionAlgorithm": algorithm,
            "DestinationKeyId": destination,
        }
        if allowed:
            moved = client.re_encrypt(**request)["CiphertextBlob"]
            assert client.decrypt(CiphertextBlob=moved)["Plaintext"] == b"moving"
        else:
            with denied() as excinfo:
                client.re_encrypt(**request)
            assert "kms:ReEncryptFrom" in excinfo.value.response["Error"]["Message"]
