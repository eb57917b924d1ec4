//! What the load generator sends: one operation, prepared once (the key it uses, the blob it
//! decrypts) and then issued over and over by every worker. Requests are plain JSON bodies of
//! the AWS KMS protocol, so the bench measures any AWS-KMS-compatible server.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use clap::ValueEnum;
use serde::de::IgnoredAny;
use serde_json::{json, Value};
use trent_client::{ClientError, TrentClient};

/// Description given to keys the bench creates, so they can be found and cleaned up.
const BENCH_KEY_DESCRIPTION: &str = "created by trent-bench";

/// The operation under load, as named on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Op {
    /// `CreateKey` of a symmetric key: a replicated write.
    CreateKey,
    /// `DescribeKey` of one key: a linearizable management read.
    DescribeKey,
    /// `Encrypt` of `--plaintext-bytes` bytes under one key.
    Encrypt,
    /// `Decrypt` of a blob made by one `Encrypt` of `--plaintext-bytes` bytes.
    Decrypt,
    /// `GenerateDataKey` (AES_256) under one key.
    GenerateDataKey,
    /// `ReEncrypt` of one blob to the same key.
    ReEncrypt,
    /// `GenerateRandom` of 32 bytes: no key, no state.
    GenerateRandom,
}

impl Op {
    /// The operation's name on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Op::CreateKey => "create-key",
            Op::DescribeKey => "describe-key",
            Op::Encrypt => "encrypt",
            Op::Decrypt => "decrypt",
            Op::GenerateDataKey => "generate-data-key",
            Op::ReEncrypt => "re-encrypt",
            Op::GenerateRandom => "generate-random",
        }
    }

    /// The AWS operation name (`X-Amz-Target: TrentService.<target>`).
    pub fn target(self) -> &'static str {
        match self {
            Op::CreateKey => "CreateKey",
            Op::DescribeKey => "DescribeKey",
            Op::Encrypt => "Encrypt",
            Op::Decrypt => "Decrypt",
            Op::GenerateDataKey => "GenerateDataKey",
            Op::ReEncrypt => "ReEncrypt",
            Op::GenerateRandom => "GenerateRandom",
        }
    }
}

/// A prepared operation: the request every call sends.
#[derive(Debug, Clone)]
pub struct Workload {
    /// The AWS operation name.
    pub target: &'static str,
    /// The JSON body.
    pub body: Value,
}

impl Workload {
    /// Prepares `op`, using `setup` (a client that may retry) for anything that must exist first:
    /// the key (`key_id`, else one created here) and, for Decrypt and ReEncrypt, a blob.
    pub async fn prepare(
        op: Op,
        setup: &TrentClient,
        key_id: Option<String>,
        plaintext_bytes: usize,
    ) -> anyhow::Result<Workload> {
        let encrypt = |key_id: &str| json!({ "KeyId": key_id, "Plaintext": STANDARD.encode(vec![0x5a; plaintext_bytes]) });
        let body = match op {
            Op::CreateKey => bench_key_request(),
            Op::GenerateRandom => json!({ "NumberOfBytes": 32 }),
            Op::DescribeKey => json!({ "KeyId": bench_key(setup, key_id).await? }),
            Op::Encrypt => encrypt(&bench_key(setup, key_id).await?),
            Op::GenerateDataKey => json!({ "KeyId": bench_key(setup, key_id).await?, "KeySpec": "AES_256" }),
            Op::Decrypt => {
                let key_id = bench_key(setup, key_id).await?;
                json!({ "CiphertextBlob": encrypt_once(setup, &encrypt(&key_id)).await? })
            }
            Op::ReEncrypt => {
                let key_id = bench_key(setup, key_id).await?;
                let blob = encrypt_once(setup, &encrypt(&key_id)).await?;
                json!({ "CiphertextBlob": blob, "DestinationKeyId": key_id })
            }
        };
        Ok(Workload { target: op.target(), body })
    }

    /// Sends one call. The answer is checked to be JSON but not decoded into types, so the bench
    /// measures the server, not the client's decoding.
    pub async fn issue(&self, client: &TrentClient) -> Result<(), ClientError> {
        client.call::<_, IgnoredAny>(self.target, &self.body).await?;
        Ok(())
    }
}

/// `key_id` if given, else a key created for the run.
async fn bench_key(setup: &TrentClient, key_id: Option<String>) -> anyhow::Result<String> {
    match key_id {
        Some(key_id) => Ok(key_id),
        None => create_bench_key(setup).await,
    }
}

fn bench_key_request() -> Value {
    json!({ "Description": BENCH_KEY_DESCRIPTION })
}

/// Creates a key and returns its id, reading only `KeyMetadata.KeyId` from the answer.
async fn create_bench_key(setup: &TrentClient) -> anyhow::Result<String> {
    let created: Value = setup.call("CreateKey", &bench_key_request()).await?;
    let key_id = created
        .pointer("/KeyMetadata/KeyId")
        .and_then(Value::as_str)
        .ok_or_else(|| anyhow::anyhow!("CreateKey answer has no KeyMetadata.KeyId: {created}"))?;
    Ok(key_id.to_owned())
}

/// Encrypts once and returns the blob as the base64 text the protocol carries.
async fn encrypt_once(setup: &TrentClient, request: &Value) -> anyhow::Result<String> {
    let encrypted: Value = setup.call("Encrypt", request).await?;
    let blob = encrypted
        .get("CiphertextBlob")
        .and_then(Value::as_str)
        .ok_or_else(|| anyhow::anyhow!("Encrypt answer has no CiphertextBlob"))?;
    Ok(blob.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn op_names_match_the_command_line() {
        for op in Op::value_variants() {
            let parsed = Op::from_str(op.name(), false).unwrap();
            assert_eq!(parsed, *op);
        }
    }
}
