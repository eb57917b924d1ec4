//! Typed async client for Trent's AWS KMS JSON API and its `/v1/sys/` admin API.
//!
//! [`TrentClient`] spreads calls across a cluster's endpoints over one keep-alive connection
//! pool, fails over to the next endpoint on connection errors, timeouts and retryable server
//! errors, and returns AWS errors as [`ClientError::Api`]. It is not a server and does not
//! depend on one; request and response shapes come from [`trent_wire`].
//!
//! ```no_run
//! use trent_client::wire::kms::CreateKeyRequest;
//! use trent_client::{CaBundle, ClientOptions, TrentClient};
//!
//! async fn demo() -> Result<(), trent_client::ClientError> {
//!     let options = ClientOptions {
//!         signing: trent_client::signing_from_env(), // AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY
//!         ca_bundle: Some(CaBundle::from_pem_file("certs/ca.pem".as_ref())?),
//!         ..ClientOptions::default()
//!     };
//!     let endpoints = vec!["https://localhost:8401".into(), "https://localhost:8402".into()];
//!     let client = TrentClient::with_options(endpoints, options)?; // fails over between them
//!     let created = client.create_key(&CreateKeyRequest::default()).await?;
//!     println!("{}", created.key_metadata.arn);
//!     Ok(())
//! }
//! ```
//!
//! [`envelope`] streams data of any size through AES-256-GCM under a data key from
//! GenerateDataKey; [`import`] wraps and imports key material (bring your own key);
//! [`certs`] makes a cluster's CA and node certificates.

#![warn(missing_docs)]

mod admin;
mod asymmetric;
pub mod audit;
pub mod certs;
mod client;
mod data_plane;
pub mod endpoint;
pub mod envelope;
pub mod error;
pub mod import;
mod kms;
pub mod retry;
mod rotation;
pub mod tls;
mod transport;

pub use admin::{
    is_valid_user_name, AUTHORIZE_PATH, CLUSTER_PATH, HEALTH_PATH, MAX_USER_NAME_CHARS, MEMBERS_PATH,
    USERS_PATH,
};
pub use client::{new_request_id, ClientOptions, Signing, TrentClient, DEFAULT_MAX_RESPONSE_BYTES};

/// Signing from `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_REGION` (or
/// `AWS_DEFAULT_REGION`, default `us-east-1`), as the AWS CLI reads them; `None` without keys.
pub fn signing_from_env() -> Option<Signing> {
    let access_key_id = std::env::var("AWS_ACCESS_KEY_ID").ok()?;
    let secret = std::env::var("AWS_SECRET_ACCESS_KEY").ok()?;
    Some(Signing::new(access_key_id, secret, region_from_env()))
}

/// The signing region as the AWS CLI finds it: `AWS_REGION`, else `AWS_DEFAULT_REGION`, else
/// `us-east-1`.
pub fn region_from_env() -> String {
    std::env::var("AWS_REGION")
        .or_else(|_| std::env::var("AWS_DEFAULT_REGION"))
        .unwrap_or_else(|_| "us-east-1".to_owned())
}
pub use endpoint::{Endpoint, MAX_ENDPOINTS};
pub use error::ClientError;
pub use kms::MAX_LIST_PAGES;
pub use retry::RetryPolicy;
pub use tls::CaBundle;
pub use transport::{AMZN_REQUEST_ID_HEADER, REQUEST_ID_HEADER, TARGET_HEADER};
/// The wire types the client speaks, re-exported so callers need not name `trent-wire`.
pub use trent_wire as wire;
