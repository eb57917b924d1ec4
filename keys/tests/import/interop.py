"""Wraps key material for import with Python `cryptography`, and opens Trent's wraps, for
keys/tests/import/interop.rs (`python_cryptography_wraps_open_and_trents_wraps_open_in_python`).

Independent of Trent: the materials are generated here (`cryptography` for RSA, EC, Ed25519 and
ML-DSA keys, dilithium-py for ML-DSA's expanded private key), and wrapped with
`cryptography`'s RSA-OAEP and `keywrap.aes_key_wrap_with_padding` (RFC 5649), as AWS's guide
describes RSAES_OAEP_SHA_* and RSA_AES_KEY_WRAP_SHA_*.

Protocol, one record a line, fields separated by spaces, bytes in hex:
  in:  key <WRAPPING_SPEC> <spki> <pkcs8>          a wrapping key (its public and private halves)
       blob <WRAPPING_SPEC> <ALGORITHM> <wrapped>   a wrap Trent made, to open here
  out: material <SPEC> <form> <ok|refused> <material> <public key SPKI, or ->
       blob <material index> <WRAPPING_SPEC> <ALGORITHM> <wrapped>
       opened <blob index> <material>
"""

import os
import sys

from cryptography.hazmat.primitives import hashes, keywrap, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, mldsa, padding, rsa

