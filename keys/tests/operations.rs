//! Every key spec through its operations, checked against aws-lc-rs's own verification,
//! encryption and agreement paths where it has them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex, OnceLock};

use aws_lc_rs::{agreement, digest, rsa, signature};
use trent_keys::{
    generate, generate_data_key_pair, max_plaintext_len, message_types, signing_algorithms, KeysError,
    PrivateKey, PublicKey,
};
use trent_wire::model::{
    DataKeyPairSpec, EncryptionAlgorithm, KeySpec, MacAlgorithm, MessageType, SigningAlgorithm,
};

const SIGNING_SPECS: &[KeySpec] = &[
    KeySpec::Rsa2048,
    KeySpec::Rsa3072,
    KeySpec::Rsa4096,
    KeySpec::EccNistP256,
    KeySpec::EccNistP384,
    KeySpec::EccNistP521,
    KeySpec::EccSecgP256k1,
    KeySpec::EccNistEdwards25519,
    KeySpec::MlDsa44,
    KeySpec::MlDsa65,
    KeySpec::MlDsa87,
];

/// Keys generated so far, by spec.
type KeyCache = Mutex<Vec<(KeySpec, Arc<PrivateKey>)>>;

/// One generated key per spec, shared by the tests (RSA-4096 generation is slow in debug builds).
fn key(spec: KeySpec) -> Arc<PrivateKey> {
    static KEYS: OnceLock<KeyCache> = OnceLock::new();
    let keys = KEYS.get_or_init(Default::default);
    if let Some((_, key)) = keys.lock().unwrap().iter().find(|(s, _)| *s == spec) {
        return key.clone();
    }
    let material = generate(spec).unwrap();
    let key = Arc::new(PrivateKey::from_material(spec, &material).unwrap());
    keys.lock().unwrap().push((spec, key.clone()));
    key
}

fn hash(algorithm: SigningAlgorithm) -> &'static digest::Algorithm {
    let name = algorithm.as_str();
    if name.ends_with("256") {
        &digest::SHA256
    } else if name.ends_with("384") {
        &digest::SHA384
    } else {
        &digest::SHA512
    }
}

/// aws-lc-rs's verification algorithm for a spec and signing algorithm (none for Ed25519ph).
fn independent_verifier(
    spec: KeySpec,
    algorithm: SigningAlgorithm,
) -> Option<&'static dyn signature::VerificationAlgorithm> {
    use SigningAlgorithm::*;
    Some(match (spec, algorithm) {
        (_, RsassaPssSha256) => &signature::RSA_PSS_2048_8192_SHA256,
        (_, RsassaPssSha384) => &signature::RSA_PSS_2048_8192_SHA384,
        (_, RsassaPssSha512) => &signature::RSA_PSS_2048_8192_SHA512,
        (_, RsassaPkcs1V15Sha256) => &signature::RSA_PKCS1_2048_8192_SHA256,
        (_, RsassaPkcs1V15Sha384) => &signature::RSA_PKCS1_2048_8192_SHA384,
        (_, RsassaPkcs1V15Sha512) => &signature::RSA_PKCS1_2048_8192_SHA512,
        (KeySpec::EccNistP256, EcdsaSha256) => &signature::ECDSA_P256_SHA256_ASN1,
        (KeySpec::EccSecgP256k1, EcdsaSha256) => &signature::ECDSA_P256K1_SHA256_ASN1,
        (_, EcdsaSha384) => &signature::ECDSA_P384_SHA384_ASN1,
        (_, EcdsaSha512) => &signature::ECDSA_P521_SHA512_ASN1,
        (_, Ed25519Sha512) => &signature::ED25519,
        (KeySpec::MlDsa44, MlDsaShake256) => &signature::ML_DSA_44,
        (KeySpec::MlDsa65, MlDsaShake256) => &signature::ML_DSA_65,
        (KeySpec::MlDsa87, MlDsaShake256) => &signature::ML_DSA_87,
        _ => return None,
    })
}

fn flip_first_bit(bytes: &[u8]) -> Vec<u8> {
    let mut flipped = bytes.to_vec();
    flipped[0] ^= 1;
    flipped
}

