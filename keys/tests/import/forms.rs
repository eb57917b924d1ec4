//! The forms each spec accepts, stored alike whatever the encoding, and the material refused.

use aws_lc_rs::signature::{EcdsaKeyPair, Ed25519KeyPair, KeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
use trent_keys::import::canonical_material;
use trent_keys::{generate, KeysError};
use trent_wire::model::KeySpec;

use crate::material;

/// The same PKCS#8 DER with version 1 (RFC 5958's v2) and no public key, which the version
/// allows: only the INTEGER after the outer SEQUENCE header changes.
fn as_version_2(pkcs8: &[u8]) -> Vec<u8> {
    let header = sequence_header_len(pkcs8);
    assert_eq!(&pkcs8[header..header + 3], &[0x02, 0x01, 0x00], "a v1 PKCS#8 version");
    let mut v2 = pkcs8.to_vec();
    v2[header + 2] = 1;
    v2
}

/// The length of a DER SEQUENCE's tag and length.
fn sequence_header_len(der: &[u8]) -> usize {
    assert_eq!(der[0], 0x30);
    match der[1] {
        length if length < 0x80 => 2,
        length => 2 + usize::from(length & 0x7f),
    }
}

/// PKCS#8 v1 DER of an ML-DSA key in the seed form (draft-ietf-lamps-dilithium-certificates):
/// `SEQUENCE { 0, SEQUENCE { id-ml-dsa-* }, OCTET STRING { [0] seed } }`.
fn ml_dsa_seed_pkcs8(spec: KeySpec, seed: &[u8]) -> Vec<u8> {
    let last_arc = match spec {
        KeySpec::MlDsa44 => 0x11,
        KeySpec::MlDsa65 => 0x12,
        _ => 0x13,
    };
    let mut der = vec![0x30, 0x34, 0x02, 0x01, 0x00, 0x30, 0x0b, 0x06, 0x09];
    der.extend_from_slice(&[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x03, last_arc]);
    der.extend_from_slice(&[0x04, 0x22, 0x80, 0x20]);
    der.extend_from_slice(seed);
    der
}

#[test]
fn one_key_in_several_encodings_is_stored_alike() {
    // RSA and EC: PKCS#8 v2 without the optional public key.
    for spec in [KeySpec::Rsa2048, KeySpec::EccNistP256, KeySpec::EccNistP521, KeySpec::EccSecgP256k1] {
        let stored = material(spec);
        assert_eq!(canonical_material(spec, &as_version_2(&stored)).unwrap(), stored, "{spec}");
    }
    // Ed25519: aws-lc-rs writes v2 with the public key, which must be the private key's.
    let v2 = Ed25519KeyPair::generate_pkcs8(&aws_lc_rs::rand::SystemRandom::new()).unwrap();
    let v1 = Ed25519KeyPair::from_pkcs8(v2.as_ref()).unwrap().to_pkcs8v1().unwrap();
    assert_ne!(v1.as_ref(), v2.as_ref());
    assert_eq!(
        canonical_material(KeySpec::EccNistEdwards25519, v2.as_ref()).unwrap().as_slice(),
        v1.as_ref()
    );
    let mut foreign_public_key = v2.as_ref().to_vec();
    *foreign_public_key.last_mut().unwrap() ^= 1;
    assert_eq!(
        canonical_material(KeySpec::EccNistEdwards25519, &foreign_public_key),
        Err(KeysError::MalformedMaterial(KeySpec::EccNistEdwards25519))
    );
    // ML-DSA: the seed, and PKCS#8 (v1 and v2) of the seed.
    for spec in [KeySpec::MlDsa44, KeySpec::MlDsa65, KeySpec::MlDsa87] {
        let seed = material(spec);
        let pkcs8 = ml_dsa_seed_pkcs8(spec, &seed);
        assert_eq!(canonical_material(spec, &pkcs8).unwrap(), seed, "{spec}");
        assert_eq!(canonical_material(spec, &as_version_2(&pkcs8)).unwrap(), seed, "{spec} v2");
    }
}

#[test]
fn material_that_is_not_a_key_of_the_spec_is_incorrect_key_material() {
    let p256 = material(KeySpec::EccNistP256);
    let p384 = material(KeySpec::EccNistP384);
    let ml_dsa_44 = ml_dsa_seed_pkcs8(KeySpec::MlDsa44, &[3; 32]);
    let trailing_byte = |material: &[u8]| [material, &[0]].concat();
    let cases: Vec<(KeySpec, &str, Vec<u8>)> = vec![
        (KeySpec::SymmetricDefault, "31 bytes", vec![1; 31]),
        (KeySpec::SymmetricDefault, "33 bytes", vec![1; 33]),
        (KeySpec::SymmetricDefault, "16 bytes (China regions' AES-128)", vec![1; 16]),
        (KeySpec::Hmac224, "27 bytes", vec![1; 27]),
        (KeySpec::Hmac224, "65 bytes", vec![1; 65]),
        (KeySpec::Hmac256, "31 bytes", vec![1; 31]),
        (KeySpec::Hmac384, "129 bytes", vec![1; 129]),
        (KeySpec::Hmac512, "63 bytes", vec![1; 63]),
        (KeySpec::Rsa2048, "an RSA_3072 key", material(KeySpec::Rsa3072).to_vec()),
        (KeySpec::Rsa4096, "a P-256 key", p256.to_vec()),
        (KeySpec::EccNistP256, "a P-384 key", p384.to_vec()),
        (KeySpec::EccSecgP256k1, "a P-256 key", p256.to_vec()),
        (KeySpec::EccNistP256, "a trailing byte", trailing_byte(&p256)),
        (KeySpec::Rsa2048, "a trailing byte", trailing_byte(&material(KeySpec::Rsa2048))),
        (
            KeySpec::EccNistEdwards25519,
            "a trailing byte",
            trailing_byte(&material(KeySpec::EccNistEdwards25519)),
        ),
        (KeySpec::MlDsa44, "a trailing byte", trailing_byte(&ml_dsa_44)),
        (KeySpec::EccNistP256, "truncated", p256[..p256.len() - 1].to_vec()),
        (KeySpec::EccNistP384, "32 random bytes", vec![0x42; 32]),
        (KeySpec::EccNistEdwards25519, "a P-256 key", p256.to_vec()),
        (KeySpec::MlDsa65, "an ML_DSA_44 key", ml_dsa_44.clone()),
        (KeySpec::MlDsa44, "a 31-byte seed", vec![1; 31]),
        (KeySpec::MlDsa44, "a 33-byte seed", vec![1; 33]),
        (KeySpec::MlDsa87, "a P-256 key", p256.to_vec()),
    ];
    for (spec, what, bytes) in cases {
        assert_eq!(
            canonical_material(spec, &bytes),
            Err(KeysError::MalformedMaterial(spec)),
            "{spec}: {what}"
        );
    }
    // EC PKCS#8 v2 with its public key (`[1] BIT STRING`): aws-lc's EC parser takes none.
    let point = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &p256)
        .unwrap()
        .public_key()
        .as_ref()
        .to_vec();
    let v2 = as_version_2(&p256);
    let mut content = v2[sequence_header_len(&v2)..].to_vec();
    content.extend_from_slice(&[0x81, u8::try_from(point.len() + 1).unwrap(), 0x00]);
    content.extend_from_slice(&point);
    let with_public_key = [vec![0x30, 0x81, u8::try_from(content.len()).unwrap()], content].concat();
    assert_eq!(
        canonical_material(KeySpec::EccNistP256, &with_public_key),
        Err(KeysError::MalformedMaterial(KeySpec::EccNistP256))
    );
    for spec in [KeySpec::MlKem512, KeySpec::MlKem768, KeySpec::MlKem1024] {
        assert_eq!(canonical_material(spec, &generate(spec).unwrap()), Err(KeysError::UnsupportedSpec(spec)));
    }
}
