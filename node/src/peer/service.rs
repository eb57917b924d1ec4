//! Serves the peer API: decodes each message, hands it to Raft or to the leader logic, and
//! encodes the answer.

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;

use std::time::SystemTime;

use super::auth::{PeerAuthError, PEER_AUTH_HEADER};
use super::protocol::{
    FeatureReport, KeyUsageQuery, KeyUsageReport, LeaderOp, PeerAuditPage, PeerAuditQuery, APPEND_ENTRIES,
    AUDIT_QUERY, FEATURES, INSTALL_SNAPSHOT, KEY_USAGE, LEADER_OP, MAX_PEER_BODY_BYTES, VOTE,
};
use crate::http::body::{read_body, BodyError};
use crate::http::connections::ConnectionInfo;
use crate::http::response;
use crate::node::Node;
use openraft::raft::InstallSnapshotRequest;
use trent_storage::codec;
use trent_storage::TypeConfig;

const OCTETS: &str = "application/octet-stream";

/// Handles one peer request.
pub async fn handle(node: Arc<Node>, request: Request<Incoming>) -> Response<Full<Bytes>> {
    if request.method() != Method::POST {
        return plain(StatusCode::METHOD_NOT_ALLOWED, "peer API takes POST only");
    }
    let path = request.uri().path().to_owned();
    let connection = request.extensions().get::<ConnectionInfo>().cloned();
    let mac = request.headers().get(PEER_AUTH_HEADER).map(|value| value.as_bytes().to_vec());
    // Plaintext peers: the MAC over the head verifies before a byte of the body is read.
    let digest = match &node.peer_secret {
        Some(secret) => match secret.verify_head(mac.as_deref(), "POST", &path, SystemTime::now()) {
            Ok(digest) => Some(digest),
            Err(error) => return refused(&connection, error),
        },
        None => None,
    };
    let (body, _reservation) = match read_body(request, MAX_PEER_BODY_BYTES, &node.peer_body_budget).await {
        Ok(read) => read,
        Err(error @ BodyError::TooLarge { .. }) => {
            return plain(StatusCode::PAYLOAD_TOO_LARGE, &error.to_string())
        }
        Err(error @ BodyError::Throttled) => {
            return plain(StatusCode::SERVICE_UNAVAILABLE, &error.to_string())
        }
        Err(error) => return plain(StatusCode::BAD_REQUEST, &error.to_string()),
    };
    if let Some(digest) = digest {
        if let Err(error) = digest.check(&body) {
            return refused(&connection, error);
        }
        if let Some(connection) = &connection {
            connection.prove();
        }
    }
    // Answered in the format it was asked in: the sender's cluster level says what it decodes.
    let format = match codec::format_of(&body) {
        Ok(format) => format,
        Err(error) => return plain(StatusCode::BAD_REQUEST, &format!("undecodable message: {error}")),
    };
    // A node capped below a level reads only that level's format, as an older build would: a
    // peer that sends it more (a bug) is refused here instead of going unnoticed in tests.
    let readable = trent_storage::features::format_for_level(node.supported_feature_level());
    if format > readable {
        return plain(
            StatusCode::BAD_REQUEST,
            &format!("undecodable message: {format}; this node reads up to {readable}"),
        );
    }
    let encoded = |value: &dyn ErasedReply| value.encode_reply(format);
    match path.as_str() {
        APPEND_ENTRIES => match decode(&body) {
            Ok(rpc) => encoded(&node.raft.append_entries(rpc).await),
            Err(response) => *response,
        },
        VOTE => match decode(&body) {
            Ok(rpc) => encoded(&node.raft.vote(rpc).await),
            Err(response) => *response,
        },
        INSTALL_SNAPSHOT => match decode::<InstallSnapshotRequest<TypeConfig>>(&body) {
            // Chunks accumulate in memory until the last one: bound the whole before any is kept.
            Ok(rpc) if !snapshot_chunk_fits(rpc.offset, rpc.data.len()) => plain(
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!("snapshot larger than {} bytes", trent_storage::MAX_SNAPSHOT_BYTES),
            ),
            Ok(rpc) => encoded(&node.raft.install_snapshot(rpc).await),
            Err(response) => *response,
        },
        // The one reply whose layout changed with a format (a key record inside it).
        LEADER_OP => match decode::<LeaderOp>(&body) {
            Ok(op) => reply(super::legacy::encode_reply(format, &node.execute_for_peer(op).await)),
            Err(response) => *response,
        },
        AUDIT_QUERY => match decode::<PeerAuditQuery>(&body) {
            Ok(ask) => answer_audit_query(&node, ask, format).await,
            Err(response) => *response,
        },
        // A build before feature levels answers this path 404: level 0.
        FEATURES => encoded(&FeatureReport { supported_level: node.supported_feature_level() }),
        KEY_USAGE => match decode::<KeyUsageQuery>(&body) {
            Ok(query) => encoded(&KeyUsageReport {
                tracking_start_ms: node.key_usage.tracking_start_ms(),
                last_use: node.key_usage.last_use(query.key_id),
            }),
            Err(response) => *response,
        },
        _ => plain(StatusCode::NOT_FOUND, "no such peer endpoint"),
    }
}

