//! The AWS KMS JSON protocol with SigV4, through trent-client: Trent, AWS KMS itself, or any
//! compatible server (moto). Before the run it makes the key set (1 to 1,000,000 keys, or reuses
//! the ids in a keys file) and, for Decrypt and ReEncrypt, one ciphertext per key.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::de::IgnoredAny;
use serde::Serialize;
use serde_json::Value;
use trent_client::TrentClient;

use crate::workload::{scramble, Op};

/// Description given to keys the bench creates, so they can be found and cleaned up.
const BENCH_KEY_DESCRIPTION: &str = "created by trent-bench";
/// Most keys a run spreads over.
pub const MAX_KEYS: usize = 1_000_000;
/// Most ciphertexts made before a run: Decrypt and ReEncrypt with more keys reuse these.
const MAX_CIPHERTEXTS: usize = 100_000;
/// Calls in flight while making keys and ciphertexts.
const SETUP_CONCURRENCY: usize = 32;
/// How long a key just made may stay unknown to the node asked to encrypt under it.
const VISIBILITY_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// What the KMS target sends.
pub struct KmsTarget {
    client: TrentClient,
    keys: Vec<String>,
    ciphertexts: Vec<String>,
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
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct CreateKeyBody {
    description: &'static str,
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

impl KmsTarget {
    /// Prepares `ops` over `key_count` keys (read from and appended to `keys_file` when given),
    /// with `setup` (a client that retries) doing the preparation.
    pub async fn prepare(
        client: TrentClient,
        setup: &TrentClient,
        ops: &[Op],
        key_count: usize,
        keys_file: Option<&Path>,
        plaintext_bytes: usize,
    ) -> anyhow::Result<KmsTarget> {
        let plaintext = STANDARD.encode(vec![0x5a; plaintext_bytes]);
        let needs_keys = ops.iter().any(|op| !matches!(op, Op::CreateKey | Op::GenerateRandom));
        let keys = if needs_keys { key_set(setup, key_count, keys_file).await? } else { Vec::new() };
        let ciphertexts = if ops.iter().any(|op| op.needs_ciphertexts()) {
            let count = keys.len().min(MAX_CIPHERTEXTS);
            let made = run_setup(count, |index| {
                let (setup, key_id, plaintext) = (setup.clone(), keys[index].clone(), plaintext.clone());
                async move {
                    let answer = encrypt_once_visible(&setup, &key_id, &plaintext).await?;
                    answer
                        .get("CiphertextBlob")
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                        .context("Encrypt answer has no CiphertextBlob")
                }
            })
            .await?;
            made
        } else {
            Vec::new()
        };
        Ok(KmsTarget { client, keys, ciphertexts, plaintext })
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
    fn request(&self, op: Op, pick: usize) -> Request<'_> {
        let key = self.keys.get(pick % self.keys.len().max(1)).map_or("", String::as_str);
        let blob_index = pick % self.ciphertexts.len().max(1);
        let ciphertext = self.ciphertexts.get(blob_index).map_or("", String::as_str);
        match op {
            Op::CreateKey => Request::CreateKey(CreateKeyBody { description: BENCH_KEY_DESCRIPTION }),
            Op::GenerateRandom => Request::Random(RandomBody { number_of_bytes: 32 }),
            Op::DescribeKey => Request::Key(KeyBody { key_id: key }),
            Op::Encrypt => Request::Encrypt(EncryptBody { key_id: key, plaintext: &self.plaintext }),
            Op::GenerateDataKey => Request::DataKey(DataKeyBody { key_id: key, key_spec: "AES_256" }),
            Op::Decrypt => Request::Decrypt(DecryptBody { ciphertext_blob: ciphertext }),
            Op::ReEncrypt => Request::ReEncrypt(ReEncryptBody {
                ciphertext_blob: ciphertext,
                destination_key_id: self.keys.get(blob_index).map_or("", String::as_str),
            }),
        }
    }
}

/// `key_count` key ids: those in `keys_file` first (one per line), then new ones, appended to it.
async fn key_set(
    setup: &TrentClient,
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
        // A keys file from another cluster would make every call NotFound: check one.
        setup
            .call::<_, IgnoredAny>("DescribeKey", &KeyBody { key_id: first })
            .await
            .with_context(|| format!("key {first} from the keys file is not usable on this target"))?;
    }
    let missing = key_count - keys.len();
    if missing > 0 {
        let made = run_setup(missing, |_| {
            let setup = setup.clone();
            async move {
                let created: Value =
                    setup.call("CreateKey", &CreateKeyBody { description: BENCH_KEY_DESCRIPTION }).await?;
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

/// Encrypt under a key just made. A node serves Encrypt from its own state, so a node that has not
/// yet applied the CreateKey the leader acknowledged answers NotFoundException for a moment: such
/// an answer is retried for up to [`VISIBILITY_WAIT`].
async fn encrypt_once_visible(setup: &TrentClient, key_id: &str, plaintext: &str) -> anyhow::Result<Value> {
    let deadline = std::time::Instant::now() + VISIBILITY_WAIT;
    loop {
        match setup.call("Encrypt", &EncryptBody { key_id, plaintext }).await {
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