#[test]
fn every_spec_algorithm_and_message_type_signs_and_verifies() {
    let original = b"the message Trent signs".as_slice();
    let mut checked = 0;
    for &spec in SIGNING_SPECS {
        let key = key(spec);
        let public_key = key.public_key_der().unwrap();
        for &algorithm in signing_algorithms(spec) {
            for &message_type in message_types(algorithm) {
                let message = match message_type {
                    MessageType::Raw => original.to_vec(),
                    MessageType::Digest => digest::digest(hash(algorithm), original).as_ref().to_vec(),
                    MessageType::ExternalMu => vec![0x5a; 64],
                };
                let context = format!("{spec} {algorithm} {message_type}");
                let signature = key.sign(algorithm, message_type, &message).expect(&context);
                assert!(key.verify(algorithm, message_type, &message, &signature).unwrap(), "{context}");
                assert!(
                    !key.verify(algorithm, message_type, &flip_first_bit(&message), &signature).unwrap(),
                    "{context}"
                );
                assert!(
                    !key.verify(algorithm, message_type, &message, &flip_first_bit(&signature)).unwrap(),
                    "{context}"
                );

                // Verification with the public key alone, as a holder of GetPublicKey's output does.
                let public = PublicKey::from_der(spec, public_key).unwrap();
                assert!(public.verify(algorithm, message_type, &message, &signature).unwrap(), "{context}");

                // And by aws-lc-rs directly: a DIGEST signature is the signature of the message.
                if let (Some(verifier), MessageType::Raw | MessageType::Digest) =
                    (independent_verifier(spec, algorithm), message_type)
                {
                    signature::UnparsedPublicKey::new(verifier, public_key)
                        .verify(original, &signature)
                        .expect(&context);
                }
                checked += 1;
            }
        }
    }
    // 3 RSA × 6 algorithms × 2 types, 4 ECDSA × 2, Ed25519 × 2, 3 ML-DSA × 2.
    assert_eq!(checked, 36 + 8 + 2 + 6);
}

#[test]
fn signing_refuses_bad_messages_and_foreign_algorithms() {
    let p256 = key(KeySpec::EccNistP256);
    assert!(matches!(
        p256.sign(SigningAlgorithm::EcdsaSha256, MessageType::Digest, &[0; 31]),
        Err(KeysError::InvalidMessage { .. })
    ));
    assert!(matches!(
        p256.sign(SigningAlgorithm::EcdsaSha256, MessageType::Raw, &[0; 4097]),
        Err(KeysError::InvalidMessage { .. })
    ));
    assert_eq!(
        p256.sign(SigningAlgorithm::RsassaPssSha256, MessageType::Raw, b"m"),
        Err(KeysError::UnsupportedAlgorithm { spec: KeySpec::EccNistP256, algorithm: "RSASSA_PSS_SHA_256" })
    );
    let rsa = key(KeySpec::Rsa2048);
    assert!(matches!(
        rsa.sign(SigningAlgorithm::RsassaPkcs1V15Sha512, MessageType::Digest, &[0; 32]),
        Err(KeysError::InvalidMessage { .. })
    ));
    assert!(matches!(
        rsa.verify(SigningAlgorithm::EcdsaSha256, MessageType::Raw, b"m", &[0; 256]),
        Err(KeysError::UnsupportedAlgorithm { .. })
    ));
    let hmac = PrivateKey::from_material(KeySpec::Hmac256, &generate(KeySpec::Hmac256).unwrap()).unwrap();
    assert!(matches!(
        hmac.sign(SigningAlgorithm::EcdsaSha256, MessageType::Raw, b"m"),
        Err(KeysError::UnsupportedAlgorithm { .. })
    ));
}

