//! Vault's transit HTTP API (OpenBao, HashiCorp Vault): `transit/encrypt/<key>`, `transit/sign`,
//! `transit/verify`, `transit/hmac` and friends with an `X-Vault-Token`. Mounts the engine and
//! makes the keys (`trent-bench-<i>`, of the transit type that matches `--key-spec`) before the
//! run, and what the operations send back: one ciphertext per key for Decrypt and ReEncrypt, one
//! signature per key for Verify.

use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use bytes::Bytes;
use hyper::Method;
use serde_json::{json, Value};
use trent_wire::model::{KeySpec, KeyUsage};

use super::http::RawHttp;
use super::KeyKind;
use crate::workload::{scramble, Op};

/// How long preparation waits for a fresh cluster to mount transit and take keys.
const PREPARE_PATIENCE: Duration = Duration::from_secs(20);

/// Most transit keys a run makes.
pub const MAX_TRANSIT_KEYS: usize = 10_000;

/// The transit counterpart of a [`KeyKind`]: the key `type` transit makes, and how its sign,
/// verify and hmac requests name their algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransitKeyType {
    /// The `type` of `POST /v1/transit/keys/<name>`; `None` is transit's default, aes256-gcm96.
    pub name: Option<&'static str>,
    /// The `key_size` in bytes (hmac keys).
    pub key_size: Option<u32>,
    /// The hash of the sign, verify and hmac paths (`/v1/transit/sign/<name>/sha2-256`); `None`
    /// for ed25519, which takes none.
    pub hash: Option<&'static str>,
    /// RSA keys: `signature_algorithm: pss` (transit's default, named anyway) with `salt_length:
    /// hash` (transit's default salt is as long as possible), as AWS's `RSASSA_PSS_SHA_256`.
    pub pss: bool,
}

impl TransitKeyType {
    /// The transit key type of `kind`'s keys. OpenBao transit has no key agreement (ECDH), no
    /// ML-KEM or ML-DSA, no secp256k1 and no 224-bit HMAC: those are refused.
    pub fn of(kind: KeyKind) -> Result<TransitKeyType, String> {
        use KeySpec::*;
        let plain = TransitKeyType { name: None, key_size: None, hash: None, pss: false };
        let typed = |name, hash| TransitKeyType { name: Some(name), hash: Some(hash), ..plain };
        if kind.usage() == KeyUsage::KeyAgreement {
            return Err("OpenBao transit has no key agreement (ECDH): derive-shared-secret has no transit counterpart"
                .to_owned());
        }
        Ok(match kind.spec() {
            SymmetricDefault => plain,
            EccNistP256 => typed("ecdsa-p256", "sha2-256"),
            EccNistP384 => typed("ecdsa-p384", "sha2-384"),
            EccNistP521 => typed("ecdsa-p521", "sha2-512"),
            Rsa2048 => TransitKeyType { pss: true, ..typed("rsa-2048", "sha2-256") },
            Rsa3072 => TransitKeyType { pss: true, ..typed("rsa-3072", "sha2-256") },
            Rsa4096 => TransitKeyType { pss: true, ..typed("rsa-4096", "sha2-256") },
            EccNistEdwards25519 => TransitKeyType { name: Some("ed25519"), ..plain },
            Hmac256 => TransitKeyType { key_size: Some(32), ..typed("hmac", "sha2-256") },
            Hmac384 => TransitKeyType { key_size: Some(48), ..typed("hmac", "sha2-384") },
            Hmac512 => TransitKeyType { key_size: Some(64), ..typed("hmac", "sha2-512") },
            spec @ (EccSecgP256k1 | Hmac224 | MlDsa44 | MlDsa65 | MlDsa87 | MlKem512 | MlKem768
            | MlKem1024) => return Err(format!("OpenBao transit has no counterpart of {spec} keys")),
        })
    }

