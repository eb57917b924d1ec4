//! The AWS KMS JSON protocol with SigV4, through trent-client: Trent, AWS KMS itself, or any
//! compatible server (moto). Before the run it makes the key set (1 to 1,000,000 keys of one
//! [`KeyKind`], or reuses the ids in a keys file), and what the operations send back: for Decrypt
//! and ReEncrypt one ciphertext per key, for Verify one signature per key, for DeriveSharedSecret
//! one peer public key.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::de::IgnoredAny;
use serde::Serialize;
use serde_json::Value;
use trent_client::TrentClient;

use super::KeyKind;
use crate::workload::{scramble, Op};

/// Description given to keys the bench creates, so they can be found and cleaned up.
const BENCH_KEY_DESCRIPTION: &str = "created by trent-bench";
/// Most keys a run spreads over.
pub const MAX_KEYS: usize = 1_000_000;
/// Most ciphertexts (and signatures) made before a run: Decrypt, ReEncrypt and Verify with more
/// keys reuse these.
const MAX_CIPHERTEXTS: usize = 100_000;
/// Calls in flight while making keys and ciphertexts.
const SETUP_CONCURRENCY: usize = 32;
/// How long a key just made may stay unknown to the node asked to encrypt under it.
const VISIBILITY_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// What the KMS target sends.
pub struct KmsTarget {
    client: TrentClient,
    kind: KeyKind,
    keys: Vec<String>,
    ciphertexts: Vec<String>,
    /// Signature `i` is of `plaintext` by key `i`.
    signatures: Vec<String>,
    /// Base64 DER SPKI on the keys' curve, for DeriveSharedSecret.
    peer_public_key: String,
    plaintext: String,
}