#[test]
fn rsa_oaep_round_trips_up_to_the_limit_and_interoperates() {
    let limits = [(KeySpec::Rsa2048, 214, 190), (KeySpec::Rsa3072, 342, 318), (KeySpec::Rsa4096, 470, 446)];
    for (spec, sha1_max, sha256_max) in limits {
        let key = key(spec);
        for (algorithm, max, independent) in [
            (EncryptionAlgorithm::RsaesOaepSha1, sha1_max, &rsa::OAEP_SHA1_MGF1SHA1),
            (EncryptionAlgorithm::RsaesOaepSha256, sha256_max, &rsa::OAEP_SHA256_MGF1SHA256),
        ] {
            assert_eq!(max_plaintext_len(spec, algorithm).unwrap(), max);
            let plaintext = vec![0xa5; max];
            let ciphertext = key.encrypt(algorithm, &plaintext).unwrap();
            assert_eq!(key.decrypt(algorithm, &ciphertext).unwrap().as_slice(), plaintext.as_slice());
            assert_eq!(
                key.encrypt(algorithm, &vec![0; max + 1]),
                Err(KeysError::PlaintextTooLong { max, actual: max + 1 })
            );
            assert_eq!(
                key.decrypt(algorithm, &flip_first_bit(&ciphertext)),
                Err(KeysError::InvalidCiphertext)
            );
            assert_eq!(key.decrypt(algorithm, &ciphertext[1..]), Err(KeysError::InvalidCiphertext));

            // A ciphertext made by aws-lc-rs from the public key alone decrypts.
            let public = rsa::PublicEncryptingKey::from_der(key.public_key_der().unwrap()).unwrap();
            let public = rsa::OaepPublicEncryptingKey::new(public).unwrap();
            let mut foreign = vec![0; public.ciphertext_size()];
            let foreign = public.encrypt(independent, b"from outside", &mut foreign, None).unwrap();
            assert_eq!(key.decrypt(algorithm, foreign).unwrap().as_slice(), b"from outside");
        }
        assert!(matches!(
            key.decrypt(EncryptionAlgorithm::SymmetricDefault, &[0; 256]),
            Err(KeysError::UnsupportedAlgorithm { .. })
        ));
    }
}

#[test]
fn ecdh_agrees_with_a_peer_and_refuses_foreign_keys() {
    for (spec, algorithm) in [
        (KeySpec::EccNistP256, &agreement::ECDH_P256),
        (KeySpec::EccNistP384, &agreement::ECDH_P384),
        (KeySpec::EccNistP521, &agreement::ECDH_P521),
    ] {
        let ours = key(spec);
        let peer = agreement::PrivateKey::generate(algorithm).unwrap();
        let peer_public = aws_lc_rs::encoding::AsDer::<aws_lc_rs::encoding::PublicKeyX509Der>::as_der(
            &peer.compute_public_key().unwrap(),
        )
        .unwrap();
        let secret = ours.derive_shared_secret(peer_public.as_ref()).unwrap();
        let expected = agreement::agree(
            &peer,
            agreement::UnparsedPublicKey::new(algorithm, ours.public_key_der().unwrap()),
            (),
            |secret| Ok(secret.to_vec()),
        )
        .unwrap();
        assert_eq!(secret.as_slice(), expected.as_slice(), "{spec}");

        // Two Trent keys agree with each other too.
        let other = PrivateKey::from_material(spec, &generate(spec).unwrap()).unwrap();
        assert_eq!(
            ours.derive_shared_secret(other.public_key_der().unwrap()).unwrap(),
            other.derive_shared_secret(ours.public_key_der().unwrap()).unwrap()
        );
    }
    let p256 = key(KeySpec::EccNistP256);
    let p384_public = key(KeySpec::EccNistP384).public_key_der().unwrap().to_vec();
    assert_eq!(p256.derive_shared_secret(&p384_public), Err(KeysError::InvalidPublicKey));
    assert_eq!(p256.derive_shared_secret(b"not a key"), Err(KeysError::InvalidPublicKey));
    // The bare point of a valid P-256 key is not an SPKI.
    let spki = p256.public_key_der().unwrap();
    assert_eq!(p256.derive_shared_secret(&spki[spki.len() - 65..]), Err(KeysError::InvalidPublicKey));
    let mut off_curve = spki.to_vec();
    let last = off_curve.len() - 1;
    off_curve[last] ^= 1;
    assert_eq!(p256.derive_shared_secret(&off_curve), Err(KeysError::InvalidPublicKey));
    assert!(matches!(
        key(KeySpec::EccSecgP256k1).derive_shared_secret(spki),
        Err(KeysError::UnsupportedAlgorithm { .. })
    ));
}