    /// The body of `POST /v1/transit/keys/<name>`.
    fn create_body(self) -> Bytes {
        let mut body = json!({});
        if let Some(name) = self.name {
            body["type"] = json!(name);
        }
        if let Some(size) = self.key_size {
            body["key_size"] = json!(size);
        }
        Bytes::from(body.to_string())
    }

    /// `/v1/transit/<verb>/<key>[/<hash>]`.
    fn path(self, verb: &str, key: &str) -> String {
        match self.hash {
            Some(hash) => format!("/v1/transit/{verb}/{key}/{hash}"),
            None => format!("/v1/transit/{verb}/{key}"),
        }
    }

    /// A sign or verify body: `input` (base64), and `signature` for verify, with the PSS fields
    /// for RSA.
    fn signing_body(self, input: &str, signature: Option<&str>) -> Bytes {
        let mut body = json!({ "input": input });
        if let Some(signature) = signature {
            body["signature"] = json!(signature);
        }
        if self.pss {
            body["signature_algorithm"] = json!("pss");
            body["salt_length"] = json!("hash");
        }
        Bytes::from(body.to_string())
    }
}

/// What the transit target sends.
pub struct TransitTarget {
    http: RawHttp,
    token: String,
    key_type: TransitKeyType,
    keys: Vec<String>,
    ciphertexts: Vec<String>,
    /// Verify body `i` carries a signature of the message by key `i`.
    verify_bodies: Vec<Bytes>,
    plaintext_body: Bytes,
    /// The message, for sign and hmac.
    input_body: Bytes,
    create_body: Bytes,
    run_id: String,
}

impl TransitTarget {
    /// Mounts transit (if it is not), makes `key_count` keys of `kind`'s transit type and, if
    /// `ops` need them, one ciphertext or one signature per key.
    pub async fn prepare(
        endpoints: &[String],
        token: String,
        ops: &[Op],
        kind: KeyKind,
        key_count: usize,
        plaintext_bytes: usize,
        timeout: Duration,
    ) -> anyhow::Result<TransitTarget> {
        anyhow::ensure!(
            (1..=MAX_TRANSIT_KEYS).contains(&key_count),
            "transit: --keys must be 1 to {MAX_TRANSIT_KEYS}"
        );
        if let Some(op) = ops
            .iter()
            .find(|op| matches!(op, Op::DeriveSharedSecret | Op::Encapsulate | Op::ListKeyRotations))
        {
            anyhow::bail!("transit has no {}", op.name());
        }
        let key_type = TransitKeyType::of(kind).map_err(anyhow::Error::msg)?;
        let http = RawHttp::new(endpoints, timeout)?;
        let plaintext = STANDARD.encode(vec![0x5a; plaintext_bytes]);
        let plaintext_body = Bytes::from(serde_json::to_vec(&json!({ "plaintext": plaintext }))?);
        let input_body = key_type.signing_body(&plaintext, None);
        let run_id = format!("{:08x}", crate::workload::scramble(std::process::id().into()) as u32);
        let mut target = TransitTarget {
            http,
            token,
            key_type,
            keys: Vec::new(),
            ciphertexts: Vec::new(),
            verify_bodies: Vec::new(),
            plaintext_body,
            input_body,
            create_body: key_type.create_body(),
            run_id,
        };
        // A standby that has just joined may not serve (or forward) yet, and a new mount takes a
        // moment to reach every node: mount, then make the first key, retrying for a while. A
        // mount answered 400 "path is already in use" is fine.
        let mount = Bytes::from(json!({ "type": "transit" }).to_string());
        let deadline = std::time::Instant::now() + PREPARE_PATIENCE;
        let mut first_error = String::new();
        for index in 0..key_count {
            // Keys of other types get names of their own: an existing key keeps its type.
            let name = match key_type.name {
                None => format!("trent-bench-{index}"),
                Some(type_name) => format!("trent-bench-{type_name}-{index}"),
            };
            let path = format!("/v1/transit/keys/{name}");
            loop {
                if index == 0 {
                    let _ = target.send(Method::POST, "/v1/sys/mounts/transit", mount.clone()).await;
                }
                match target.send(Method::POST, &path, target.create_body.clone()).await {
                    Ok(_) => break,
                    Err(error) if std::time::Instant::now() < deadline => {
                        first_error = error;
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                    Err(error) => {
                        anyhow::bail!("creating transit key {name}: {error} (first: {first_error})")
                    }
                }
            }
            target.keys.push(name);
        }
        if ops.iter().any(|op| op.needs_ciphertexts()) {
            for name in target.keys.clone() {
                let path = format!("/v1/transit/encrypt/{name}");
                let ciphertext = target.field(&path, target.plaintext_body.clone(), "ciphertext").await?;
                target.ciphertexts.push(ciphertext);
            }
        }
        if ops.iter().any(|op| op.needs_signatures()) {
            for name in target.keys.clone() {
                let path = key_type.path("sign", &name);
                let signature = target.field(&path, target.input_body.clone(), "signature").await?;
                target.verify_bodies.push(key_type.signing_body(&plaintext, Some(&signature)));
            }
        }
        Ok(target)
    }

    /// How many keys calls spread over.
    pub fn key_count(&self) -> usize {
        self.keys.len()
    }

    async fn send(&self, method: Method, path: &str, body: Bytes) -> Result<Bytes, String> {
        let headers = [("x-vault-token", self.token.as_str()), ("content-type", "application/json")];
        self.http.send_ok(method, path, &headers, body).await
    }

    /// `data.<field>` of the answer to `POST path` with `body`, a string.
    async fn field(&self, path: &str, body: Bytes, field: &str) -> anyhow::Result<String> {
        let answer =
            self.send(Method::POST, path, body).await.map_err(|error| anyhow::anyhow!("{path}: {error}"))?;
        let answer: Value = serde_json::from_slice(&answer)?;
        answer
            .pointer(&format!("/data/{field}"))
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| anyhow::anyhow!("{path}: the answer has no data.{field}"))
    }

