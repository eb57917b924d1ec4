//! Every algorithm under every wrapping key with every importable spec, and what a wrap can carry.

use trent_keys::import::{canonical_material, unwrap, wrap};
use trent_keys::{generate, max_plaintext_len, KeysError, LengthRule, PrivateKey};
use trent_wire::model::{KeySpec, WrappingAlgorithm};

use crate::{
    importable, is_oaep_only, material, modulus_len, oaep_of, wrapping_key, ALGORITHMS, WRAPPING_SPECS,
};

#[test]
fn every_algorithm_wraps_and_unwraps_every_importable_spec_under_every_wrapping_key() {
    let (mut opened, mut too_long) = (0, Vec::new());
    for spec in importable() {
        let material = material(spec);
        assert_eq!(
            canonical_material(spec, &material).unwrap(),
            material,
            "{spec}: generated material is canonical"
        );
        for wrapping_spec in WRAPPING_SPECS {
            let key = wrapping_key(wrapping_spec);
            for algorithm in ALGORITHMS {
                let context = format!("{spec} under {wrapping_spec} with {algorithm}");
                let k = modulus_len(wrapping_spec);
                if is_oaep_only(algorithm) {
                    let max = max_plaintext_len(wrapping_spec, oaep_of(algorithm)).unwrap();
                    if material.len() > max {
                        let refused = wrap(algorithm, &key.public_key, &material).unwrap_err();
                        assert_eq!(
                            refused,
                            KeysError::PlaintextTooLong { max, actual: material.len() },
                            "{context}"
                        );
                        too_long.push((spec, wrapping_spec, algorithm));
                        continue;
                    }
                }
                let wrapped = wrap(algorithm, &key.public_key, &material).expect(&context);
                let expected_len =
                    if is_oaep_only(algorithm) { k } else { k + 8 + material.len().div_ceil(8) * 8 };
                assert_eq!(wrapped.len(), expected_len, "{context}");
                let unwrapped = unwrap(algorithm, &key.private_key, &wrapped).expect(&context);
                assert_eq!(unwrapped, material, "{context}");
                assert_eq!(canonical_material(spec, &unwrapped).unwrap(), material, "{context}");
                opened += 1;
            }
        }
    }
    // OAEP carries no RSA material under any wrapping key (3 specs × 3 keys × 2), and, as AWS
    // documents, no P-521 key under RSA_2048 (with either hash).
    for rsa in [KeySpec::Rsa2048, KeySpec::Rsa3072, KeySpec::Rsa4096] {
        assert_eq!(too_long.iter().filter(|(spec, ..)| *spec == rsa).count(), 6, "{rsa}");
    }
    let p521: Vec<_> = too_long.iter().filter(|(spec, ..)| *spec == KeySpec::EccNistP521).collect();
    assert_eq!(p521.len(), 2, "{p521:?}");
    assert!(p521.iter().all(|(_, wrapping_spec, _)| *wrapping_spec == KeySpec::Rsa2048));
    assert_eq!(too_long.len(), 18 + 2);
    assert_eq!(importable().count(), 16);
    assert_eq!(opened, 16 * WRAPPING_SPECS.len() * ALGORITHMS.len() - too_long.len());
    eprintln!("import: {opened} wraps opened, {} refused as too long for OAEP", too_long.len());
}

#[test]
fn two_wraps_of_one_material_differ() {
    let key = wrapping_key(KeySpec::Rsa2048);
    for algorithm in ALGORITHMS {
        let first = wrap(algorithm, &key.public_key, &[7; 32]).unwrap();
        let second = wrap(algorithm, &key.public_key, &[7; 32]).unwrap();
        assert_ne!(first, second, "{algorithm}: OAEP is randomised, and so is the ephemeral AES key");
        if !is_oaep_only(algorithm) {
            assert_ne!(first[256..], second[256..], "{algorithm}: a fresh AES key each time");
        }
    }
}

#[test]
fn wrap_refuses_what_the_algorithm_cannot_carry() {
    let key = wrapping_key(KeySpec::Rsa2048);
    // OAEP under RSA_2048: k − 2·hLen − 2 bytes.
    for (algorithm, max) in
        [(WrappingAlgorithm::RsaesOaepSha1, 214), (WrappingAlgorithm::RsaesOaepSha256, 190)]
    {
        let wrapped = wrap(algorithm, &key.public_key, &vec![1; max]).unwrap();
        assert_eq!(unwrap(algorithm, &key.private_key, &wrapped).unwrap().len(), max);
        assert_eq!(
            wrap(algorithm, &key.public_key, &vec![1; max + 1]),
            Err(KeysError::PlaintextTooLong { max, actual: max + 1 })
        );
    }
    // RSA_AES: what keeps the blob within ImportKeyMaterial's 6144 bytes.
    for wrapping_spec in WRAPPING_SPECS {
        let key = wrapping_key(wrapping_spec);
        let max = (6144 - modulus_len(wrapping_spec) - 8) / 8 * 8;
        let algorithm = WrappingAlgorithm::RsaAesKeyWrapSha256;
        let wrapped = wrap(algorithm, &key.public_key, &vec![2; max]).unwrap();
        assert!(wrapped.len() <= 6144 && wrapped.len() > 6144 - 8, "{wrapping_spec}: {}", wrapped.len());
        assert_eq!(unwrap(algorithm, &key.private_key, &wrapped).unwrap().len(), max);
        assert_eq!(
            wrap(algorithm, &key.public_key, &vec![2; max + 1]),
            Err(KeysError::PlaintextTooLong { max, actual: max + 1 })
        );
    }
    for algorithm in ALGORITHMS {
        assert!(matches!(
            wrap(algorithm, &key.public_key, &[]),
            Err(KeysError::InvalidMessage { expected: LengthRule::Between(1, _), actual: 0 })
        ));
    }
    // Only an RSA 2048, 3072 or 4096 public key wraps.
    let p256 =
        PrivateKey::from_material(KeySpec::EccNistP256, &generate(KeySpec::EccNistP256).unwrap()).unwrap();
    assert_eq!(
        wrap(WrappingAlgorithm::RsaesOaepSha256, p256.public_key_der().unwrap(), &[1; 32]),
        Err(KeysError::InvalidPublicKey)
    );
    for refused in [WrappingAlgorithm::RsaesPkcs1V15, WrappingAlgorithm::Sm2Pke] {
        assert!(matches!(
            wrap(refused, &key.public_key, &[1; 32]),
            Err(KeysError::UnsupportedAlgorithm { spec: KeySpec::Rsa2048, .. })
        ));
    }
}
