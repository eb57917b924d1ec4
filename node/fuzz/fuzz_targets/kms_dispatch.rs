//! Fuzzes the KMS request dispatcher, `trent_node::kms::dispatch`, against a real node.
//!
//! Each fuzz process starts ONE single-node cluster in-process on first use
//! (`trent_fuzz::live::LiveNode`: a multi-thread tokio runtime kept alive in a `OnceLock`, data
//! in `/tmp/trent-fuzz-kms-<pid>`), initialised and unsealed the way `trentd dev` does, and
//! seeds it with four keys, three aliases, two tags and a few ciphertext blobs. Every input is
//! then one KMS call on that node.
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
//! aborts on every panic), a successful reply that is not a JSON object, an
//! `ErrorCode::Internal` reply (set `TRENT_FUZZ_ALLOW_INTERNAL=1` to tolerate those), or Raft
//! stopping (e.g. a snapshot that fails its invariant check).

#![no_main]

use std::collections::BTreeMap;
use std::sync::{Mutex, OnceLock};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use libfuzzer_sys::fuzz_target;
use trent_fuzz::live::LiveNode;
use trent_fuzz::placeholders::Placeholders;
use trent_fuzz::report::{code_name, Schedule};
use trent_node::config::ArnScope;
use trent_node::kms::ciphertext::HEADER_BYTES;
use trent_node::authentication::Principal;
use trent_node::kms::{dispatch, resolve_target, Call};
use trent_node::Node;
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
    live: LiveNode,
    keys: [KeyId; 4],
    placeholders: Placeholders,
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
static REPORTS: Schedule = Schedule::new();

fn fixture() -> &'static Fixture {
    FIXTURE.get_or_init(|| {
        let live = LiveNode::start("kms");
        let (keys, placeholders) = live.block_on(seed(live.node()));
        if trent_fuzz::verbose() {
            placeholders.print("kms_dispatch");
        }
        Fixture { live, keys, placeholders, strict: trent_fuzz::strict(), stats: Mutex::new(Stats::default()) }
    })
}

/// The node's administrator (its first access key): calls are authorized as they are for
/// `trentd dev`'s admin, so every operation's own checks are reached.
fn administrator(node: &Node) -> Principal {
    let registry = node.registry.read();
    let access_key = registry.access_keys().next().map(|key| key.access_key_id.clone());
    Principal::assumed(&access_key.expect("an initialised node has an access key"))
}

/// Seeds the node through `dispatch` itself: keys, aliases, tags, ciphertexts; returns the key
/// ids and the placeholders.
async fn seed(node: &Node) -> ([KeyId; 4], Placeholders) {
    let call = |target: &'static str, body: String| async move {
        let target = format!("{TARGET_PREFIX}{target}");
        let operation = resolve_target(Some(&target)).expect("a seeding target");
        let call = Call::new(node, RequestId(uuid::Uuid::new_v4()), administrator(node), operation);
        match dispatch(&call, body.as_bytes()).await {
            Ok(reply) => serde_json::from_slice::<serde_json::Value>(&reply).expect("JSON reply"),
            Err(error) => panic!("seeding {target} {body} failed: {error:?}"),
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
    (keys, Placeholders::new(substitutions))
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
        // As the client API does: the target resolves to an operation, or is refused.
        let operation = resolve_target(target)?;
        let call =
            Call::new(self.live.node(), RequestId(uuid::Uuid::new_v4()), administrator(self.live.node()), operation);
        self.live.block_on(dispatch(&call, body))
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
            let registry = self.live.node().registry.read();
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
            Err(error) => *stats.errors.entry(code_name(error.code)).or_default() += 1,
        }
        if REPORTS.due(stats.calls) {
            let (keys, aliases) = {
                let registry = self.live.node().registry.read();
                (registry.key_count(), registry.alias_count())
            };
            eprintln!(
                "kms_dispatch: {} calls, {} ok {:?}, {} skipped (caps), {} restores, {keys} keys, {aliases} aliases, errors {:?}, snapshot at {:?}",
                stats.calls,
                stats.ok,
                stats.ok_by_operation,
                stats.skipped,
                stats.restores,
                stats.errors,
                self.live.snapshot_index()
            );
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((target, body)) = split(data) else { return };
    let fixture = fixture();
    let body = fixture.placeholders.substitute(body);
    let operation = target.as_deref().and_then(|target| target.strip_prefix(TARGET_PREFIX));

    let capped = {
        let registry = fixture.live.node().registry.read();
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
    fixture.live.assert_alive();
});