    /// Sends call number `sequence` as `op`'s transit counterpart.
    pub async fn call(&self, op: Op, sequence: u64) -> Result<(), String> {
        let index = scramble(sequence.rotate_left(17)) as usize % self.keys.len().max(1);
        let key = self.keys.get(index).map_or("", String::as_str);
        let ciphertext_body = || {
            let ciphertext = self.ciphertexts.get(index).map_or("", String::as_str);
            Bytes::from(json!({ "ciphertext": ciphertext }).to_string())
        };
        let answer = match op {
            Op::Encrypt => {
                self.send(Method::POST, &format!("/v1/transit/encrypt/{key}"), self.plaintext_body.clone())
                    .await
            }
            Op::Decrypt => {
                self.send(Method::POST, &format!("/v1/transit/decrypt/{key}"), ciphertext_body()).await
            }
            Op::ReEncrypt => {
                self.send(Method::POST, &format!("/v1/transit/rewrap/{key}"), ciphertext_body()).await
            }
            Op::GenerateDataKey => {
                self.send(
                    Method::POST,
                    &format!("/v1/transit/datakey/plaintext/{key}"),
                    Bytes::from_static(b"{}"),
                )
                .await
            }
            Op::DescribeKey => self.send(Method::GET, &format!("/v1/transit/keys/{key}"), Bytes::new()).await,
            Op::CreateKey => {
                let path = format!("/v1/transit/keys/trent-bench-{}-{sequence}", self.run_id);
                self.send(Method::POST, &path, self.create_body.clone()).await
            }
            Op::GenerateRandom => {
                self.send(Method::POST, "/v1/sys/tools/random/32", Bytes::from_static(b"{}")).await
            }
            Op::Sign => {
                self.send(Method::POST, &self.key_type.path("sign", key), self.input_body.clone()).await
            }
            Op::Verify => {
                let body = self.verify_bodies.get(index).cloned().unwrap_or_default();
                let answer = self.send(Method::POST, &self.key_type.path("verify", key), body).await?;
                // Transit answers 200 with `valid: false` for a signature that does not verify.
                return match serde_json::from_slice::<Value>(&answer) {
                    Ok(answer) if answer.pointer("/data/valid") == Some(&Value::Bool(true)) => Ok(()),
                    _ => Err("InvalidSignature".to_owned()),
                };
            }
            Op::GenerateMac => {
                self.send(Method::POST, &self.key_type.path("hmac", key), self.input_body.clone()).await
            }
            // Refused by `prepare`.
            Op::DeriveSharedSecret | Op::Encapsulate | Op::ListKeyRotations => {
                Err(format!("transit has no {}", op.name()))
            }
        };
        answer.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transit(spec: KeySpec, usage: Option<KeyUsage>, op: Op) -> Result<TransitKeyType, String> {
        TransitKeyType::of(KeyKind::for_ops(spec, usage, &[op]).unwrap())
    }

    fn json_of(bytes: &Bytes) -> Value {
        serde_json::from_slice(bytes).unwrap()
    }

    #[test]
    fn key_specs_map_to_transit_key_types() {
        let p256 = transit(KeySpec::EccNistP256, None, Op::Sign).unwrap();
        assert_eq!((p256.name, p256.hash, p256.pss), (Some("ecdsa-p256"), Some("sha2-256"), false));
        let rsa = transit(KeySpec::Rsa2048, None, Op::Verify).unwrap();
        assert_eq!((rsa.name, rsa.hash, rsa.pss), (Some("rsa-2048"), Some("sha2-256"), true));
        let hmac = transit(KeySpec::Hmac256, None, Op::GenerateMac).unwrap();
        assert_eq!((hmac.name, hmac.key_size, hmac.hash), (Some("hmac"), Some(32), Some("sha2-256")));
        assert_eq!(json_of(&hmac.create_body()), json!({ "type": "hmac", "key_size": 32 }));
        let rsa4096 = transit(KeySpec::Rsa4096, Some(KeyUsage::SignVerify), Op::CreateKey).unwrap();
        assert_eq!(json_of(&rsa4096.create_body()), json!({ "type": "rsa-4096" }));
        let plain = transit(KeySpec::SymmetricDefault, None, Op::Encrypt).unwrap();
        assert_eq!(plain.name, None);
        assert_eq!(&plain.create_body()[..], b"{}", "the default key is made as before");
    }

    #[test]
    fn specs_without_a_transit_counterpart_are_refused() {
        assert!(transit(KeySpec::EccNistP256, None, Op::DeriveSharedSecret).is_err(), "no ECDH");
        assert!(transit(KeySpec::MlKem768, None, Op::Encapsulate).is_err());
        assert!(transit(KeySpec::MlDsa65, None, Op::Sign).is_err());
        assert!(transit(KeySpec::Hmac224, None, Op::GenerateMac).is_err());
        assert!(transit(KeySpec::EccSecgP256k1, None, Op::Sign).is_err());
    }

    #[test]
    fn requests_name_the_hash_and_rsa_signs_with_pss() {
        let rsa = transit(KeySpec::Rsa2048, None, Op::Sign).unwrap();
        assert_eq!(rsa.path("sign", "k"), "/v1/transit/sign/k/sha2-256");
        assert_eq!(
            json_of(&rsa.signing_body("AAE=", Some("vault:v1:x"))),
            json!({ "input": "AAE=", "signature": "vault:v1:x", "signature_algorithm": "pss", "salt_length": "hash" })
        );
        let p256 = transit(KeySpec::EccNistP256, None, Op::Sign).unwrap();
        assert_eq!(json_of(&p256.signing_body("AAE=", None)), json!({ "input": "AAE=" }));
        let hmac = transit(KeySpec::Hmac256, None, Op::GenerateMac).unwrap();
        assert_eq!(hmac.path("hmac", "k"), "/v1/transit/hmac/k/sha2-256");
        let ed25519 = transit(KeySpec::EccNistEdwards25519, None, Op::Verify).unwrap();
        assert_eq!(ed25519.path("verify", "k"), "/v1/transit/verify/k");
    }
}
