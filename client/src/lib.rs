//! Typed async client for Trent's AWS KMS JSON API and its `/v1/sys/` admin API.
//!
//! [`TrentClient`] spreads calls across a cluster's endpoints over one keep-alive connection
//! pool, fails over to the next endpoint on connection errors, timeouts and retryable server
//! errors, and returns AWS errors as [`ClientError::Api`]. It is not a server and does not
//! depend on one; request and response shapes come from [`trent_wire`].
//!
//! ```no_run
//! # async fn example() -> Result<(), trent_client::ClientError> {
//! use trent_client::TrentClient;
//! use trent_client::wire::kms::CreateKeyRequest;
//!
//! let client = TrentClient::new(vec!["http://127.0.0.1:8400".into()])?;
//! let created = client.create_key(&CreateKeyRequest::default()).await?;
//! println!("{}", created.key_metadata.arn);
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

mod admin;
mod client;
pub mod endpoint;
pub mod error;
mod kms;
pub mod retry;
mod transport;

pub use admin::{CLUSTER_PATH, HEALTH_PATH, MEMBERS_PATH};
pub use client::{new_request_id, ClientOptions, TrentClient, DEFAULT_MAX_RESPONSE_BYTES};
pub use endpoint::{Endpoint, MAX_ENDPOINTS};
pub use error::ClientError;
pub use kms::MAX_LIST_PAGES;
pub use retry::RetryPolicy;
pub use transport::{AMZN_REQUEST_ID_HEADER, REQUEST_ID_HEADER, TARGET_HEADER};
/// The wire types the client speaks, re-exported so callers need not name `trent-wire`.
pub use trent_wire as wire;
