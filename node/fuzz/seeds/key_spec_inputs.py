#!/usr/bin/env python3
"""Writes the seed corpus of the `key_spec_inputs` fuzz target (node/fuzz/fuzz_targets/key_spec_inputs.rs).

    python3 node/fuzz/seeds/key_spec_inputs.py [OUT_DIR]    # default: node/fuzz/corpus/key_spec_inputs

Needs `cryptography` (ML-DSA since 46; run with 50.0.2), `kyber-py` (1.2.0: ML-KEM-512, which
cryptography lacks, and ML-KEM encapsulation with a chosen m) and `dilithium-py` (1.5.1:
deterministic ML-DSA signatures), e.g. `python3 -m venv /tmp/fuzzvenv && /tmp/fuzzvenv/bin/pip
install cryptography kyber-py dilithium-py`. The output is deterministic: every key comes from a
fixed seed, and every step that is randomised elsewhere (RSA primes, PSS salt, OAEP seed, ECDSA
nonce, ML-DSA rnd, ML-KEM m) takes a fixed value, so a rerun writes the same bytes. It removes
the `seed-*` files of OUT_DIR first and leaves any other file there alone.

Input layout of the target: `[pick, operation, selector, split_hi, split_lo, rest...]`. Byte 0
picks the key (`% 9`, order `KEYS`); byte 1 the operation (`% 6`) and, by `byte1 / 6`, the spec
(operation 0) or signing algorithm (operation 2); byte 2 the message type (`% 3`, operation 2),
the OAEP hash (`% 2`, operation 3) or the MAC algorithm (`% 4`, operation 5); bytes 3 and 4,
big-endian, the exact offset at which the rest splits (capped at its length) into the message
and the signature (operation 2) or tag (operation 5). Operations 0, 1, 3 and 4 take the whole
rest (their split is written as 0). Every (message, signature) pair is written at its true
length, whatever its selector.

None of these signatures or MACs can verify in the target: its keys are generated afresh in
each process. They are real values of another key, so verification runs to the end.
"""

import hashlib
import hmac
import os
import random
import sys

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, mldsa, mlkem, padding, rsa, x25519
from dilithium_py.ml_dsa import ML_DSA_44, ML_DSA_65, ML_DSA_87
from kyber_py.ml_kem import ML_KEM_512, ML_KEM_768, ML_KEM_1024

# The target's tables (keep in step with key_spec_inputs.rs and wire/src/model.rs).
KEYS = [
    "RSA_2048", "ECC_NIST_P256", "ECC_NIST_P384", "ECC_NIST_P521", "ECC_SECG_P256K1",
    "ECC_NIST_EDWARDS25519", "ML_DSA_44", "ML_KEM_512", "HMAC_256",
]
KEY_SPECS = [
    "SYMMETRIC_DEFAULT", "RSA_2048", "RSA_3072", "RSA_4096", "ECC_NIST_P256", "ECC_NIST_P384",
    "ECC_NIST_P521", "ECC_SECG_P256K1", "ECC_NIST_EDWARDS25519", "HMAC_224", "HMAC_256", "HMAC_384",
    "HMAC_512", "ML_DSA_44", "ML_DSA_65", "ML_DSA_87", "ML_KEM_512", "ML_KEM_768", "ML_KEM_1024",
]
SIGNING_ALGORITHMS = [
    "RSASSA_PSS_SHA_256", "RSASSA_PSS_SHA_384", "RSASSA_PSS_SHA_512", "RSASSA_PKCS1_V1_5_SHA_256",
    "RSASSA_PKCS1_V1_5_SHA_384", "RSASSA_PKCS1_V1_5_SHA_512", "ECDSA_SHA_256", "ECDSA_SHA_384",
    "ECDSA_SHA_512", "ML_DSA_SHAKE_256", "ED25519_SHA_512", "ED25519_PH_SHA_512",
]
MESSAGE_TYPES = ["RAW", "DIGEST", "EXTERNAL_MU"]
MAC_ALGORITHMS = ["HMAC_SHA_224", "HMAC_SHA_256", "HMAC_SHA_384", "HMAC_SHA_512"]
OP_PUBLIC_KEY, OP_ECDH, OP_VERIFY, OP_DECRYPT, OP_DECAPSULATE, OP_MAC = range(6)

HASHES = {"SHA_256": hashes.SHA256, "SHA_384": hashes.SHA384, "SHA_512": hashes.SHA512}
HASHLIB = {"SHA_256": hashlib.sha256, "SHA_384": hashlib.sha384, "SHA_512": hashlib.sha512, "SHA_1": hashlib.sha1}


def label_bytes(label, n=32):
    """n deterministic bytes named by `label`."""
    out = b""
    counter = 0
    while len(out) < n:
        out += hashlib.sha256(f"{label}/{counter}".encode()).digest()
        counter += 1
    return out[:n]


# --- DER -------------------------------------------------------------------------------------

def der_len(n):
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def tlv(tag, content):
    return bytes([tag]) + der_len(len(content)) + content