#[test]
fn ml_kem_encapsulation_and_decapsulation_agree() {
    for (spec, ciphertext_len) in
        [(KeySpec::MlKem512, 768), (KeySpec::MlKem768, 1088), (KeySpec::MlKem1024, 1568)]
    {
        let key = PrivateKey::from_material(spec, &generate(spec).unwrap()).unwrap();
        let public = PublicKey::from_der(spec, key.public_key_der().unwrap()).unwrap();
        let (ciphertext, secret) = public.encapsulate().unwrap();
        assert_eq!(ciphertext.len(), ciphertext_len);
        assert_eq!(secret.len(), 32);
        assert_eq!(key.decapsulate(&ciphertext).unwrap(), secret);
        // Implicit rejection: a tampered ciphertext yields some other secret, not an error.
        assert_ne!(key.decapsulate(&flip_first_bit(&ciphertext)).unwrap(), secret);
        assert_eq!(key.decapsulate(&ciphertext[1..]), Err(KeysError::InvalidCiphertext));
        assert_eq!(PublicKey::from_der(KeySpec::MlKem1024, b"garbage"), Err(KeysError::InvalidPublicKey));
    }
    let ml_kem_768 = key_public(KeySpec::MlKem768);
    assert_eq!(PublicKey::from_der(KeySpec::MlKem512, &ml_kem_768), Err(KeysError::InvalidPublicKey));
}

fn key_public(spec: KeySpec) -> Vec<u8> {
    PrivateKey::from_material(spec, &generate(spec).unwrap()).unwrap().public_key_der().unwrap().to_vec()
}

#[test]
fn public_keys_of_another_spec_or_with_trailing_bytes_are_refused() {
    let p256 = key(KeySpec::EccNistP256).public_key_der().unwrap().to_vec();
    assert_eq!(PublicKey::from_der(KeySpec::EccNistP384, &p256), Err(KeysError::InvalidPublicKey));
    assert_eq!(PublicKey::from_der(KeySpec::Rsa2048, &p256), Err(KeysError::InvalidPublicKey));
    let mut trailing = p256.clone();
    trailing.push(0);
    assert_eq!(PublicKey::from_der(KeySpec::EccNistP256, &trailing), Err(KeysError::InvalidPublicKey));
    let rsa_3072 = key(KeySpec::Rsa3072).public_key_der().unwrap().to_vec();
    assert_eq!(PublicKey::from_der(KeySpec::Rsa2048, &rsa_3072), Err(KeysError::InvalidPublicKey));
    let ml_dsa_44 = key(KeySpec::MlDsa44).public_key_der().unwrap().to_vec();
    assert_eq!(PublicKey::from_der(KeySpec::MlDsa65, &ml_dsa_44), Err(KeysError::InvalidPublicKey));
    assert_eq!(PublicKey::from_der(KeySpec::EccNistEdwards25519, &p256), Err(KeysError::InvalidPublicKey));
    assert_eq!(
        PublicKey::from_der(KeySpec::Hmac256, &p256),
        Err(KeysError::UnsupportedSpec(KeySpec::Hmac256))
    );
}

#[test]
fn material_of_the_wrong_form_or_spec_is_malformed() {
    let p256 = generate(KeySpec::EccNistP256).unwrap();
    assert_eq!(
        PrivateKey::from_material(KeySpec::EccNistP384, &p256).err(),
        Some(KeysError::MalformedMaterial(KeySpec::EccNistP384))
    );
    assert_eq!(
        PrivateKey::from_material(KeySpec::Rsa2048, &p256).err(),
        Some(KeysError::MalformedMaterial(KeySpec::Rsa2048))
    );
    let rsa_2048 = generate(KeySpec::Rsa2048).unwrap();
    assert_eq!(
        PrivateKey::from_material(KeySpec::Rsa3072, &rsa_2048).err(),
        Some(KeysError::MalformedMaterial(KeySpec::Rsa3072))
    );
    assert_eq!(
        PrivateKey::from_material(KeySpec::MlDsa44, &[0; 31]).err(),
        Some(KeysError::MalformedMaterial(KeySpec::MlDsa44))
    );
    assert_eq!(
        PrivateKey::from_material(KeySpec::MlKem512, &[0; 32]).err(),
        Some(KeysError::MalformedMaterial(KeySpec::MlKem512))
    );
    assert_eq!(
        generate(KeySpec::SymmetricDefault).err(),
        Some(KeysError::UnsupportedSpec(KeySpec::SymmetricDefault))
    );
    assert_eq!(
        PrivateKey::from_material(KeySpec::SymmetricDefault, &[0; 32]).err(),
        Some(KeysError::UnsupportedSpec(KeySpec::SymmetricDefault))
    );
}

