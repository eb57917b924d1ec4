//! Large AWS-legal rows at a steady rate: CreateKey with an 8,192-character description and 50
//! tags of 128-character keys and 256-character values (one call in four), and in between
//! CreateAlias with 256-character names (filling the oldest keys up to `--aliases-per-key`),
//! UntagResource of ten tags, TagResource re-setting all 50 with new values, and
//! UpdateKeyDescription with a new 8,192-character description. All within AWS's limits, each
//! to a random node, signed, without retries; every outcome counted.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::watch;
use trent_client::TrentClient;
use trent_wire::kms::{
    AliasTargetRequest, CreateKeyRequest, Tag, TagResourceRequest, UntagResourceRequest,
    UpdateKeyDescriptionRequest,
};
use trent_wire::limits::{
    MAX_ALIAS_NAME_CHARS, MAX_DESCRIPTION_CHARS, MAX_TAGS_PER_KEY, MAX_TAG_KEY_CHARS, MAX_TAG_VALUE_CHARS,
};

use crate::soak::stop;
use crate::soak::tally::{Tally, TallyReport};
use crate::workload::scramble;

/// Tags removed by one UntagResource (and put back by the next TagResource).
const UNTAG_COUNT: usize = 10;
/// Characters the generated text draws from (all legal in descriptions, tag keys and values, and
/// alias names).
const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_";

/// What the large rows did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LargeRowsReport {
    /// Calls per second asked for.
    pub rate: f64,
    /// Every call by outcome, operation, node and error code.
    pub calls: TallyReport,
    /// Keys created.
    pub keys_created: u64,
    /// Aliases created.
    pub aliases_created: u64,
    /// JSON body size of each operation's requests, bytes.
    pub request_bytes: BTreeMap<String, usize>,
}

/// A key made by this component.
struct Key {
    id: String,
    number: usize,
    aliases: usize,
}

/// `len` characters drawn from `seed`, starting with `prefix`.
fn text(prefix: &str, len: usize, seed: u64) -> String {
    let mut out = String::with_capacity(len);
    out.push_str(prefix);
    let mut state = seed;
    while out.len() < len {
        state = scramble(state);
        for byte in state.to_le_bytes() {
            if out.len() < len {
                out.push(ALPHABET[usize::from(byte) % ALPHABET.len()] as char);
            }
        }
    }
    out
}

/// All `MAX_TAGS_PER_KEY` tags at maximum size, their values drawn from `seed`.
fn tags(seed: u64) -> Vec<Tag> {
    (0..MAX_TAGS_PER_KEY)
        .map(|index| Tag {
            tag_key: tag_key(index),
            tag_value: text("", MAX_TAG_VALUE_CHARS, seed ^ ((index as u64) << 32)),
        })
        .collect()
}

fn tag_key(index: usize) -> String {
    text(&format!("soak-tag-{index:02}-"), MAX_TAG_KEY_CHARS, index as u64)
}