/// This node's part of a cluster-wide audit query.
async fn answer_audit_query(
    node: &Node,
    ask: PeerAuditQuery,
    format: codec::Format,
) -> Response<Full<Bytes>> {
    let Ok(filter) = serde_json::from_str::<trent_audit::Filter>(&ask.filter_json) else {
        return plain(StatusCode::BAD_REQUEST, "undecodable audit filter");
    };
    match crate::admin::audit::local_page(node, filter, ask.after, ask.limit as usize).await {
        Ok(page) => match serde_json::to_vec(&page) {
            Ok(page_json) => PeerAuditPage { page_json }.encode_reply(format),
            Err(error) => plain(StatusCode::INTERNAL_SERVER_ERROR, &error.to_string()),
        },
        Err(error) => plain(StatusCode::INTERNAL_SERVER_ERROR, &error.message),
    }
}

/// A reply the peer service encodes, whatever its type.
trait ErasedReply {
    fn encode_reply(&self, format: codec::Format) -> Response<Full<Bytes>>;
}

impl<T: Serialize> ErasedReply for T {
    fn encode_reply(&self, format: codec::Format) -> Response<Full<Bytes>> {
        reply(codec::encode_at(format, self))
    }
}

/// The response carrying an encoded reply; a reply that cannot be encoded (in the format it was
/// asked in) is a server error, and the asking node retries.
fn reply(encoded: Result<Vec<u8>, bincode::error::EncodeError>) -> Response<Full<Bytes>> {
    match encoded {
        Ok(body) => response::bytes(StatusCode::OK, body, OCTETS),
        Err(error) => plain(StatusCode::INTERNAL_SERVER_ERROR, &format!("cannot encode reply: {error}")),
    }
}

/// Whether a snapshot chunk of `length` bytes at `offset` ends within the largest snapshot.
fn snapshot_chunk_fits(offset: u64, length: usize) -> bool {
    offset.checked_add(length as u64).is_some_and(|end| end <= trent_storage::MAX_SNAPSHOT_BYTES as u64)
}

fn refused(connection: &Option<ConnectionInfo>, error: PeerAuthError) -> Response<Full<Bytes>> {
    let from = connection.as_ref().map(|connection| connection.address().to_string()).unwrap_or_default();
    // Anyone can send these: warn at most once a second, not once a request.
    if REFUSALS_LOGGED.allow() {
        tracing::warn!(%error, from, "peer request refused (further refusals this second are not logged)");
    }
    plain(StatusCode::UNAUTHORIZED, &error.to_string())
}

static REFUSALS_LOGGED: crate::log_budget::LogBudget = crate::log_budget::LogBudget::new();

fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, Box<Response<Full<Bytes>>>> {
    codec::decode(body)
        .map_err(|error| Box::new(plain(StatusCode::BAD_REQUEST, &format!("undecodable message: {error}"))))
}

fn plain(status: StatusCode, message: &str) -> Response<Full<Bytes>> {
    response::bytes(status, message.as_bytes().to_vec(), "text/plain")
}

#[cfg(test)]
mod tests {
    #[test]
    fn snapshot_chunks_must_end_within_the_largest_snapshot() {
        let max = trent_storage::MAX_SNAPSHOT_BYTES as u64;
        assert!(super::snapshot_chunk_fits(0, 3 << 20));
        assert!(super::snapshot_chunk_fits(max - 10, 10));
        assert!(!super::snapshot_chunk_fits(max - 10, 11));
        assert!(!super::snapshot_chunk_fits(u64::MAX, 1), "no overflow");
    }
}
