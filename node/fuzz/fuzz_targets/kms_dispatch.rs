//! Fuzzes the KMS request dispatcher, `trent_node::kms::dispatch`, against a real node.
//!
//! Each fuzz process starts ONE single-node cluster in-process on first use (a multi-thread
//! tokio runtime kept alive in a `OnceLock`, data in `/tmp/trent-fuzz-kms-<pid>`), initialises
//! and unseals it the way `trentd dev` does, and seeds it with four keys, three aliases, two
//! tags and a few ciphertext blobs. Every input is then one KMS call on that node.
//!
//! Input layout: the first byte picks the target by its value modulo 32:
//!
//! | byte % 32 | target                                                  | readable as |
//! |-----------|---------------------------------------------------------|-------------|
//! | 0..=20    | `TrentService.<OPERATIONS[i]>`                          | `@`, `A`..`T` |
//! | 21        | no `X-Amz-Target` at all                                | `U`         |
//! | 22..=26   | `TrentService.` + the text up to the first `\n`         | `V`..`Z`    |
//! | 27..=31   | the text up to the first `\n`, as it is                 | `[`..`_`    |
//!
//! and the rest (after the newline in the last two cases) is the request body. Before the call,
//! placeholders in the body are replaced with what only this process knows (key ids are random
//! per run, so the seed corpus cannot spell them out): `$K0`..`$K3` key ids, `$A0`..`$A3` key
//! ARNs, `$C0`..`$C2` valid ciphertext blobs (base64), `$F0` a blob with a valid header for key
//! 0 but a forged body, `$V0` one naming a material version key 0 does not have.
//!
//! The seeded state is restored after any input that changed it, so the deep paths stay
//! reachable: `$K0`, `$K1` enabled, `$K2` disabled, `$K3` pending deletion;
//! `alias/fuzz-0` -> `$K0`, `alias/fuzz-1` -> `$K1`, `alias/fuzz-disabled` -> `$K2`.
//! CreateKey and CreateAlias are skipped once the node holds `MAX_KEYS` keys or `MAX_ALIASES`
//! aliases, so the data directory stays small.
//!
//! What counts as a bug: any panic or abort (in the call or in any node task: libfuzzer-sys
//! aborts on every panic), a successful reply that is not a JSON object, or an
//! `ErrorCode::Internal` reply (set `TRENT_FUZZ_ALLOW_INTERNAL=1` to tolerate those).

#![no_main]

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use libfuzzer_sys::fuzz_target;
use tokio::runtime::Runtime;
use trent_node::config::{ArnScope, NodeConfig, RaftTiming};
use trent_node::kms::ciphertext::HEADER_BYTES;
use trent_node::kms::{dispatch, Call};
use trent_node::server::RunningNode;
use trent_storage::{KeyId, KeyLifecycle, RequestId};
use trent_wire::kms::TARGET_PREFIX;
use trent_wire::{ErrorCode, KmsError};

/// The operations `dispatch` knows, in the order the first input byte selects them.
const OPERATIONS: [&str; 21] = [
    "CreateKey",
    "DescribeKey",
    "ListKeys",
    "EnableKey",
    "DisableKey",
    "UpdateKeyDescription",
    "ScheduleKeyDeletion",
    "CancelKeyDeletion",
    "CreateAlias",
    "UpdateAlias",
    "DeleteAlias",
    "ListAliases",
    "TagResource",
    "UntagResource",
    "ListResourceTags",
    "Encrypt",
    "Decrypt",
    "ReEncrypt",
    "GenerateDataKey",
    "GenerateDataKeyWithoutPlaintext",
    "GenerateRandom",
];

/// Operations that change replicated state (the seeded state is checked after them).
const WRITES: [&str; 11] = [
    "CreateKey",
    "EnableKey",
    "DisableKey",
    "UpdateKeyDescription",
    "ScheduleKeyDeletion",
    "CancelKeyDeletion",
    "CreateAlias",
    "UpdateAlias",
    "DeleteAlias",
    "TagResource",
    "UntagResource",
];

/// CreateKey is skipped once the node holds this many keys.
const MAX_KEYS: usize = 400;
/// CreateAlias is skipped once the node holds this many aliases.
const MAX_ALIASES: usize = 400;

const SEED_ALIASES: [(&str, usize); 3] = [("alias/fuzz-0", 0), ("alias/fuzz-1", 1), ("alias/fuzz-disabled", 2)];

struct Fixture {
    runtime: Runtime,
    running: RunningNode,
    keys: [KeyId; 4],
    /// Placeholder -> its text, longest placeholders first.
    substitutions: Vec<(Vec<u8>, Vec<u8>)>,
    strict: bool,
    stats: Mutex<Stats>,
}

