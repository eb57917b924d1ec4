//! `GET /v1/sys/audit` (action `trent:ReadAudit`) and `GET /v1/sys/audit/public-key`: the audit
//! trail read back, filtered and paged, from this node's log or (`scope=cluster`) from every
//! member's merged by time; and the public key its digests verify with.
//!
//! Query parameters: `eventName`, `keyId`, `principal`, `errorCode` (`*`: any error),
//! `startTime`, `endTime` (RFC 3339, UTC), `limit` (1–1000, default 50), `nextToken`, `scope`
//! (`node`, the default, or `cluster`). The token is opaque: for one node, the sequence after
//! which to go on; for the cluster, one such cursor per member, so a page never repeats or skips
//! a record of a member whatever the others hold.

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use http_body_util::Full;
use hyper::{Response, StatusCode};
use trent_audit::{AuditPage, AuditPublicKey, Filter, StoredEvent};
use trent_storage::NodeId;
use trent_wire::{ErrorCode, KmsError};

use crate::http::response;
use crate::node::Node;
use crate::peer::protocol::{PeerAuditPage, PeerAuditQuery, AUDIT_QUERY};

/// Records per page unless `limit` says otherwise.
const DEFAULT_LIMIT: usize = 50;
/// Most records per page.
pub const MAX_LIMIT: usize = 1000;
/// How long a member has to answer its part of a cluster query.
const MEMBER_TIMEOUT: Duration = Duration::from_secs(3);
/// Longest accepted query string value.
const MAX_VALUE_CHARS: usize = 2048;

/// A parsed query.
struct AuditQuery {
    filter: Filter,
    limit: usize,
    cursors: BTreeMap<NodeId, u64>,
    cluster: bool,
}

fn invalid(message: impl Into<String>) -> KmsError {
    KmsError::new(ErrorCode::Validation, message)
}

impl AuditQuery {
    fn parse(node: &Node, query: &str) -> Result<AuditQuery, KmsError> {
        let mut filter = Filter::default();
        let mut limit = DEFAULT_LIMIT;
        let mut token = None;
        let mut cluster = false;
        for pair in query.split('&').filter(|pair| !pair.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = String::from_utf8(trent_sigv4::percent_decode(value))
                .map_err(|_| invalid(format!("{name} is not UTF-8")))?;
            if value.chars().count() > MAX_VALUE_CHARS {
                return Err(invalid(format!("{name} is longer than {MAX_VALUE_CHARS} characters")));
            }
            match name {
                "eventName" => filter.event_name = Some(value),
                "keyId" => filter.key_id = Some(value),
                "principal" => filter.principal = Some(value),
                "errorCode" => filter.error_code = Some(value),
                "startTime" => filter.start_time = Some(checked_time(name, value)?),
                "endTime" => filter.end_time = Some(checked_time(name, value)?),
                "limit" => {
                    limit = value
                        .parse::<usize>()
                        .ok()
                        .filter(|limit| (1..=MAX_LIMIT).contains(limit))
                        .ok_or_else(|| invalid(format!("limit must be 1 to {MAX_LIMIT}")))?
                }
                "nextToken" => token = Some(value),
                "scope" => {
                    cluster = match value.as_str() {
                        "node" => false,
                        "cluster" => true,
                        _ => return Err(invalid("scope must be node or cluster")),
                    }
                }
                other => return Err(invalid(format!("Unknown query parameter {}", truncated(other)))),
            }
        }
        let cursors = match token {
            Some(token) => decode_token(&token)?,
            None => BTreeMap::new(),
        };
        if !cluster && cursors.keys().any(|id| *id != node.id()) {
            return Err(KmsError::new(ErrorCode::InvalidMarker, "The nextToken is from another query"));
        }
        Ok(AuditQuery { filter, limit, cursors, cluster })
    }
}

fn truncated(text: &str) -> String {
    text.chars().take(64).collect()
}

/// A time bound must be RFC 3339 in UTC as records spell it (`2026-12-04T01:02:03Z`), so that
/// comparing strings compares times.
fn checked_time(name: &str, value: String) -> Result<String, KmsError> {
    match trent_audit::parse_rfc3339_seconds(&value) {
        Some(_) => Ok(value),
        None => Err(invalid(format!("{name} must be a UTC time like 2026-12-04T01:02:03Z"))),
    }
}

fn encode_token(cursors: &BTreeMap<NodeId, u64>) -> String {
    let text = serde_json::to_string(cursors).unwrap_or_default();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

fn decode_token(token: &str) -> Result<BTreeMap<NodeId, u64>, KmsError> {
    let marker = || KmsError::new(ErrorCode::InvalidMarker, "The nextToken is not valid");
    let text = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token).map_err(|_| marker())?;
    let cursors: BTreeMap<NodeId, u64> = serde_json::from_slice(&text).map_err(|_| marker())?;
    if cursors.len() > 64 {
        return Err(marker());
    }
    Ok(cursors)
}

/// A page of this node's own log, after `after` (the peer API's answer, too).
pub async fn local_page(
    node: &Node,
    filter: Filter,
    after: Option<u64>,
    limit: usize,
) -> Result<trent_audit::QueryPage, KmsError> {
    let dir = node.audit.dir().to_owned();
    let limit = limit.clamp(1, MAX_LIMIT);
    tokio::task::spawn_blocking(move || trent_audit::query(&dir, &filter, after, limit))
        .await
        .map_err(|error| KmsError::new(ErrorCode::Internal, format!("audit query failed: {error}")))?
        .map_err(|error| KmsError::new(ErrorCode::Internal, format!("cannot read the audit log: {error}")))
}

