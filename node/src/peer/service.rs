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

use super::auth::{PeerAuthError, PeerSecret, PEER_AUTH_HEADER};
use super::protocol::{LeaderOp, APPEND_ENTRIES, INSTALL_SNAPSHOT, LEADER_OP, MAX_PEER_BODY_BYTES, VOTE};
use crate::http::body::{read_body, BodyError};
use crate::http::connections::ConnectionInfo;
use crate::http::response;
use crate::node::Node;
use trent_storage::codec;

const OCTETS: &str = "application/octet-stream";

/// Handles one peer request.
pub async fn handle(node: Arc<Node>, request: Request<Incoming>) -> Response<Full<Bytes>> {
    if request.method() != Method::POST {
        return plain(StatusCode::METHOD_NOT_ALLOWED, "peer API takes POST only");
    }
    let path = request.uri().path().to_owned();
    let connection = request.extensions().get::<ConnectionInfo>().cloned();
    let mac = request.headers().get(PEER_AUTH_HEADER).map(|value| value.as_bytes().to_vec());
    // Plaintext peers: refuse a missing or stale MAC before the body is read.
    if node.peer_secret.is_some() {
        if let Err(error) = PeerSecret::check_time(mac.as_deref(), SystemTime::now()) {
            return refused(&connection, error);
        }
    }
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
    if let Some(secret) = &node.peer_secret {
        if let Err(error) = secret.verify(mac.as_deref(), "POST", &path, &body, SystemTime::now()) {
            return refused(&connection, error);
        }
        if let Some(connection) = &connection {
            connection.prove();
        }
    }
    match path.as_str() {
        APPEND_ENTRIES => match decode(&body) {
            Ok(rpc) => encoded(&node.raft.append_entries(rpc).await),
            Err(response) => *response,
        },
        VOTE => match decode(&body) {
            Ok(rpc) => encoded(&node.raft.vote(rpc).await),
            Err(response) => *response,
        },
        INSTALL_SNAPSHOT => match decode(&body) {
            Ok(rpc) => encoded(&node.raft.install_snapshot(rpc).await),
            Err(response) => *response,
        },
        LEADER_OP => match decode::<LeaderOp>(&body) {
            Ok(op) => encoded(&node.execute_for_peer(op).await),
            Err(response) => *response,
        },
        _ => plain(StatusCode::NOT_FOUND, "no such peer endpoint"),
    }
}

fn refused(connection: &Option<ConnectionInfo>, error: PeerAuthError) -> Response<Full<Bytes>> {
    let from = connection.as_ref().map(|connection| connection.address().to_string()).unwrap_or_default();
    tracing::warn!(%error, from, "peer request refused");
    plain(StatusCode::UNAUTHORIZED, &error.to_string())
}

fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, Box<Response<Full<Bytes>>>> {
    codec::decode(body)
        .map_err(|error| Box::new(plain(StatusCode::BAD_REQUEST, &format!("undecodable message: {error}"))))
}

fn encoded<T: Serialize>(value: &T) -> Response<Full<Bytes>> {
    match codec::encode(value) {
        Ok(body) => response::bytes(StatusCode::OK, body, OCTETS),
        Err(error) => plain(StatusCode::INTERNAL_SERVER_ERROR, &format!("cannot encode reply: {error}")),
    }
}

fn plain(status: StatusCode, message: &str) -> Response<Full<Bytes>> {
    response::bytes(status, message.as_bytes().to_vec(), "text/plain")
}