#[derive(Default)]
struct Stats {
    calls: u64,
    ok: u64,
    skipped: u64,
    restores: u64,
    errors: BTreeMap<&'static str, u64>,
    ok_by_operation: BTreeMap<String, u64>,
}

static FIXTURE: OnceLock<Fixture> = OnceLock::new();
static NEXT_REPORT: AtomicU64 = AtomicU64::new(1024);

fn fixture() -> &'static Fixture {
    FIXTURE.get_or_init(|| {
        if let Ok(filter) = std::env::var("TRENT_FUZZ_LOG") {
            let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .thread_name("trent-fuzz-node")
            .build()
            .expect("tokio runtime");
        let (running, keys, substitutions) = runtime.block_on(start_node());
        let strict = std::env::var_os("TRENT_FUZZ_ALLOW_INTERNAL").is_none();
        Fixture { runtime, running, keys, substitutions, strict, stats: Mutex::new(Stats::default()) }
    })
}

/// A data directory for this process; directories of fuzz processes that are gone are removed.
fn data_dir() -> PathBuf {
    const PREFIX: &str = "trent-fuzz-kms-";
    let tmp = std::env::temp_dir();
    if let Ok(entries) = std::fs::read_dir(&tmp) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(pid) = name.strip_prefix(PREFIX).and_then(|pid| pid.parse::<u32>().ok()) {
                if !PathBuf::from(format!("/proc/{pid}")).exists() {
                    let _ = std::fs::remove_dir_all(entry.path());
                }
            }
        }
    }
    let dir = tmp.join(format!("{PREFIX}{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the fuzz data directory");
    dir
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port").local_addr().expect("local addr").port()
}