/// `GET /v1/sys/audit`.
pub async fn read(node: &Node, query: &str) -> Result<AuditPage, KmsError> {
    let query = AuditQuery::parse(node, query)?;
    if !query.cluster {
        let after = query.cursors.get(&node.id()).copied();
        let page = local_page(node, query.filter, after, query.limit).await?;
        let token = |after: u64| encode_token(&BTreeMap::from([(node.id(), after)]));
        let last = page.events.last().map(|stored| stored.sequence).or(after);
        return Ok(AuditPage {
            next_token: page.next_after.map(token),
            resume_token: Some(last.map_or_else(|| encode_token(&BTreeMap::new()), token)),
            events: page.events.into_iter().map(|stored| stored.event).collect(),
            unreachable_nodes: Vec::new(),
        });
    }
    cluster_page(node, query).await
}

/// Every member's next page, merged by time; each member's cursor advances past the records
/// of it that made the page.
async fn cluster_page(node: &Node, query: AuditQuery) -> Result<AuditPage, KmsError> {
    let members: Vec<(NodeId, String)> = {
        let metrics = node.raft.metrics();
        let metrics = metrics.borrow();
        metrics
            .membership_config
            .membership()
            .nodes()
            .map(|(id, member)| (*id, member.peer_addr.clone()))
            .collect()
    };
    let filter_json = serde_json::to_string(&query.filter)
        .map_err(|error| KmsError::new(ErrorCode::Internal, format!("cannot encode the filter: {error}")))?;
    let asks = members.iter().map(|(id, peer_addr)| {
        let after = query.cursors.get(id).copied();
        let filter = query.filter.clone();
        let filter_json = filter_json.clone();
        async move {
            let page = if *id == node.id() {
                local_page(node, filter, after, query.limit).await.ok()
            } else {
                ask_member(node, peer_addr, PeerAuditQuery { filter_json, after, limit: query.limit as u32 })
                    .await
            };
            (*id, page)
        }
    });
    let answers = futures::future::join_all(asks).await;
    let mut unreachable_nodes = Vec::new();
    let mut merged: Vec<(NodeId, StoredEvent)> = Vec::new();
    let mut more = false;
    for (id, page) in answers {
        match page {
            Some(page) => {
                more |= page.next_after.is_some();
                merged.extend(page.events.into_iter().map(|stored| (id, stored)));
            }
            None => {
                unreachable_nodes.push(id);
                more = true;
            }
        }
    }
    merged.sort_by(|(a_node, a), (b_node, b)| {
        (&a.event.event_time, a_node, a.sequence).cmp(&(&b.event.event_time, b_node, b.sequence))
    });
    if merged.len() > query.limit {
        merged.truncate(query.limit);
        more = true;
    }
    let mut cursors = query.cursors;
    for (id, stored) in &merged {
        let cursor = cursors.entry(*id).or_insert(0);
        *cursor = (*cursor).max(stored.sequence);
    }
    Ok(AuditPage {
        events: merged.into_iter().map(|(_, stored)| stored.event).collect(),
        next_token: more.then(|| encode_token(&cursors)),
        resume_token: Some(encode_token(&cursors)),
        unreachable_nodes,
    })
}

async fn ask_member(node: &Node, peer_addr: &str, ask: PeerAuditQuery) -> Option<trent_audit::QueryPage> {
    let body = trent_storage::codec::encode_at(node.peer_format(), &ask).ok()?;
    match node.peers.post(peer_addr, AUDIT_QUERY, body, MEMBER_TIMEOUT).await {
        Ok(reply) => {
            let page: PeerAuditPage = trent_storage::codec::decode(&reply).ok()?;
            serde_json::from_slice(&page.page_json).ok()
        }
        Err(error) => {
            tracing::debug!(peer_addr, %error, "a member did not answer an audit query");
            None
        }
    }
}

/// `GET /v1/sys/audit/public-key`: the PEM public key the cluster's digests verify with
/// (refused while sealed: only an unsealed node can derive it).
pub fn public_key(node: &Node) -> Result<Response<Full<Bytes>>, KmsError> {
    let signer = crate::audit::signer(node).ok_or_else(|| KmsError::from(crate::seal::state::Sealed))?;
    let body = AuditPublicKey {
        public_key: signer.public_key_pem(),
        key_id: signer.key_id().to_owned(),
        key_spec: "ECC_NIST_P256".to_owned(),
        signing_algorithm: "ECDSA_SHA_256".to_owned(),
    };
    Ok(response::json(StatusCode::OK, &body, "application/json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_garbage_is_an_invalid_marker() {
        let cursors = BTreeMap::from([(1, 10), (3, 7)]);
        assert_eq!(decode_token(&encode_token(&cursors)).unwrap(), cursors);
        assert_eq!(decode_token("!!").unwrap_err().code, ErrorCode::InvalidMarker);
        assert_eq!(decode_token("e30").unwrap(), BTreeMap::new());
    }

    #[test]
    fn time_bounds_must_be_utc_seconds() {
        assert!(checked_time("startTime", "2026-12-04T01:02:03Z".to_owned()).is_ok());
        for bad in ["2026-12-04", "2026-12-04T01:02:03+01:00", "2026-12-04T01:02:03.5Z", "x"] {
            assert!(checked_time("startTime", bad.to_owned()).is_err(), "{bad}");
        }
    }
}
