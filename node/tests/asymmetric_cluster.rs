//! Keys of the other specs on three real `trentd` processes: a key made through any node (its
//! private key generated on the leader, off the async runtime, and sealed under the barrier)
//! signs, MACs and decapsulates on every node with the same material, and what one node made
//! verifies on every other. The same public key comes back from every node.
//!
//! Alone in its own test binary: one cluster of debug-build nodes on two cores.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

mod support;

use std::time::Duration;

use support::ProcessCluster;
use trent_client::wire::asymmetric::*;
use trent_client::wire::kms::CreateKeyRequest;
use trent_client::wire::{Blob, ErrorCode};

async fn create(cluster: &ProcessCluster, via: u64, spec: &str, usage: &str) -> String {
    let request =
        CreateKeyRequest { key_spec: Some(spec.into()), key_usage: Some(usage.into()), ..Default::default() };
    cluster
        .client_of(via)
        .create_key(&request)
        .await
        .unwrap_or_else(|error| panic!("CreateKey {spec}: {error}"))
        .key_metadata
        .key_id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_made_on_one_node_work_and_verify_on_every_node() {
    let cluster = ProcessCluster::start(3, &[]).await;
    let leader = cluster.wait_for_leader(Duration::from_secs(10)).await;
    let follower = cluster.followers(leader)[0];
    let ids = [1u64, 2, 3];
    // Through a follower: forwarded, generated and sealed by the leader.
    let signing_keys = [
        (create(&cluster, follower, "ECC_NIST_P256", "SIGN_VERIFY").await, "ECDSA_SHA_256"),
        (create(&cluster, follower, "RSA_2048", "SIGN_VERIFY").await, "RSASSA_PSS_SHA_256"),
        (create(&cluster, leader, "ECC_NIST_EDWARDS25519", "SIGN_VERIFY").await, "ED25519_SHA_512"),
        (create(&cluster, leader, "ML_DSA_44", "SIGN_VERIFY").await, "ML_DSA_SHAKE_256"),
    ];
    let hmac = create(&cluster, follower, "HMAC_256", "GENERATE_VERIFY_MAC").await;
    let kem = create(&cluster, follower, "ML_KEM_512", "ENCAPSULATE_DECAPSULATE").await;

    for (key_id, algorithm) in &signing_keys {
        let mut public_keys = Vec::new();
        for id in ids {
            let request = GetPublicKeyRequest { key_id: key_id.clone(), grant_tokens: None };
            public_keys
                .push(cluster.client_of(id).get_public_key(&request).await.expect("GetPublicKey").public_key);
        }
        assert!(
            public_keys.iter().all(|key| key == &public_keys[0]),
            "{algorithm}: one public key on every node"
        );
        for signer in ids {
            let message = format!("signed on node {signer}").into_bytes();
            let signed = cluster
                .client_of(signer)
                .sign(&SignRequest {
                    key_id: key_id.clone(),
                    message: Blob(message.clone()),
                    signing_algorithm: algorithm.to_string(),
                    ..Default::default()
                })
                .await
                .unwrap_or_else(|error| panic!("Sign {algorithm} on node {signer}: {error}"));
            for verifier in ids {
                let verify = |message: Vec<u8>| VerifyRequest {
                    key_id: key_id.clone(),
                    message: Blob(message),
                    signature: signed.signature.clone(),
                    signing_algorithm: algorithm.to_string(),
                    ..Default::default()
                };
                let valid =
                    cluster.client_of(verifier).verify(&verify(message.clone())).await.expect("Verify");
                assert!(valid.signature_valid, "{algorithm}: signed on {signer}, verified on {verifier}");
                let wrong = cluster.client_of(verifier).verify(&verify(b"another message".to_vec())).await;
                assert_eq!(
                    wrong.expect_err("a signature over another message").code(),
                    Some(ErrorCode::KmsInvalidSignature),
                    "{algorithm} on {verifier}"
                );
            }
        }
    }

    for maker in ids {
        let message = Blob(format!("mac on {maker}").into_bytes());
        let request = GenerateMacRequest {
            key_id: hmac.clone(),
            message: message.clone(),
            mac_algorithm: "HMAC_SHA_256".into(),
            ..Default::default()
        };
        let mac = cluster.client_of(maker).generate_mac(&request).await.expect("GenerateMac").mac;
        for checker in ids {
            let again = cluster.client_of(checker).generate_mac(&request).await.expect("GenerateMac").mac;
            assert_eq!(again, mac, "one HMAC key on every node");
            let verify = VerifyMacRequest {
                key_id: hmac.clone(),
                message: message.clone(),
                mac_algorithm: "HMAC_SHA_256".into(),
                mac: mac.clone(),
                ..Default::default()
            };
            assert!(cluster.client_of(checker).verify_mac(&verify).await.expect("VerifyMac").mac_valid);
        }

        let encapsulated = cluster
            .client_of(maker)
            .encapsulate(&EncapsulateRequest {
                key_id: kem.clone(),
                encapsulation_algorithm: "ML_KEM".into(),
                ..Default::default()
            })
            .await
            .expect("Encapsulate");
        for opener in ids {
            let request = DecapsulateRequest {
                key_id: kem.clone(),
                shared_secret_ciphertext_blob: encapsulated.shared_secret_ciphertext_blob.clone(),
                encapsulation_algorithm: "ML_KEM".into(),
                ..Default::default()
            };
            let secret =
                cluster.client_of(opener).decapsulate(&request).await.expect("Decapsulate").shared_secret;
            assert_eq!(
                secret, encapsulated.shared_secret,
                "encapsulated on {maker}, decapsulated on {opener}"
            );
        }
    }
}