def seq(*parts):
    return tlv(0x30, b"".join(parts))


def oid(dotted):
    arcs = [int(a) for a in dotted.split(".")]
    body = bytes([40 * arcs[0] + arcs[1]])
    for arc in arcs[2:]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        body += bytes(reversed(chunk))
    return tlv(0x06, body)


def integer(n):
    raw = n.to_bytes(n.bit_length() // 8 + 1, "big")  # one spare byte keeps it positive
    while len(raw) > 1 and raw[0] == 0 and raw[1] < 0x80:
        raw = raw[1:]
    return tlv(0x02, raw)


def bit_string(payload):
    return tlv(0x03, b"\x00" + payload)


def octets(payload):
    return tlv(0x04, payload)


ID_EC_PUBLIC_KEY = "1.2.840.10045.2.1"
CURVE_OIDS = {
    "ECC_NIST_P256": "1.2.840.10045.3.1.7",
    "ECC_NIST_P384": "1.3.132.0.34",
    "ECC_NIST_P521": "1.3.132.0.35",
    "ECC_SECG_P256K1": "1.3.132.0.10",
}
ML_KEM_OIDS = {"ML_KEM_512": "2.16.840.1.101.3.4.4.1", "ML_KEM_768": "2.16.840.1.101.3.4.4.2",
               "ML_KEM_1024": "2.16.840.1.101.3.4.4.3"}
ML_DSA_OIDS = {"ML_DSA_44": "2.16.840.1.101.3.4.3.17", "ML_DSA_65": "2.16.840.1.101.3.4.3.18",
               "ML_DSA_87": "2.16.840.1.101.3.4.3.19"}

# P-256 domain parameters (SEC 2), for the explicit-parameters SPKI.
P256 = dict(
    p=0xFFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF,
    b=0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B,
    gx=0x6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296,
    gy=0x4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5,
    n=0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551,
)


def spki(algorithm_identifier, key_bits):
    return seq(algorithm_identifier, bit_string(key_bits))


def ec_spki_named(spec, point):
    return spki(seq(oid(ID_EC_PUBLIC_KEY), oid(CURVE_OIDS[spec])), point)


def p256_explicit_parameters(with_cofactor):
    p = P256["p"]
    fe = lambda v: v.to_bytes(32, "big")  # noqa: E731
    params = [
        integer(1),
        seq(oid("1.2.840.10045.1.1"), integer(p)),
        seq(octets(fe(p - 3)), octets(fe(P256["b"]))),
        octets(b"\x04" + fe(P256["gx"]) + fe(P256["gy"])),
        integer(P256["n"]),
    ]
    if with_cofactor:
        params.append(integer(1))
    return seq(*params)


# --- keys ------------------------------------------------------------------------------------

SMALL_PRIMES = [p for p in range(3, 2000) if all(p % d for d in range(2, int(p ** 0.5) + 1))]


def is_probable_prime(n, rng):
    if any(n % p == 0 for p in SMALL_PRIMES):
        return n in SMALL_PRIMES
    d, r = n - 1, 0
    while d % 2 == 0:
        d //= 2
        r += 1
    for _ in range(40):
        a = rng.randrange(2, n - 2)
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(r - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def deterministic_prime(bits, rng, e):
    while True:
        candidate = rng.getrandbits(bits) | (3 << (bits - 2)) | 1  # top two bits: n has 2·bits bits
        if (candidate - 1) % e and is_probable_prime(candidate, rng):
            return candidate


def rsa_key(bits, label, e=65537):
    """An RSA key whose primes come from a PRNG seeded with `label` (cryptography cannot seed)."""
    rng = random.Random(label)
    p = deterministic_prime(bits // 2, rng, e)
    q = deterministic_prime(bits // 2, rng, e)
    while q == p:
        q = deterministic_prime(bits // 2, rng, e)
    d = pow(e, -1, (p - 1) * (q - 1))
    numbers = rsa.RSAPrivateNumbers(
        p, q, d, rsa.rsa_crt_dmp1(d, p), rsa.rsa_crt_dmq1(d, q), rsa.rsa_crt_iqmp(p, q),
        rsa.RSAPublicNumbers(e, p * q),
    )
    key = numbers.private_key()
    assert key.key_size == bits
    return key


def public_der(key):
    return key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def ec_key(spec, label):
    curve = {"ECC_NIST_P256": ec.SECP256R1, "ECC_NIST_P384": ec.SECP384R1, "ECC_NIST_P521": ec.SECP521R1,
             "ECC_SECG_P256K1": ec.SECP256K1}[spec]()
    # 248 bits: below the order of each of these curves.
    return ec.derive_private_key(int.from_bytes(label_bytes(label), "big") >> 8, curve)


def mgf1(hash_name, seed, length):
    out = b""
    counter = 0
    while len(out) < length:
        out += HASHLIB[hash_name](seed + counter.to_bytes(4, "big")).digest()
        counter += 1
    return out[:length]


def xor(a, b):
    return bytes(x ^ y for x, y in zip(a, b))


def rsa_raw_private(key, em):
    n = key.public_key().public_numbers().n
    k = (n.bit_length() + 7) // 8
    return pow(int.from_bytes(em, "big"), key.private_numbers().d, n).to_bytes(k, "big")


def rsa_pss_sign(key, hash_name, message, label, prehashed=False):
    """RSASSA-PSS (MGF1 with the same hash, salt as long as the hash, as AWS) with a fixed salt."""
    h = HASHLIB[hash_name]
    m_hash = message if prehashed else h(message).digest()
    h_len = len(m_hash)
    mod_bits = key.key_size
    em_len = (mod_bits - 1 + 7) // 8
    salt = label_bytes(label, h_len)
    h_prime = h(b"\x00" * 8 + m_hash + salt).digest()
    db = b"\x00" * (em_len - 2 * h_len - 2) + b"\x01" + salt
    masked = bytearray(xor(db, mgf1(hash_name, h_prime, em_len - h_len - 1)))
    masked[0] &= 0xFF >> (8 * em_len - (mod_bits - 1))
    signature = rsa_raw_private(key, bytes(masked) + h_prime + b"\xbc")
    key.public_key().verify(
        signature, m_hash if prehashed else message,
        padding.PSS(mgf=padding.MGF1(HASHES[hash_name]()), salt_length=h_len),
        _prehashed(hash_name) if prehashed else HASHES[hash_name](),
    )
    return signature


def _prehashed(hash_name):
    from cryptography.hazmat.primitives.asymmetric import utils
    return utils.Prehashed(HASHES[hash_name]())


def rsa_pkcs1_sign(key, hash_name, message, prehashed=False):
    algorithm = _prehashed(hash_name) if prehashed else HASHES[hash_name]()
    return key.sign(message, padding.PKCS1v15(), algorithm)


def rsa_oaep_encrypt(public_key, hash_name, plaintext, label):
    """RSAES-OAEP (MGF1 with the same hash, empty label) with a fixed seed."""
    numbers = public_key.public_numbers()
    k = (numbers.n.bit_length() + 7) // 8
    h = HASHLIB[hash_name]
    h_len = h().digest_size
    db = h(b"").digest() + b"\x00" * (k - len(plaintext) - 2 * h_len - 2) + b"\x01" + plaintext
    seed = label_bytes(label, h_len)
    masked_db = xor(db, mgf1(hash_name, seed, k - h_len - 1))
    masked_seed = xor(seed, mgf1(hash_name, masked_db, h_len))
    em = b"\x00" + masked_seed + masked_db
    return pow(int.from_bytes(em, "big"), numbers.e, numbers.n).to_bytes(k, "big")


def ecdsa_sign(key, hash_name, message, prehashed=False):
    algorithm = _prehashed(hash_name) if prehashed else HASHES[hash_name]()
    return key.sign(message, ec.ECDSA(algorithm, deterministic_signing=True))


# --- seeds -----------------------------------------------------------------------------------

SEEDS = {}


def add(name, data, what):
    assert name not in SEEDS, name
    SEEDS[name] = (data, what)


def seed(pick, operation, selector, split, *fields):
    """An input: the three selector bytes, the split as a big-endian u16, then the fields."""
    assert 0 <= pick < 256 and 0 <= operation < 256 and 0 <= selector < 256 and 0 <= split < 65536
    return bytes([pick, operation, selector]) + split.to_bytes(2, "big") + b"".join(fields)


def short(spec):
    """A spec's name in a file name: RSA_2048 → rsa-2048, ECC_NIST_P256 → p256, ML_KEM_512 → ml-kem-512."""
    return spec.lower().replace("ecc_nist_", "").replace("ecc_secg_", "").replace("_", "-")


def public_key_seed(name, spec, der, what):
    add(name, seed(0, 6 * KEY_SPECS.index(spec) + OP_PUBLIC_KEY, 0, 0, der), f"public key as {spec}: {what}")


def verify_seed(name, key_name, algorithm, message_type, message, signature, what, split=None):
    """A Verify seed: `message` then `signature`, split at the message's length (or at `split`)."""
    operation = 6 * SIGNING_ALGORITHMS.index(algorithm) + OP_VERIFY
    add(name, seed(KEYS.index(key_name), operation, MESSAGE_TYPES.index(message_type),
                   len(message) if split is None else split, message, signature),
        f"Verify {key_name} {algorithm} {message_type}: {what} ({len(message)}+{len(signature)} bytes)")


def mac_seed(name, message, tag, algorithm, what, key_name="HMAC_256"):
    add(name, seed(KEYS.index(key_name), OP_MAC, MAC_ALGORITHMS.index(algorithm), len(message), message, tag),
        f"VerifyMac {key_name} key, {algorithm}: {what} ({len(message)}+{len(tag)} bytes)")


def ml_kem_encapsulation_key(scheme, label):
    ek, _ = scheme.key_derive(label_bytes(label, 64))
    return ek


def main():
    root = os.path.dirname(os.path.abspath(__file__))
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "..", "corpus", "key_spec_inputs")

    # Keys of every asymmetric spec, and a few others for the edge cases.
    rsa_keys = {bits: rsa_key(bits, f"trent key_spec_inputs rsa {bits}") for bits in (1024, 2048, 3072, 4096)}
    ec_keys = {spec: ec_key(spec, f"trent key_spec_inputs {spec}") for spec in CURVE_OIDS}
    ec_peers = {spec: ec_key(spec, f"trent key_spec_inputs peer {spec}") for spec in CURVE_OIDS}
    ed_key = ed25519.Ed25519PrivateKey.from_private_bytes(label_bytes("trent key_spec_inputs ed25519"))
    x_key = x25519.X25519PrivateKey.from_private_bytes(label_bytes("trent key_spec_inputs x25519"))
    ml_dsa = {}
    for spec, scheme, cls in (("ML_DSA_44", ML_DSA_44, mldsa.MLDSA44PrivateKey),
                              ("ML_DSA_65", ML_DSA_65, mldsa.MLDSA65PrivateKey),
                              ("ML_DSA_87", ML_DSA_87, mldsa.MLDSA87PrivateKey)):
        xi = label_bytes(f"trent key_spec_inputs {spec}")
        pk, sk = scheme.key_derive(xi)
        der = public_der(cls.from_seed_bytes(xi))
        assert der == spki(seq(oid(ML_DSA_OIDS[spec])), pk), spec  # dilithium-py agrees with OpenSSL
        ml_dsa[spec] = (scheme, pk, sk, der)
    ml_kem = {}
    for spec, scheme in (("ML_KEM_512", ML_KEM_512), ("ML_KEM_768", ML_KEM_768), ("ML_KEM_1024", ML_KEM_1024)):
        ek = ml_kem_encapsulation_key(scheme, f"trent key_spec_inputs {spec}")
        ml_kem[spec] = (scheme, ek, spki(seq(oid(ML_KEM_OIDS[spec])), ek))
    for spec, cls in (("ML_KEM_768", mlkem.MLKEM768PrivateKey), ("ML_KEM_1024", mlkem.MLKEM1024PrivateKey)):
        # kyber-py and OpenSSL make the same key from the same seed, and the same SPKI.
        assert public_der(cls.from_seed_bytes(label_bytes(f"trent key_spec_inputs {spec}", 64))) == ml_kem[spec][2]

    # --- operation 0: a DER SPKI read as a public key of a spec -----------------------------
    for bits in (2048, 3072, 4096):
        public_key_seed(f"seed-spki-rsa-{bits}", f"RSA_{bits}", public_der(rsa_keys[bits]), f"RSA-{bits}, e = 65537")
    for spec, key in ec_keys.items():
        public_key_seed(f"seed-spki-{short(spec)}", spec, public_der(key), "named curve, uncompressed point")
    public_key_seed("seed-spki-ed25519", "ECC_NIST_EDWARDS25519", public_der(ed_key), "Ed25519")
    for spec, (_, _, _, der) in ml_dsa.items():
        public_key_seed(f"seed-spki-{short(spec)}", spec, der, spec)
    for spec, (_, _, der) in ml_kem.items():
        public_key_seed(f"seed-spki-{short(spec)}", spec, der, spec)
    p256 = ec_keys["ECC_NIST_P256"].public_key()
    point = p256.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    compressed = p256.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint)
    public_key_seed("seed-spki-p256-compressed", "ECC_NIST_P256", ec_spki_named("ECC_NIST_P256", compressed),
                    "compressed point (refused)")
    public_key_seed("seed-spki-p256-hybrid", "ECC_NIST_P256",
                    ec_spki_named("ECC_NIST_P256", bytes([6 | (point[-1] & 1)]) + point[1:]),
                    "hybrid point encoding 0x06/0x07 (refused)")
    explicit = spki(seq(oid(ID_EC_PUBLIC_KEY), p256_explicit_parameters(True)), point)
    public_key_seed("seed-spki-p256-explicit", "ECC_NIST_P256", explicit, "explicit curve parameters (refused)")
    public_key_seed("seed-spki-p256-explicit-no-cofactor", "ECC_NIST_P256",
                    spki(seq(oid(ID_EC_PUBLIC_KEY), p256_explicit_parameters(False)), point),
                    "explicit parameters without the cofactor (refused)")
    public_key_seed("seed-spki-p256-trailing-byte", "ECC_NIST_P256", public_der(ec_keys["ECC_NIST_P256"]) + b"\x00",
                    "valid SPKI and one byte more (refused)")
    off_curve = point[:-1] + bytes([point[-1] ^ 1])
    public_key_seed("seed-spki-p256-off-curve", "ECC_NIST_P256", ec_spki_named("ECC_NIST_P256", off_curve),
                    "a point not on the curve (refused)")
    public_key_seed("seed-spki-p256-infinity", "ECC_NIST_P256", ec_spki_named("ECC_NIST_P256", b"\x00"),
                    "the point at infinity (refused)")
    public_key_seed("seed-spki-p256-as-p384", "ECC_NIST_P384", public_der(ec_keys["ECC_NIST_P256"]),
                    "a P-256 key (refused)")
    long_form = public_der(ec_keys["ECC_NIST_P256"])
    long_form = b"\x30\x81" + long_form[1:]  # 0x59 in two bytes: BER, not DER
    public_key_seed("seed-spki-p256-long-form-length", "ECC_NIST_P256", long_form,
                    "outer length in non-minimal long form (refused)")
    public_key_seed("seed-spki-rsa-1024-as-2048", "RSA_2048", public_der(rsa_keys[1024]), "RSA-1024 (refused)")
    public_key_seed("seed-spki-rsa-2048-as-3072", "RSA_3072", public_der(rsa_keys[2048]), "RSA-2048 (refused)")
    rsa_n = rsa_keys[2048].public_key().public_numbers().n
    public_key_seed("seed-spki-rsa-2048-e3", "RSA_2048",
                    spki(seq(oid("1.2.840.113549.1.1.1"), b"\x05\x00"), seq(integer(rsa_n), integer(3))),
                    "RSA-2048 modulus with e = 3")
    public_key_seed("seed-spki-rsa-pss-oid", "RSA_2048",
                    spki(seq(oid("1.2.840.113549.1.1.10")), seq(integer(rsa_n), integer(65537))),
                    "RSA-2048 under the id-RSASSA-PSS OID, no parameters")
    public_key_seed("seed-spki-x25519-as-ed25519", "ECC_NIST_EDWARDS25519", public_der(x_key),
                    "an X25519 key (refused)")
    public_key_seed("seed-spki-ml-dsa-44-key-under-65-oid", "ML_DSA_65",
                    spki(seq(oid(ML_DSA_OIDS["ML_DSA_65"])), ml_dsa["ML_DSA_44"][1]),
                    "ML-DSA-44 key bytes under the ML-DSA-65 OID (refused)")
    bad_ek = bytearray(ml_kem["ML_KEM_768"][1])
    bad_ek[0] = 0xFF
    bad_ek[1] |= 0x0F  # first coefficient 4095 >= q = 3329: fails FIPS 203's modulus check
    public_key_seed("seed-spki-ml-kem-768-coefficient-above-q", "ML_KEM_768",
                    spki(seq(oid(ML_KEM_OIDS["ML_KEM_768"])), bytes(bad_ek)),
                    "an encapsulation key failing the modulus check")
    public_key_seed("seed-spki-p256-as-hmac-256", "HMAC_256", public_der(ec_keys["ECC_NIST_P256"]),
                    "a spec without public keys (UnsupportedSpec)")
    public_key_seed("seed-spki-empty", "ECC_NIST_P256", b"", "no bytes")

    # --- operation 1: DeriveSharedSecret with a peer SPKI ------------------------------------
    for spec in ("ECC_NIST_P256", "ECC_NIST_P384", "ECC_NIST_P521"):
        add(f"seed-ecdh-{short(spec)}", seed(KEYS.index(spec), OP_ECDH, 0, 0, public_der(ec_peers[spec])),
            f"ECDH, {spec} key, a valid peer on its curve")
    peer = ec_peers["ECC_NIST_P256"].public_key()
    peer_point = peer.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    peer_compressed = peer.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint)
    p256_pick = KEYS.index("ECC_NIST_P256")
    add("seed-ecdh-p256-compressed", seed(p256_pick, OP_ECDH, 0, 0, ec_spki_named("ECC_NIST_P256", peer_compressed)),
        "ECDH, P-256, peer point compressed (refused)")
    add("seed-ecdh-p256-explicit",
        seed(p256_pick, OP_ECDH, 0, 0, spki(seq(oid(ID_EC_PUBLIC_KEY), p256_explicit_parameters(True)), peer_point)),
        "ECDH, P-256, peer with explicit curve parameters (refused)")
    add("seed-ecdh-p256-trailing-bytes",
        seed(p256_pick, OP_ECDH, 0, 0, public_der(ec_peers["ECC_NIST_P256"]) + b"\x00\x00"),
        "ECDH, P-256, peer SPKI and two bytes more (refused)")
    add("seed-ecdh-p256-off-curve",
        seed(p256_pick, OP_ECDH, 0, 0, ec_spki_named("ECC_NIST_P256", peer_point[:-1] + bytes([peer_point[-1] ^ 1]))),
        "ECDH, P-256, peer point not on the curve (refused)")
    add("seed-ecdh-p256-raw-point", seed(p256_pick, OP_ECDH, 0, 0, peer_point),
        "ECDH, P-256, a bare X9.62 point instead of an SPKI (refused)")
    add("seed-ecdh-p384-peer-on-p256",
        seed(KEYS.index("ECC_NIST_P384"), OP_ECDH, 0, 0, public_der(ec_peers["ECC_NIST_P256"])),
        "ECDH, P-384 key, P-256 peer (refused)")
    add("seed-ecdh-secp256k1-key",
        seed(KEYS.index("ECC_SECG_P256K1"), OP_ECDH, 0, 0, public_der(ec_peers["ECC_SECG_P256K1"])),
        "ECDH on secp256k1 (not a key agreement curve)")
    add("seed-ecdh-ed25519-key", seed(KEYS.index("ECC_NIST_EDWARDS25519"), OP_ECDH, 0, 0, public_der(x_key)),
        "ECDH on an Ed25519 key with an X25519 peer")

    # --- operation 2: Verify ------------------------------------------------------------------
    # Every signature at its full length; RAW messages of 7 bytes ("message") and of 4,096 (the
    # longest AWS takes), DIGEST messages as long as their hash.
    signer = rsa_keys[2048]
    long_message = bytes(i % 251 for i in range(4096))
    for hash_name in ("SHA_256", "SHA_384", "SHA_512"):
        bits = hash_name[4:]
        verify_seed(f"seed-verify-rsa-pss-{bits}-raw", "RSA_2048", f"RSASSA_PSS_{hash_name}", "RAW",
                    b"message", rsa_pss_sign(signer, hash_name, b"message", f"pss {hash_name} raw"),
                    "PSS signature of another RSA-2048 key")
        verify_seed(f"seed-verify-rsa-pkcs1-{bits}-raw", "RSA_2048", f"RSASSA_PKCS1_V1_5_{hash_name}", "RAW",
                    b"message", rsa_pkcs1_sign(signer, hash_name, b"message"),
                    "PKCS#1 v1.5 signature of another RSA-2048 key")
        digest = HASHLIB[hash_name](b"document").digest()
        verify_seed(f"seed-verify-rsa-pss-{bits}-digest", "RSA_2048", f"RSASSA_PSS_{hash_name}", "DIGEST",
                    digest, rsa_pss_sign(signer, hash_name, digest, f"pss {hash_name} digest", True),
                    f"PSS signature of a {hash_name} digest")
        verify_seed(f"seed-verify-rsa-pkcs1-{bits}-digest", "RSA_2048", f"RSASSA_PKCS1_V1_5_{hash_name}", "DIGEST",
                    digest, rsa_pkcs1_sign(signer, hash_name, digest, True),
                    f"PKCS#1 v1.5 signature of a {hash_name} digest")
    verify_seed("seed-verify-rsa-pss-256-raw-4096", "RSA_2048", "RSASSA_PSS_SHA_256", "RAW",
                long_message, rsa_pss_sign(signer, "SHA_256", long_message, "pss SHA_256 raw 4096"),
                "PSS signature of a 4,096-byte message")
    for spec, algorithm, hash_name in (("ECC_NIST_P256", "ECDSA_SHA_256", "SHA_256"),
                                       ("ECC_NIST_P384", "ECDSA_SHA_384", "SHA_384"),
                                       ("ECC_NIST_P521", "ECDSA_SHA_512", "SHA_512"),
                                       ("ECC_SECG_P256K1", "ECDSA_SHA_256", "SHA_256")):
        key = ec_keys[spec]
        verify_seed(f"seed-verify-{short(spec)}-raw", spec, algorithm, "RAW",
                    b"message", ecdsa_sign(key, hash_name, b"message"),
                    "DER ECDSA signature (RFC 6979) of another key")
        digest = HASHLIB[hash_name](b"document").digest()
        verify_seed(f"seed-verify-{short(spec)}-digest", spec, algorithm, "DIGEST",
                    digest, ecdsa_sign(key, hash_name, digest, True), "DER ECDSA signature of a digest")
    p256_key = ec_keys["ECC_NIST_P256"]
    n = P256["n"]

    def ecdsa_der(r, s):
        return seq(integer(r), integer(s))

    def decode_ecdsa(signature):
        from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
        return decode_dss_signature(signature)

    p256_signature = ecdsa_sign(p256_key, "SHA_256", b"message")
    r, s_value = decode_ecdsa(p256_signature)
    verify_seed("seed-verify-p256-raw-4096", "ECC_NIST_P256", "ECDSA_SHA_256", "RAW",
                long_message, ecdsa_sign(p256_key, "SHA_256", long_message), "DER ECDSA signature, 4,096 bytes")
    verify_seed("seed-verify-p256-raw-4097", "ECC_NIST_P256", "ECDSA_SHA_256", "RAW",
                long_message + b"!", ecdsa_sign(p256_key, "SHA_256", long_message + b"!"),
                "a 4,097-byte message (refused)")
    verify_seed("seed-verify-p256-high-s", "ECC_NIST_P256", "ECDSA_SHA_256", "RAW",
                b"message", ecdsa_der(r, n - s_value), "the same signature with s replaced by n - s")
    verify_seed("seed-verify-p256-zero", "ECC_NIST_P256", "ECDSA_SHA_256", "RAW",
                b"message", ecdsa_der(0, 0), "r = s = 0")
    verify_seed("seed-verify-p256-r-equals-n", "ECC_NIST_P256", "ECDSA_SHA_256", "RAW",
                b"message", ecdsa_der(n, 1), "r = n, s = 1")
    verify_seed("seed-verify-p256-trailing-byte", "ECC_NIST_P256", "ECDSA_SHA_256", "RAW",
                b"message", p256_signature + b"\x00", "a DER signature and one byte more")
    verify_seed("seed-verify-p256-raw-r-s", "ECC_NIST_P256", "ECDSA_SHA_256", "RAW",
                b"message", r.to_bytes(32, "big") + s_value.to_bytes(32, "big"),
                "r ‖ s as 64 fixed-width bytes (IEEE P1363), not DER")
    verify_seed("seed-verify-p256-sha384", "ECC_NIST_P256", "ECDSA_SHA_384", "RAW",
                b"message", ecdsa_sign(p256_key, "SHA_384", b"message"), "an algorithm of another spec (refused)")
    verify_seed("seed-verify-p256-split-past-end", "ECC_NIST_P256", "ECDSA_SHA_256", "RAW",
                b"message" + p256_signature, b"", "split 0xffff, capped at the length: all message, an empty signature",
                split=0xFFFF)
    verify_seed("seed-verify-ed25519-raw", "ECC_NIST_EDWARDS25519", "ED25519_SHA_512", "RAW",
                b"message", ed_key.sign(b"message"), "Ed25519 signature of another key")
    verify_seed("seed-verify-ed25519-raw-4096", "ECC_NIST_EDWARDS25519", "ED25519_SHA_512", "RAW",
                long_message, ed_key.sign(long_message), "Ed25519 signature of a 4,096-byte message")
    # RFC 8032's Ed25519ph test vector ("abc"), as the digest message its SHA-512 prehash.
    rfc8032_ph = bytes.fromhex(
        "98a70222f0b8121aa9d30f813d683f809e462b469c7ff87639499bb94e6dae41"
        "31f85042463c2a355a2003d062adf5aaa10b8c61e636062aaad11c2a26083406")
    verify_seed("seed-verify-ed25519ph-digest", "ECC_NIST_EDWARDS25519", "ED25519_PH_SHA_512", "DIGEST",
                hashlib.sha512(b"abc").digest(), rfc8032_ph, "RFC 8032 Ed25519ph signature")
    verify_seed("seed-verify-ed25519ph-raw", "ECC_NIST_EDWARDS25519", "ED25519_PH_SHA_512", "RAW",
                b"abc", rfc8032_ph, "Ed25519ph with a RAW message (refused)")
    scheme44, pk44, sk44, _ = ml_dsa["ML_DSA_44"]
    verify_seed("seed-verify-ml-dsa-44-raw", "ML_DSA_44", "ML_DSA_SHAKE_256", "RAW",
                b"message", scheme44.sign(sk44, b"message", deterministic=True), "ML-DSA-44 signature of another key")
    verify_seed("seed-verify-ml-dsa-44-raw-4096", "ML_DSA_44", "ML_DSA_SHAKE_256", "RAW",
                long_message, scheme44.sign(sk44, long_message, deterministic=True),
                "ML-DSA-44 signature of a 4,096-byte message")
    mu = scheme44.prehash_external_mu(pk44, b"message")
    verify_seed("seed-verify-ml-dsa-44-external-mu", "ML_DSA_44", "ML_DSA_SHAKE_256", "EXTERNAL_MU",
                mu, scheme44.sign_external_mu(sk44, mu, deterministic=True), "ML-DSA-44 signature of a μ")
    verify_seed("seed-verify-ml-dsa-44-digest", "ML_DSA_44", "ML_DSA_SHAKE_256", "DIGEST",
                hashlib.sha256(b"m").digest(), scheme44.sign(sk44, b"m", deterministic=True),
                "a message type ML-DSA does not take (refused)")
    verify_seed("seed-verify-hmac-key", "HMAC_256", "ECDSA_SHA_256", "RAW",
                b"message", p256_signature, "Verify on an HMAC key (refused)")
    verify_seed("seed-verify-empty-message", "ECC_NIST_P256", "ECDSA_SHA_256", "RAW",
                b"", ecdsa_sign(p256_key, "SHA_256", b""), "an empty RAW message (refused)")

    # --- operation 3: Decrypt (RSA-OAEP) --------------------------------------------------------
    rsa_pick = KEYS.index("RSA_2048")
    other = rsa_keys[2048].public_key()
    for selector, hash_name in ((0, "SHA_1"), (1, "SHA_256")):
        ciphertext = rsa_oaep_encrypt(other, hash_name, b"sixteen byte key", f"oaep {hash_name}")
        algorithm = padding.OAEP(mgf=padding.MGF1({"SHA_1": hashes.SHA1, "SHA_256": hashes.SHA256}[hash_name]()),
                                 algorithm={"SHA_1": hashes.SHA1, "SHA_256": hashes.SHA256}[hash_name](), label=None)
        assert rsa_keys[2048].decrypt(ciphertext, algorithm) == b"sixteen byte key"
        add(f"seed-decrypt-oaep-{hash_name.lower().replace('_', '')}",
            seed(rsa_pick, OP_DECRYPT, selector, 0, ciphertext),
            f"Decrypt RSAES_OAEP_{hash_name}: an OAEP ciphertext for another RSA-2048 key")
    longest = rsa_oaep_encrypt(other, "SHA_256", b"L" * (256 - 2 * 32 - 2), "oaep longest")
    add("seed-decrypt-oaep-sha256-longest", seed(rsa_pick, OP_DECRYPT, 1, 0, longest),
        "Decrypt RSAES_OAEP_SHA_256: the longest plaintext (190 bytes)")
    add("seed-decrypt-zero", seed(rsa_pick, OP_DECRYPT, 0, 0, b"\x00" * 256), "Decrypt: 256 zero bytes")
    add("seed-decrypt-all-ones", seed(rsa_pick, OP_DECRYPT, 1, 0, b"\xff" * 256), "Decrypt: 256 0xff bytes (above n)")
    add("seed-decrypt-short", seed(rsa_pick, OP_DECRYPT, 0, 0, longest[:255]), "Decrypt: 255 bytes (refused)")
    oaep_4096 = rsa_oaep_encrypt(rsa_keys[4096].public_key(), "SHA_256", b"k", "oaep 4096")
    add("seed-decrypt-rsa-4096-length", seed(rsa_pick, OP_DECRYPT, 1, 0, oaep_4096),
        "Decrypt: a 512-byte RSA-4096 ciphertext (refused)")
    add("seed-decrypt-ec-key", seed(KEYS.index("ECC_NIST_P256"), OP_DECRYPT, 1, 0, longest),
        "Decrypt on a P-256 key (refused)")

    # --- operation 4: Decapsulate (ML-KEM) ------------------------------------------------------
    kem_pick = KEYS.index("ML_KEM_512")
    for spec, (scheme, ek, _) in ml_kem.items():
        _, ciphertext = scheme._encaps_internal(ek, label_bytes(f"trent key_spec_inputs m {spec}"))
        add(f"seed-decapsulate-{short(spec)}", seed(kem_pick, OP_DECAPSULATE, 0, 0, ciphertext),
            f"Decapsulate on the ML-KEM-512 key: a {spec} ciphertext of another key ({len(ciphertext)} bytes)")
    _, c512 = ML_KEM_512._encaps_internal(ml_kem["ML_KEM_512"][1], label_bytes("trent key_spec_inputs m short"))
    add("seed-decapsulate-767", seed(kem_pick, OP_DECAPSULATE, 0, 0, c512[:767]), "Decapsulate: 767 bytes (refused)")
    add("seed-decapsulate-zero", seed(kem_pick, OP_DECAPSULATE, 0, 0, b"\x00" * 768), "Decapsulate: 768 zero bytes")
    add("seed-decapsulate-empty", seed(kem_pick, OP_DECAPSULATE, 0, 0), "Decapsulate: no ciphertext (refused)")
    add("seed-decapsulate-rsa-key", seed(rsa_pick, OP_DECAPSULATE, 0, 0, c512), "Decapsulate on an RSA key (refused)")

    # --- operation 5: VerifyMac -----------------------------------------------------------------
    mac_key = label_bytes("trent key_spec_inputs hmac 256")
    tag = lambda m, h=hashlib.sha256: hmac.new(mac_key, m, h).digest()  # noqa: E731
    mac_seed("seed-mac-sha256", b"message", tag(b"message"), "HMAC_SHA_256", "a tag of another key")
    mac_seed("seed-mac-sha256-one-byte", b"m", tag(b"m"), "HMAC_SHA_256", "a one-byte message")
    mac_seed("seed-mac-sha256-4096", long_message, tag(long_message), "HMAC_SHA_256",
             "a 4,096-byte message (the longest AWS takes)")
    mac_seed("seed-mac-sha256-short-tag", b"message", tag(b"message")[:31], "HMAC_SHA_256", "a truncated tag")
    mac_seed("seed-mac-sha256-empty-message", b"", tag(b""), "HMAC_SHA_256", "an empty message (refused)")
    mac_seed("seed-mac-sha256-4097", long_message + b"!", tag(long_message + b"!"), "HMAC_SHA_256",
             "a 4,097-byte message (refused)")
    mac_seed("seed-mac-sha384", b"message", hmac.new(mac_key, b"message", hashlib.sha384).digest(), "HMAC_SHA_384",
             "another algorithm than the key's (refused)")
    mac_seed("seed-mac-ec-key", b"message", tag(b"message"), "HMAC_SHA_256", "a key without MACs (refused)",
             key_name="ECC_NIST_P256")

    # --- write ------------------------------------------------------------------------------------
    os.makedirs(out_dir, exist_ok=True)
    for name in os.listdir(out_dir):
        if name.startswith("seed-"):
            os.remove(os.path.join(out_dir, name))
    total = 0
    for name, (data, what) in sorted(SEEDS.items()):
        with open(os.path.join(out_dir, name), "wb") as f:
            f.write(data)
        total += len(data)
        print(f"{name:48} {len(data):6}  {what}")
    print(f"{len(SEEDS)} seeds, {total} bytes, in {os.path.normpath(out_dir)}")


if __name__ == "__main__":
    main()