/// Runs until `stop`, `rate` calls a second, through `client` (a node drawn per call).
pub async fn run(
    client: TrentClient,
    rate: f64,
    aliases_per_key: usize,
    tally: Arc<Tally>,
    mut stop: watch::Receiver<bool>,
) -> LargeRowsReport {
    let nodes = client.endpoints().len().max(1) as u64;
    let run_id = scramble(u64::from(std::process::id()) ^ 0x736f_616b) & 0xffff_ffff;
    let mut keys: Vec<Key> = Vec::new();
    let mut report = LargeRowsReport { rate, ..LargeRowsReport::default() };
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    for sequence in 0u64.. {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = stop::until_stopped(&mut stop) => break,
        }
        let node = (scramble(sequence ^ 0x6c61_7267) % nodes) as usize;
        let Ok(client) = client.on_endpoint(node) else { break };
        let seed = scramble(run_id ^ sequence);
        let sent = Instant::now();
        let with_room = keys.iter().position(|key| key.aliases < aliases_per_key);
        let (operation, outcome, bytes) = if keys.is_empty() || sequence.is_multiple_of(4) {
            let request = CreateKeyRequest {
                description: Some(text("trent-soak ", MAX_DESCRIPTION_CHARS, seed)),
                tags: Some(tags(seed)),
                ..CreateKeyRequest::default()
            };
            let outcome = client.create_key(&request).await;
            if let Ok(created) = &outcome {
                keys.push(Key { id: created.key_metadata.key_id.clone(), number: keys.len(), aliases: 0 });
                report.keys_created += 1;
            }
            ("CreateKey", outcome.map(|_| ()), json_len(&request))
        } else {
            let key = &keys[(seed % keys.len() as u64) as usize];
            match (sequence / 4 + sequence % 4) % 4 {
                0 if with_room.is_some() => {
                    let key = &mut keys[with_room.unwrap_or(0)];
                    let prefix = format!("alias/soak-{run_id:08x}-{:04}-{:03}-", key.number, key.aliases);
                    let request = AliasTargetRequest {
                        alias_name: text(&prefix, MAX_ALIAS_NAME_CHARS, seed),
                        target_key_id: key.id.clone(),
                    };
                    let outcome = client.create_alias(&request).await.map(|_| ());
                    if outcome.is_ok() {
                        key.aliases += 1;
                        report.aliases_created += 1;
                    }
                    ("CreateAlias", outcome, json_len(&request))
                }
                1 => {
                    let first = (sequence as usize / 4 * UNTAG_COUNT) % MAX_TAGS_PER_KEY;
                    let request = UntagResourceRequest {
                        key_id: key.id.clone(),
                        tag_keys: (first..first + UNTAG_COUNT)
                            .map(|index| tag_key(index % MAX_TAGS_PER_KEY))
                            .collect(),
                    };
                    ("UntagResource", client.untag_resource(&request).await.map(|_| ()), json_len(&request))
                }
                2 => {
                    let request = UpdateKeyDescriptionRequest {
                        key_id: key.id.clone(),
                        description: text("trent-soak updated ", MAX_DESCRIPTION_CHARS, seed),
                    };
                    let outcome = client.update_key_description(&request).await.map(|_| ());
                    ("UpdateKeyDescription", outcome, json_len(&request))
                }
                _ => {
                    let request = TagResourceRequest { key_id: key.id.clone(), tags: tags(seed) };
                    ("TagResource", client.tag_resource(&request).await.map(|_| ()), json_len(&request))
                }
            }
        };
        let outcome = outcome.map_err(|error| error.error_type().to_owned());
        tally.record(operation, node + 1, &outcome, sent.elapsed());
        report.request_bytes.insert(operation.to_owned(), bytes);
    }
    report.calls = tally.report();
    report
}

fn json_len<T: Serialize>(value: &T) -> usize {
    serde_json::to_vec(value).map_or(0, |bytes| bytes.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_at_aws_maximums_and_no_further() {
        let request = CreateKeyRequest {
            description: Some(text("trent-soak ", MAX_DESCRIPTION_CHARS, 7)),
            tags: Some(tags(7)),
            ..CreateKeyRequest::default()
        };
        assert_eq!(request.description.as_ref().unwrap().chars().count(), 8192);
        let tags = request.tags.as_ref().unwrap();
        assert_eq!(tags.len(), 50);
        assert!(tags.iter().all(|tag| tag.tag_key.len() == 128 && tag.tag_value.len() == 256));
        let keys: std::collections::HashSet<_> = tags.iter().map(|tag| &tag.tag_key).collect();
        assert_eq!(keys.len(), 50, "tag keys are distinct");
        assert!(json_len(&request) > 25_000);
        let alias = text("alias/soak-00000000-0000-000-", MAX_ALIAS_NAME_CHARS, 1);
        assert_eq!(alias.len(), 256);
        assert!(!alias.starts_with("alias/aws/"));
    }
}