ALGORITHMS = ("RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256", "RSA_AES_KEY_WRAP_SHA_1", "RSA_AES_KEY_WRAP_SHA_256")
ML_DSA = {
    # cryptography's key class, dilithium-py's parameter set, and the DER of the NIST OID.
    "ML_DSA_44": (mldsa.MLDSA44PrivateKey, "ML_DSA_44", bytes.fromhex("0609608648016503040311")),
    "ML_DSA_65": (mldsa.MLDSA65PrivateKey, "ML_DSA_65", bytes.fromhex("0609608648016503040312")),
    "ML_DSA_87": (mldsa.MLDSA87PrivateKey, "ML_DSA_87", bytes.fromhex("0609608648016503040313")),
}
PKCS8 = (serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
SPKI = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def oaep(algorithm):
    """RSAES-OAEP with the algorithm's hash, MGF1 with the same hash and an empty label."""
    hash_ = hashes.SHA1() if algorithm.endswith("SHA_1") else hashes.SHA256()
    return padding.OAEP(mgf=padding.MGF1(algorithm=hash_), algorithm=hash_, label=None)


def wrap(algorithm, public_key, material):
    """The blob AWS's guide describes, or None where OAEP cannot carry the material."""
    if algorithm.startswith("RSAES_OAEP"):
        hash_len = 20 if algorithm.endswith("SHA_1") else 32
        if len(material) > public_key.key_size // 8 - 2 * hash_len - 2:
            return None
        return public_key.encrypt(material, oaep(algorithm))
    aes_key = os.urandom(32)
    return public_key.encrypt(aes_key, oaep(algorithm)) + keywrap.aes_key_wrap_with_padding(aes_key, material)


def der(tag, content):
    """One DER TLV."""
    n = len(content)
    if n < 0x80:
        return bytes([tag, n]) + content
    size = (n.bit_length() + 7) // 8
    return bytes([tag, 0x80 | size]) + n.to_bytes(size, "big") + content


def ml_dsa_pkcs8(oid, private_key):
    """PKCS#8 v1 of an ML-DSA private key choice (draft-ietf-lamps-dilithium-certificates)."""
    return der(0x30, der(0x02, b"\x00") + der(0x30, oid) + der(0x04, private_key))


def materials():
    """(spec, form, importable, material, public key SPKI or None), generated here."""
    yield "SYMMETRIC_DEFAULT", "raw", True, os.urandom(32), None
    yield "SYMMETRIC_DEFAULT", "raw-16", False, os.urandom(16), None
    for spec, length in (("HMAC_224", 64), ("HMAC_256", 48), ("HMAC_384", 128), ("HMAC_512", 100)):
        yield spec, f"raw-{length}", True, os.urandom(length), None
    yield "HMAC_256", "raw-65", False, os.urandom(65), None
    for bits in (2048, 3072, 4096):
        key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
        yield f"RSA_{bits}", "pkcs8", True, key.private_bytes(*PKCS8), key.public_key().public_bytes(*SPKI)
    yield "RSA_4096", "pkcs1", False, key.private_bytes(PKCS8[0], serialization.PrivateFormat.TraditionalOpenSSL, PKCS8[2]), None
    yield "RSA_3072", "pkcs8-of-4096", False, key.private_bytes(*PKCS8), None
    ec_keys = {}
    for spec, curve in (
        ("ECC_NIST_P256", ec.SECP256R1()),
        ("ECC_NIST_P384", ec.SECP384R1()),
        ("ECC_NIST_P521", ec.SECP521R1()),
        ("ECC_SECG_P256K1", ec.SECP256K1()),
    ):
        key = ec_keys[spec] = ec.generate_private_key(curve)
        yield spec, "pkcs8", True, key.private_bytes(*PKCS8), key.public_key().public_bytes(*SPKI)
    yield "ECC_NIST_P256", "pkcs8-secp256k1", False, ec_keys["ECC_SECG_P256K1"].private_bytes(*PKCS8), None
    sec1 = serialization.PrivateFormat.TraditionalOpenSSL
    yield "ECC_NIST_P384", "sec1", False, ec_keys["ECC_NIST_P384"].private_bytes(PKCS8[0], sec1, PKCS8[2]), None
    key = ed25519.Ed25519PrivateKey.generate()
    yield "ECC_NIST_EDWARDS25519", "pkcs8", True, key.private_bytes(*PKCS8), key.public_key().public_bytes(*SPKI)
    for spec, (generate, name, oid) in ML_DSA.items():
        key = generate.generate()
        public_key = key.public_key().public_bytes(*SPKI)
        seed = key.private_bytes_raw()
        yield spec, "pkcs8-seed", True, key.private_bytes(*PKCS8), public_key
        yield spec, "seed", True, seed, public_key
        expanded = expanded_ml_dsa_key(name, seed)
        if expanded is not None:
            both = der(0x30, der(0x04, seed) + der(0x04, expanded))
            yield spec, "pkcs8-both", True, ml_dsa_pkcs8(oid, both), public_key
            yield spec, "pkcs8-expanded", False, ml_dsa_pkcs8(oid, der(0x04, expanded)), None
            # FIPS 204's sk is rho ‖ K ‖ tr ‖ s1 ‖ s2 ‖ t0: K (signing randomness) is the one
            # part aws-lc's consistency check of the two halves does not recompute.
            tampered = bytearray(expanded)
            tampered[32] ^= 1
            mismatched = der(0x30, der(0x04, seed) + der(0x04, bytes(tampered)))
            yield spec, "pkcs8-both-mismatched", False, ml_dsa_pkcs8(oid, mismatched), None
    yield "ML_DSA_65", "pkcs8-seed-of-44", False, ML_DSA["ML_DSA_44"][0].generate().private_bytes(*PKCS8), None


def expanded_ml_dsa_key(name, seed):
    """FIPS 204's expanded private key of a seed, from dilithium-py where it is installed."""
    try:
        from dilithium_py import ml_dsa
    except ImportError:
        return None
    _, expanded = getattr(ml_dsa, name).key_derive(seed)
    return expanded


def main():
    wrapping_keys, blobs = {}, []
    for line in sys.stdin:
        fields = line.split()
        if fields[0] == "key":
            public_key = serialization.load_der_public_key(bytes.fromhex(fields[2]))
            private_key = serialization.load_der_private_key(bytes.fromhex(fields[3]), password=None)
            wrapping_keys[fields[1]] = (public_key, private_key)
        elif fields[0] == "blob":
            blobs.append((fields[1], fields[2], bytes.fromhex(fields[3])))
    out = sys.stdout
    for index, (spec, form, importable, material, public_key) in enumerate(materials()):
        verdict = "ok" if importable else "refused"
        out.write(f"material {spec} {form} {verdict} {material.hex()} {public_key.hex() if public_key else '-'}\n")
        if not importable:
            continue
        for wrapping_spec, (public_key, _) in wrapping_keys.items():
            for algorithm in ALGORITHMS:
                wrapped = wrap(algorithm, public_key, material)
                if wrapped is not None:
                    out.write(f"blob {index} {wrapping_spec} {algorithm} {wrapped.hex()}\n")
    for index, (wrapping_spec, algorithm, wrapped) in enumerate(blobs):
        private_key = wrapping_keys[wrapping_spec][1]
        if algorithm.startswith("RSAES_OAEP"):
            material = private_key.decrypt(wrapped, oaep(algorithm))
        else:
            k = private_key.key_size // 8
            aes_key = private_key.decrypt(wrapped[:k], oaep(algorithm))
            assert len(aes_key) == 32, "Trent's ephemeral key is AES-256"
            material = keywrap.aes_key_unwrap_with_padding(aes_key, wrapped[k:])
        out.write(f"opened {index} {material.hex()}\n")


if __name__ == "__main__":
    main()
