//! Vault's transit HTTP API (OpenBao, HashiCorp Vault): `transit/encrypt/<key>` and friends with
//! an `X-Vault-Token`. Mounts the engine and makes the keys (`trent-bench-<i>`) before the run.

use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use bytes::Bytes;
use hyper::Method;
use serde_json::{json, Value};

use super::http::RawHttp;
use crate::workload::{scramble, Op};

/// How long preparation waits for a fresh cluster to mount transit and take keys.
const PREPARE_PATIENCE: Duration = Duration::from_secs(20);

/// Most transit keys a run makes.
pub const MAX_TRANSIT_KEYS: usize = 10_000;

/// What the transit target sends.
pub struct TransitTarget {
    http: RawHttp,
    token: String,
    keys: Vec<String>,
    ciphertexts: Vec<String>,
    plaintext_body: Bytes,
    run_id: String,
}

impl TransitTarget {
    /// Mounts transit (if it is not), makes `key_count` keys and, if `ops` need them, one
    /// ciphertext per key.
    pub async fn prepare(
        endpoints: &[String],
        token: String,
        ops: &[Op],
        key_count: usize,
        plaintext_bytes: usize,
        timeout: Duration,
    ) -> anyhow::Result<TransitTarget> {
        anyhow::ensure!(
            (1..=MAX_TRANSIT_KEYS).contains(&key_count),
            "transit: --keys must be 1 to {MAX_TRANSIT_KEYS}"
        );
        let http = RawHttp::new(endpoints, timeout)?;
        let plaintext = STANDARD.encode(vec![0x5a; plaintext_bytes]);
        let plaintext_body = Bytes::from(serde_json::to_vec(&json!({ "plaintext": plaintext }))?);
        let run_id = format!("{:08x}", crate::workload::scramble(std::process::id().into()) as u32);
        let mut target =
            TransitTarget { http, token, keys: Vec::new(), ciphertexts: Vec::new(), plaintext_body, run_id };
        // A standby that has just joined may not serve (or forward) yet, and a new mount takes a
        // moment to reach every node: mount, then make the first key, retrying for a while. A
        // mount answered 400 "path is already in use" is fine.
        let mount = Bytes::from(json!({ "type": "transit" }).to_string());
        let deadline = std::time::Instant::now() + PREPARE_PATIENCE;
        let mut first_error = String::new();
        for index in 0..key_count {
            let name = format!("trent-bench-{index}");
            let path = format!("/v1/transit/keys/{name}");
            loop {
                if index == 0 {
                    let _ = target.send(Method::POST, "/v1/sys/mounts/transit", mount.clone()).await;
                }
                match target.send(Method::POST, &path, Bytes::from_static(b"{}")).await {
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
                let answer = target
                    .send(Method::POST, &format!("/v1/transit/encrypt/{name}"), target.plaintext_body.clone())
                    .await
                    .map_err(|error| anyhow::anyhow!("transit encrypt: {error}"))?;
                let answer: Value = serde_json::from_slice(&answer)?;
                let ciphertext = answer
                    .pointer("/data/ciphertext")
                    .and_then(Value::as_str)
                    .ok_or_else(|| anyhow::anyhow!("transit encrypt answer has no data.ciphertext"))?;
                target.ciphertexts.push(ciphertext.to_owned());
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
                self.send(Method::POST, &path, Bytes::from_static(b"{}")).await
            }
            Op::GenerateRandom => {
                self.send(Method::POST, "/v1/sys/tools/random/32", Bytes::from_static(b"{}")).await
            }
            // Transit keys here are aes256-gcm96; their sign and hmac counterparts are not loaded.
            Op::Sign | Op::Verify | Op::GenerateMac | Op::DeriveSharedSecret | Op::Encapsulate => {
                Err(format!("transit has no {}", op.name()))
            }
        };
        answer.map(|_| ())
    }
}