async fn start_node() -> (RunningNode, [KeyId; 4], Vec<(Vec<u8>, Vec<u8>)>) {
    let config = NodeConfig {
        node_id: 1,
        api_addr: format!("127.0.0.1:{}", free_port()),
        peer_addr: format!("127.0.0.1:{}", free_port()),
        advertise_api_addr: None,
        advertise_peer_addr: None,
        data_dir: data_dir().join("node-1"),
        peers: Vec::new(),
        bootstrap: true,
        arn: ArnScope::default(),
        raft: RaftTiming::default(),
        sled_cache_mib: 8,
        clock_offset_ms: 0,
        tls: None,
        insecure_plaintext: true,
    };
    let running = trent_node::server::start(config).await.expect("start the node");
    running
        .node
        .raft
        .wait(Some(Duration::from_secs(20)))
        .metrics(|metrics| metrics.current_leader == Some(1), "leader")
        .await
        .expect("the single node becomes leader");
    let node = &running.node;
    let answer = trent_node::seal::init::initialize(node, 1, 1, None).await.expect("initialise");
    let keyring = node.registry.read().keyring().cloned();
    node.seal.submit_share(&answer.shares[0], keyring.as_ref()).expect("unseal");
    assert!(!node.seal.status().sealed, "the node is still sealed");

    let call = |target: &'static str, body: String| {
        let running = &running;
        async move {
            let call = Call { node: &running.node, request_id: RequestId(uuid::Uuid::new_v4()) };
            let target = format!("{TARGET_PREFIX}{target}");
            match dispatch(&call, Some(&target), body.as_bytes()).await {
                Ok(reply) => serde_json::from_slice::<serde_json::Value>(&reply).expect("JSON reply"),
                Err(error) => panic!("seeding {target} {body} failed: {error:?}"),
            }
        }
    };

    let mut keys = Vec::new();
    for index in 0..4 {
        let reply = call("CreateKey", format!(r#"{{"Description":"fuzz seed key {index}"}}"#)).await;
        let id = reply["KeyMetadata"]["KeyId"].as_str().expect("KeyId").to_owned();
        keys.push(KeyId::parse(&id).expect("a key id"));
    }
    let keys: [KeyId; 4] = keys.try_into().unwrap();
    let blob = |reply: serde_json::Value| reply["CiphertextBlob"].as_str().expect("CiphertextBlob").to_owned();
    let c0 = blob(
        call(
            "Encrypt",
            format!(r#"{{"KeyId":"{}","Plaintext":"aGk=","EncryptionContext":{{"app":"fuzz"}}}}"#, keys[0]),
        )
        .await,
    );
    let c1 = blob(call("Encrypt", format!(r#"{{"KeyId":"{}","Plaintext":"aGVsbG8gZnV6eg=="}}"#, keys[1])).await);
    let c2 = blob(call("Encrypt", format!(r#"{{"KeyId":"{}","Plaintext":"aGk="}}"#, keys[2])).await);
    for (alias, key) in SEED_ALIASES {
        call("CreateAlias", format!(r#"{{"AliasName":"{alias}","TargetKeyId":"{}"}}"#, keys[key])).await;
    }
    call(
        "TagResource",
        format!(
            r#"{{"KeyId":"{}","Tags":[{{"TagKey":"team","TagValue":"fuzz"}},{{"TagKey":"env","TagValue":"test"}}]}}"#,
            keys[0]
        ),
    )
    .await;
    call("DisableKey", format!(r#"{{"KeyId":"{}"}}"#, keys[2])).await;
    call("ScheduleKeyDeletion", format!(r#"{{"KeyId":"{}","PendingWindowInDays":7}}"#, keys[3])).await;

    // A blob whose header names key 0 but whose nonce, ciphertext and tag are forged, and one
    // naming a material version key 0 does not have.
    let header = STANDARD.decode(&c0).expect("base64")[..HEADER_BYTES].to_vec();
    let mut forged = header.clone();
    forged.extend_from_slice(&[0u8; 12 + 4 + 16]);
    let mut other_version = STANDARD.decode(&c0).expect("base64");
    other_version[HEADER_BYTES - 1] ^= 0x40;

    let scope = ArnScope::default();
    let mut substitutions: Vec<(String, String)> = Vec::new();
    for (index, key) in keys.iter().enumerate() {
        substitutions.push((format!("$K{index}"), key.to_string()));
        substitutions.push((format!("$A{index}"), format!("{}key/{key}", scope.prefix())));
    }
    substitutions.push(("$C0".into(), c0));
    substitutions.push(("$C1".into(), c1));
    substitutions.push(("$C2".into(), c2));
    substitutions.push(("$F0".into(), STANDARD.encode(&forged)));
    substitutions.push(("$V0".into(), STANDARD.encode(&other_version)));
    if std::env::var_os("TRENT_FUZZ_VERBOSE").is_some() {
        for (placeholder, text) in &substitutions {
            eprintln!("kms_dispatch: {placeholder} = {text}");
        }
    }
    let substitutions = substitutions.into_iter().map(|(a, b)| (a.into_bytes(), b.into_bytes())).collect();
    (running, keys, substitutions)
}

/// The body with every placeholder replaced.
fn substitute(body: &[u8], substitutions: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 64);
    let mut rest = body;
    'outer: while let Some((&byte, tail)) = rest.split_first() {
        if byte == b'$' {
            for (placeholder, text) in substitutions {
                if rest.starts_with(placeholder) {
                    out.extend_from_slice(text);
                    rest = &rest[placeholder.len()..];
                    continue 'outer;
                }
            }
        }
        out.push(byte);
        rest = tail;
    }
    out
}

/// Splits an input into the target header and the body.
fn split(data: &[u8]) -> Option<(Option<String>, &[u8])> {
    let (&selector, rest) = data.split_first()?;
    let selector = usize::from(selector % 32);
    if selector < OPERATIONS.len() {
        return Some((Some(format!("{TARGET_PREFIX}{}", OPERATIONS[selector])), rest));
    }
    if selector == OPERATIONS.len() {
        return Some((None, rest));
    }
    let (name, body) = match rest.iter().position(|&byte| byte == b'\n') {
        Some(newline) => (&rest[..newline], &rest[newline + 1..]),
        None => (rest, &[][..]),
    };
    let name = String::from_utf8_lossy(name);
    let target = if selector <= 26 { format!("{TARGET_PREFIX}{name}") } else { name.into_owned() };
    Some((Some(target), body))
}

impl Fixture {
    fn run(&self, target: Option<&str>, body: &[u8]) -> Result<Vec<u8>, KmsError> {
        let call = Call { node: &self.running.node, request_id: RequestId(uuid::Uuid::new_v4()) };
        self.runtime.block_on(dispatch(&call, target, body))
    }

    fn must(&self, operation: &str, body: String) {
        let target = format!("{TARGET_PREFIX}{operation}");
        if let Err(error) = self.run(Some(&target), body.as_bytes()) {
            // Restoring can race the fuzzer's own writes only in the ways AWS allows (e.g.
            // the key is already in that state); anything else is worth seeing.
            if !matches!(error.code, ErrorCode::InvalidState | ErrorCode::AlreadyExists) {
                eprintln!("kms_dispatch: restoring with {operation} {body} failed: {error:?}");
            }
        }
    }

    /// Puts the seeded keys and aliases back the way the seeds expect them.
    fn restore(&self) -> bool {
        let (lifecycles, aliases) = {
            let registry = self.running.node.registry.read();
            let lifecycles: Vec<Option<KeyLifecycle>> =
                self.keys.iter().map(|key| registry.key(key).map(|record| record.lifecycle.clone())).collect();
            let aliases: Vec<Option<KeyId>> =
                SEED_ALIASES.iter().map(|(name, _)| registry.alias(name).map(|alias| alias.key_id)).collect();
            (lifecycles, aliases)
        };
        let mut restored = false;
        for (index, lifecycle) in lifecycles.iter().enumerate() {
            let key = self.keys[index];
            let body = format!(r#"{{"KeyId":"{key}"}}"#);
            let want_enabled = index < 2;
            match (index, lifecycle) {
                (_, None) => panic!("seeded key {key} disappeared"),
                (3, Some(KeyLifecycle::PendingDeletion { .. })) => {}
                (3, Some(_)) => {
                    self.must("ScheduleKeyDeletion", format!(r#"{{"KeyId":"{key}","PendingWindowInDays":7}}"#));
                    restored = true;
                }
                (2, Some(KeyLifecycle::Disabled)) => {}
                (_, Some(KeyLifecycle::Enabled)) if want_enabled => {}
                (_, Some(state)) => {
                    if matches!(state, KeyLifecycle::PendingDeletion { .. }) {
                        self.must("CancelKeyDeletion", body.clone());
                    }
                    self.must(if want_enabled { "EnableKey" } else { "DisableKey" }, body);
                    restored = true;
                }
            }
        }
        for ((name, key), current) in SEED_ALIASES.iter().zip(aliases) {
            let want = self.keys[*key];
            if current != Some(want) {
                let operation = if current.is_some() { "UpdateAlias" } else { "CreateAlias" };
                self.must(operation, format!(r#"{{"AliasName":"{name}","TargetKeyId":"{want}"}}"#));
                restored = true;
            }
        }
        restored
    }

    fn record(&self, operation: Option<&str>, result: &Result<Vec<u8>, KmsError>, skipped: bool, restored: bool) {
        let mut stats = self.stats.lock().unwrap();
        stats.calls += 1;
        stats.skipped += u64::from(skipped);
        stats.restores += u64::from(restored);
        match result {
            Ok(_) => {
                stats.ok += 1;
                *stats.ok_by_operation.entry(operation.unwrap_or("?").to_owned()).or_default() += 1;
            }
            Err(error) => *stats.errors.entry(error.code.as_str_debug()).or_default() += 1,
        }
        let next = NEXT_REPORT.load(Ordering::Relaxed);
        if stats.calls >= next {
            NEXT_REPORT.store(if next < 65536 { next * 2 } else { next + 65536 }, Ordering::Relaxed);
            let (keys, aliases) = {
                let registry = self.running.node.registry.read();
                (registry.key_count(), registry.alias_count())
            };
            eprintln!(
                "kms_dispatch: {} calls, {} ok {:?}, {} skipped (caps), {} restores, {keys} keys, {aliases} aliases, errors {:?}",
                stats.calls, stats.ok, stats.ok_by_operation, stats.skipped, stats.restores, stats.errors
            );
        }
    }
}

/// `ErrorCode`'s variant name (two variants share the `__type` string).
trait DebugName {
    fn as_str_debug(self) -> &'static str;
}

impl DebugName for ErrorCode {
    fn as_str_debug(self) -> &'static str {
        match self {
            ErrorCode::ServiceUnavailable => "ServiceUnavailable",
            other => other.as_str(),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((target, body)) = split(data) else { return };
    let fixture = fixture();
    let body = if body.contains(&b'$') { substitute(body, &fixture.substitutions) } else { body.to_vec() };
    let operation = target.as_deref().and_then(|target| target.strip_prefix(TARGET_PREFIX));

    let capped = {
        let registry = fixture.running.node.registry.read();
        (operation == Some("CreateKey") && registry.key_count() >= MAX_KEYS)
            || (operation == Some("CreateAlias") && registry.alias_count() >= MAX_ALIASES)
    };
    if capped {
        fixture.record(operation, &Err(KmsError::new(ErrorCode::LimitExceeded, "capped")), true, false);
        return;
    }

    let result = fixture.run(target.as_deref(), &body);
    match &result {
        Ok(reply) => {
            let value: serde_json::Value = serde_json::from_slice(reply)
                .unwrap_or_else(|error| panic!("{target:?} answered with invalid JSON ({error}): {reply:?}"));
            assert!(value.is_object(), "{target:?} answered with a JSON non-object: {value}");
        }
        Err(error) => {
            if fixture.strict && error.code == ErrorCode::Internal {
                panic!("{target:?} answered with an internal error: {error:?}");
            }
        }
    }
    let restored = operation.is_some_and(|operation| WRITES.contains(&operation)) && fixture.restore();
    fixture.record(operation, &result, false, restored);
});