/// One call's JSON body, borrowing the key set's strings.
#[derive(Serialize)]
#[serde(untagged)]
enum Request<'a> {
    CreateKey(CreateKeyBody),
    Random(RandomBody),
    Key(KeyBody<'a>),
    Encrypt(EncryptBody<'a>),
    DataKey(DataKeyBody<'a>),
    Decrypt(DecryptBody<'a>),
    ReEncrypt(ReEncryptBody<'a>),
    Sign(SignBody<'a>),
    Verify(VerifyBody<'a>),
    Mac(MacBody<'a>),
    Derive(DeriveBody<'a>),
    Encapsulate(EncapsulateBody<'a>),
    Rotations(RotationsBody<'a>),
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct CreateKeyBody {
    description: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    key_spec: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    key_usage: Option<&'static str>,
}

impl CreateKeyBody {
    /// A key of `kind`; the default kind names neither spec nor usage, as AWS clients do.
    fn of(kind: KeyKind) -> CreateKeyBody {
        let named = !kind.is_default();
        CreateKeyBody {
            description: BENCH_KEY_DESCRIPTION,
            key_spec: named.then(|| kind.spec().as_str()),
            key_usage: named.then(|| kind.usage().as_str()),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct RandomBody {
    number_of_bytes: u32,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct EncryptBody<'a> {
    key_id: &'a str,
    plaintext: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct KeyBody<'a> {
    key_id: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct RotationsBody<'a> {
    key_id: &'a str,
    limit: u32,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct DataKeyBody<'a> {
    key_id: &'a str,
    key_spec: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct DecryptBody<'a> {
    ciphertext_blob: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ReEncryptBody<'a> {
    ciphertext_blob: &'a str,
    destination_key_id: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct SignBody<'a> {
    key_id: &'a str,
    message: &'a str,
    message_type: &'static str,
    signing_algorithm: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct VerifyBody<'a> {
    key_id: &'a str,
    message: &'a str,
    message_type: &'static str,
    signature: &'a str,
    signing_algorithm: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct MacBody<'a> {
    key_id: &'a str,
    message: &'a str,
    mac_algorithm: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct DeriveBody<'a> {
    key_id: &'a str,
    key_agreement_algorithm: &'static str,
    public_key: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct EncapsulateBody<'a> {
    key_id: &'a str,
    encapsulation_algorithm: &'static str,
}

impl KmsTarget {
    /// Prepares `ops` over `key_count` keys of `kind` (read from and appended to `keys_file`
    /// when given), with `setup` (a client that retries) doing the preparation.
    pub async fn prepare(
        client: TrentClient,
        setup: &TrentClient,
        ops: &[Op],
        kind: KeyKind,
        key_count: usize,
        keys_file: Option<&Path>,
        plaintext_bytes: usize,
    ) -> anyhow::Result<KmsTarget> {
        let plaintext = STANDARD.encode(vec![0x5a; plaintext_bytes]);
        let needs_keys = ops.iter().any(|op| !matches!(op, Op::CreateKey | Op::GenerateRandom));
        let mut target = KmsTarget {
            client,
            kind,
            keys: if needs_keys { key_set(setup, kind, key_count, keys_file).await? } else { Vec::new() },
            ciphertexts: Vec::new(),
            signatures: Vec::new(),
            peer_public_key: String::new(),
            plaintext,
        };
        let per_key = target.keys.len().min(MAX_CIPHERTEXTS);
        if ops.iter().any(|op| op.needs_ciphertexts()) {
            target.ciphertexts = target.made_per_key(setup, per_key, Op::Encrypt, "CiphertextBlob").await?;
        }
        if ops.iter().any(|op| op.needs_signatures()) {
            target.signatures = target.made_per_key(setup, per_key, Op::Sign, "Signature").await?;
        }
        if ops.contains(&Op::DeriveSharedSecret) {
            target.peer_public_key = STANDARD.encode(kind.peer_public_key()?);
        }
        Ok(target)
    }

    /// Field `field` of the answer to one `op` on each of the first `count` keys, in key order.
    async fn made_per_key(
        &self,
        setup: &TrentClient,
        count: usize,
        op: Op,
        field: &'static str,
    ) -> anyhow::Result<Vec<String>> {
        let bodies = (0..count)
            .map(|index| serde_json::to_value(self.request(op, index)))
            .collect::<Result<Vec<_>, _>>()?;
        run_setup(count, |index| {
            let (setup, body) = (setup.clone(), bodies[index].clone());
            async move {
                let answer = call_once_visible(&setup, op.target(), &body).await?;
                answer
                    .get(field)
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .with_context(|| format!("{} answer has no {field}", op.target()))
            }
        })
        .await
    }

    /// Decrypts the blobs in `path` (base64, one per line; at most 100,000) instead
    /// of those made per key.
    pub fn use_ciphertexts_file(&mut self, path: &Path) -> anyhow::Result<()> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let blobs: Vec<String> = text
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty())
            .take(MAX_CIPHERTEXTS)
            .map(str::to_owned)
            .collect();
        anyhow::ensure!(!blobs.is_empty(), "{} holds no ciphertexts", path.display());
        self.ciphertexts = blobs;
        Ok(())
    }

    /// How many keys the calls spread over.
    pub fn key_count(&self) -> usize {
        self.keys.len()
    }

    /// Sends call number `sequence`, an `op` on the key it draws. The answer is checked to be
    /// JSON but not decoded into types, so the bench measures the server, not the decoding.
    pub async fn call(&self, op: Op, sequence: u64) -> Result<(), String> {
        self.call_via(&self.client, op, sequence).await
    }

    /// [`call`](Self::call) through `client` instead of the target's own (another node, another
    /// connection pool), on the same key set.
    pub async fn call_via(&self, client: &TrentClient, op: Op, sequence: u64) -> Result<(), String> {
        let pick = scramble(sequence.rotate_left(17)) as usize;
        client
            .call::<_, IgnoredAny>(op.target(), &self.request(op, pick))
            .await
            .map(|_| ())
            .map_err(|error| error.error_type().to_owned())
    }

    /// The request a single-operation run sends first (for `--wrk-script`).
    pub fn sample_request(&self, op: Op) -> anyhow::Result<Value> {
        Ok(serde_json::to_value(self.request(op, 0))?)
    }

    /// The body of `op` on the key (and ciphertext) that `pick` draws. Ciphertext `i` was made
    /// under key `i`, so ReEncrypt sends a blob back to the key that made it.
    ///
    /// Signature `i` too was made by key `i`, so Verify sends it to that key. An algorithm the
    /// keys lack is sent empty (the server refuses it); [`KeyKind::for_ops`] keeps that from
    /// happening in a run.
    fn request(&self, op: Op, pick: usize) -> Request<'_> {
        let key = self.keys.get(pick % self.keys.len().max(1)).map_or("", String::as_str);
        let blob_index = pick % self.ciphertexts.len().max(1);
        let ciphertext = self.ciphertexts.get(blob_index).map_or("", String::as_str);
        let signature_index = pick % self.signatures.len().max(1);
        let signing_algorithm = self.kind.signing_algorithm().map_or("", |algorithm| algorithm.as_str());
        match op {
            Op::CreateKey => Request::CreateKey(CreateKeyBody::of(self.kind)),
            Op::GenerateRandom => Request::Random(RandomBody { number_of_bytes: 32 }),
            Op::DescribeKey => Request::Key(KeyBody { key_id: key }),
            Op::ListKeyRotations => Request::Rotations(RotationsBody { key_id: key, limit: 1000 }),
            Op::Encrypt => Request::Encrypt(EncryptBody { key_id: key, plaintext: &self.plaintext }),
            Op::GenerateDataKey => Request::DataKey(DataKeyBody { key_id: key, key_spec: "AES_256" }),
            Op::Decrypt => Request::Decrypt(DecryptBody { ciphertext_blob: ciphertext }),
            Op::ReEncrypt => Request::ReEncrypt(ReEncryptBody {
                ciphertext_blob: ciphertext,
                destination_key_id: self.keys.get(blob_index).map_or("", String::as_str),
            }),
            Op::Sign => Request::Sign(SignBody {
                key_id: key,
                message: &self.plaintext,
                message_type: "RAW",
                signing_algorithm,
            }),
            Op::Verify => Request::Verify(VerifyBody {
                key_id: self.keys.get(signature_index).map_or("", String::as_str),
                message: &self.plaintext,
                message_type: "RAW",
                signature: self.signatures.get(signature_index).map_or("", String::as_str),
                signing_algorithm,
            }),
            Op::GenerateMac => Request::Mac(MacBody {
                key_id: key,
                message: &self.plaintext,
                mac_algorithm: self.kind.mac_algorithm().map_or("", |algorithm| algorithm.as_str()),
            }),
            Op::DeriveSharedSecret => Request::Derive(DeriveBody {
                key_id: key,
                key_agreement_algorithm: self
                    .kind
                    .agreement_algorithm()
                    .map_or("", |algorithm| algorithm.as_str()),
                public_key: &self.peer_public_key,
            }),
            Op::Encapsulate => Request::Encapsulate(EncapsulateBody {
                key_id: key,
                encapsulation_algorithm: self
                    .kind
                    .encapsulation_algorithm()
                    .map_or("", |algorithm| algorithm.as_str()),
            }),
        }
    }
}

/// `key_count` key ids of `kind`: those in `keys_file` first (one per line), then new ones,
/// appended to it.
async fn key_set(
    setup: &TrentClient,
    kind: KeyKind,
    key_count: usize,
    keys_file: Option<&Path>,
) -> anyhow::Result<Vec<String>> {
    anyhow::ensure!((1..=MAX_KEYS).contains(&key_count), "--keys must be 1 to {MAX_KEYS}");
    let mut keys: Vec<String> = match keys_file {
        Some(path) if path.exists() => std::fs::read_to_string(path)
            .with_context(|| format!("reading {}", path.display()))?
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty())
            .take(key_count)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    };
    if let Some(first) = keys.first() {
        // A keys file from another cluster would make every call NotFound, and one of keys of
        // another kind every call a failure: check one.
        let described: Value = setup
            .call("DescribeKey", &KeyBody { key_id: first })
            .await
            .with_context(|| format!("key {first} from the keys file is not usable on this target"))?;
        let field = |name: &str| described.pointer(&format!("/KeyMetadata/{name}")).and_then(Value::as_str);
        // A server that leaves the fields out (an old moto) is given the benefit of the doubt.
        let spec =
            field("KeySpec").or_else(|| field("CustomerMasterKeySpec")).unwrap_or(kind.spec().as_str());
        let usage = field("KeyUsage").unwrap_or(kind.usage().as_str());
        anyhow::ensure!(
            (spec, usage) == (kind.spec().as_str(), kind.usage().as_str()),
            "key {first} from the keys file is {spec} {usage}, not {} {}",
            kind.spec(),
            kind.usage()
        );
    }
    let missing = key_count - keys.len();
    if missing > 0 {
        let made = run_setup(missing, |_| {
            let setup = setup.clone();
            async move {
                let created: Value = setup.call("CreateKey", &CreateKeyBody::of(kind)).await?;
                created
                    .pointer("/KeyMetadata/KeyId")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .context("CreateKey answer has no KeyMetadata.KeyId")
            }
        })
        .await?;
        if let Some(path) = keys_file {
            use std::io::Write;
            let ends_in_newline =
                std::fs::read(path).map_or(true, |bytes| bytes.is_empty() || bytes.ends_with(b"\n"));
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .with_context(|| format!("opening {}", path.display()))?;
            if !ends_in_newline {
                writeln!(file)?;
            }
            for key in &made {
                writeln!(file, "{key}")?;
            }
        }
        keys.extend(made);
    }
    Ok(keys)
}

/// `operation` (Encrypt, Sign) with `body` under a key just made. A node serves these from its own
/// state, so a node that has not yet applied the CreateKey the leader acknowledged answers
/// NotFoundException for a moment: such an answer is retried for up to [`VISIBILITY_WAIT`].
async fn call_once_visible(setup: &TrentClient, operation: &str, body: &Value) -> anyhow::Result<Value> {
    let deadline = std::time::Instant::now() + VISIBILITY_WAIT;
    loop {
        match setup.call(operation, body).await {
            Err(error)
                if error.error_type() == "NotFoundException" && std::time::Instant::now() < deadline =>
            {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            answer => return Ok(answer?),
        }
    }
}

/// Runs `count` setup calls, `SETUP_CONCURRENCY` at a time; their results in order.
async fn run_setup<F, Fut>(count: usize, call: F) -> anyhow::Result<Vec<String>>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<String>> + Send + 'static,
{
    let call = Arc::new(call);
    let mut results = vec![String::new(); count];
    let mut tasks = tokio::task::JoinSet::new();
    let mut next = 0;
    while next < count || !tasks.is_empty() {
        while next < count && tasks.len() < SETUP_CONCURRENCY {
            let index = next;
            let future = call(index);
            tasks.spawn(async move { (index, future.await) });
            next += 1;
        }
        if let Some(joined) = tasks.join_next().await {
            let (index, result) = joined?;
            results[index] = result?;
        }
    }
    Ok(results)
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use trent_wire::model::KeySpec;

    use super::*;

    #[test]
    fn create_key_names_the_spec_and_usage_only_of_keys_that_are_not_the_default() {
        let plain = serde_json::to_value(CreateKeyBody::of(KeyKind::default())).unwrap();
        assert_eq!(plain, json!({ "Description": BENCH_KEY_DESCRIPTION }));
        let ecdh = KeyKind::for_ops(KeySpec::EccNistP256, None, &[Op::DeriveSharedSecret]).unwrap();
        let named = serde_json::to_value(CreateKeyBody::of(ecdh)).unwrap();
        assert_eq!(
            named,
            json!({ "Description": BENCH_KEY_DESCRIPTION, "KeySpec": "ECC_NIST_P256", "KeyUsage": "KEY_AGREEMENT" })
        );
    }
}