#[test]
fn stored_material_has_the_documented_form() {
    assert_eq!(generate(KeySpec::MlDsa65).unwrap().len(), 32);
    assert_eq!(generate(KeySpec::MlKem768).unwrap().len(), 64);
    assert_eq!(generate(KeySpec::Hmac224).unwrap().len(), 28);
    // PKCS#8 v1: SEQUENCE { INTEGER 0, ... }, which aws-lc-rs reads directly.
    let ed = generate(KeySpec::EccNistEdwards25519).unwrap();
    signature::Ed25519KeyPair::from_pkcs8(&ed).unwrap();
    let ec = generate(KeySpec::EccNistP521).unwrap();
    signature::EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P521_SHA512_ASN1_SIGNING, &ec).unwrap();
    // Same material, same key.
    let again = PrivateKey::from_material(KeySpec::EccNistP521, &ec).unwrap();
    assert_eq!(
        again.public_key_der().unwrap(),
        PrivateKey::from_material(KeySpec::EccNistP521, &ec).unwrap().public_key_der().unwrap()
    );
}

#[test]
fn data_key_pairs_are_pkcs8_and_spki_for_every_spec() {
    for &spec in DataKeyPairSpec::ALL {
        let (private_key, public_key) = generate_data_key_pair(spec).unwrap();
        let key_spec = trent_keys::key_spec(spec);
        assert_eq!(private_key[0], 0x30, "{spec}");
        // The public key is the private key's own.
        let derived = match key_spec {
            KeySpec::MlKem512 | KeySpec::MlKem768 | KeySpec::MlKem1024 => {
                // Seed-form PKCS#8: the seed is the last 64 bytes.
                PrivateKey::from_material(key_spec, &private_key[private_key.len() - 64..]).unwrap()
            }
            _ => PrivateKey::from_material(key_spec, &private_key).unwrap(),
        };
        assert_eq!(derived.public_key_der().unwrap(), public_key.as_slice(), "{spec}");
        PublicKey::from_der(key_spec, &public_key).unwrap();
    }
}

#[test]
fn hmac_keys_mac_and_verify_with_their_own_algorithm_only() {
    for (spec, algorithm, tag_len) in [
        (KeySpec::Hmac224, MacAlgorithm::HmacSha224, 28),
        (KeySpec::Hmac256, MacAlgorithm::HmacSha256, 32),
        (KeySpec::Hmac384, MacAlgorithm::HmacSha384, 48),
        (KeySpec::Hmac512, MacAlgorithm::HmacSha512, 64),
    ] {
        let key = PrivateKey::from_material(spec, &generate(spec).unwrap()).unwrap();
        let tag = key.mac(algorithm, b"message").unwrap();
        assert_eq!(tag.len(), tag_len);
        assert!(key.verify_mac(algorithm, b"message", &tag).unwrap());
        assert!(!key.verify_mac(algorithm, b"message", &flip_first_bit(&tag)).unwrap());
        let other = MacAlgorithm::ALL.iter().copied().find(|a| *a != algorithm).unwrap();
        assert!(matches!(key.mac(other, b"message"), Err(KeysError::UnsupportedAlgorithm { .. })));
        assert_eq!(key.public_key_der().err(), Some(KeysError::UnsupportedSpec(spec)));
    }
    assert!(matches!(
        key(KeySpec::Rsa2048).mac(MacAlgorithm::HmacSha256, b"m"),
        Err(KeysError::UnsupportedAlgorithm { .. })
    ));
}

#[test]
fn private_keys_are_shareable_and_never_print_their_material() {
    fn shareable<T: Send + Sync>() {}
    shareable::<PrivateKey>();
    shareable::<PublicKey>();
    let material = generate(KeySpec::Hmac256).unwrap();
    let key = PrivateKey::from_material(KeySpec::Hmac256, &material).unwrap();
    let printed = format!("{key:?}");
    assert_eq!(printed, "PrivateKey { spec: Hmac256, .. }");
    let error = PrivateKey::from_material(KeySpec::EccNistP256, &material).unwrap_err();
    assert_eq!(error.to_string(), "the key material is not a valid ECC_NIST_P256 key");
}
