//! The HTTP ceiling: the same signed request a KMS run sends, to a server that answers it without
//! work (`trent-echo` returns the body). The client does exactly what it does against Trent —
//! SigV4 signing, JSON, the same connection pool — so the ratio of the two isolates the server.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::de::IgnoredAny;
use serde_json::{json, Value};
use trent_client::TrentClient;

use crate::workload::Op;

/// What the echo target sends.
pub struct EchoTarget {
    client: TrentClient,
    body: Value,
}

impl EchoTarget {
    /// A target sending, through `client`, an Encrypt-shaped body of `plaintext_bytes`.
    pub fn new(client: TrentClient, plaintext_bytes: usize) -> EchoTarget {
        let body = json!({
            "KeyId": "00000000-0000-0000-0000-000000000000",
            "Plaintext": STANDARD.encode(vec![0x5a; plaintext_bytes]),
        });
        EchoTarget { client, body }
    }

    /// Sends one request named like `op`; any 2xx with a JSON body is a success.
    pub async fn call(&self, op: Op) -> Result<(), String> {
        self.client
            .call::<_, IgnoredAny>(op.target(), &self.body)
            .await
            .map(|_| ())
            .map_err(|error| error.error_type().to_owned())
    }
}
