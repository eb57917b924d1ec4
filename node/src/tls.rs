//! TLS for both listeners and for calls to peers, with rustls on the aws-lc-rs provider.
//!
//! The client API presents the node's certificate and authenticates callers with SigV4, not
//! certificates. The peer API is mutual TLS: it presents the same certificate and accepts only
//! callers with a certificate issued by the cluster CA, and the peer client presents it in turn.
//! Every node certificate therefore carries both the server and the client purpose
//! (`trent operator gen-certs` makes them so).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use serde::Deserialize;
use tokio_rustls::TlsAcceptor;

/// Longest a client may take to finish the TLS handshake before the connection is dropped.
pub const HANDSHAKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Largest PEM file read (a certificate chain or key is a few KiB).
const MAX_PEM_BYTES: u64 = 1024 * 1024;

/// Where a node's certificate, private key and the cluster CA are, as PEM files.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TlsFiles {
    /// The node's certificate, followed by any intermediates.
    pub cert: PathBuf,
    /// The node certificate's private key (PKCS#8, SEC1 or PKCS#1).
    pub key: PathBuf,
    /// The cluster CA: trust anchor for peers, both as servers and as clients.
    pub ca: PathBuf,
}

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file is larger than any certificate or key should be.
    #[error("{path} is larger than {MAX_PEM_BYTES} bytes")]
    TooLarge {
        /// The file.
        path: PathBuf,
    },
    /// A certificate file holds no PEM certificate.
    #[error("{path} holds no PEM certificate")]
    NoCertificate {
        /// The file.
        path: PathBuf,
    },
    /// A key file holds no PEM private key.
    #[error("{path} holds no PEM private key")]
    NoPrivateKey {
        /// The file.
        path: PathBuf,
    },
    /// A CA certificate was refused as a trust anchor.
    #[error("{path}: unusable CA certificate: {source}")]
    BadCa {
        /// The file.
        path: PathBuf,
        /// Why.
        source: rustls::Error,
    },
    /// rustls refused the combination (e.g. the key does not match the certificate).
    #[error("TLS configuration refused: {0}")]
    Config(String),
}

/// The TLS halves of one node: acceptors for its two listeners and the config it dials peers with.
#[derive(Clone)]
pub struct NodeTls {
    /// Client API: server authentication only.
    pub api: TlsAcceptor,
    /// Peer API: a client certificate from the cluster CA is required.
    pub peer: TlsAcceptor,
    /// Dialling peers: the cluster CA as the only trust anchor, the node certificate as client
    /// certificate.
    pub peer_client: Arc<ClientConfig>,
}

impl std::fmt::Debug for NodeTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NodeTls { .. }")
    }
}

impl NodeTls {
    /// Loads the files and builds every configuration, so that a bad file stops the node at
    /// start rather than at its first connection.
    pub fn load(files: &TlsFiles) -> Result<NodeTls, TlsError> {
        let chain = certificates(&files.cert)?;
        let key = private_key(&files.key)?;
        let roots = Arc::new(root_store(&files.ca)?);
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let refused = |error: rustls::Error| TlsError::Config(error.to_string());

        let api = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(refused)?
            .with_no_client_auth()
            .with_single_cert(chain.clone(), key.clone_key())
            .map_err(refused)?;

        let client_verifier = WebPkiClientVerifier::builder_with_provider(roots.clone(), provider.clone())
            .build()
            .map_err(|error| TlsError::Config(error.to_string()))?;
        let peer = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(refused)?
            .with_client_cert_verifier(client_verifier)
            .with_single_cert(chain.clone(), key.clone_key())
            .map_err(refused)?;

        let peer_client = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(refused)?
            .with_root_certificates(roots)
            .with_client_auth_cert(chain, key)
            .map_err(refused)?;

        Ok(NodeTls {
            api: TlsAcceptor::from(Arc::new(with_http1(api))),
            peer: TlsAcceptor::from(Arc::new(with_http1(peer))),
            peer_client: Arc::new(peer_client),
        })
    }
}

/// A client configuration that trusts only the CA in `ca` and presents no certificate: for
/// talking to a node's client API (health checks, dev tooling).
pub fn verifying_client_config(ca: &Path) -> Result<ClientConfig, TlsError> {
    let roots = root_store(ca)?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    Ok(ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| TlsError::Config(error.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// Announces HTTP/1.1 in ALPN, the only protocol the listeners speak.
fn with_http1(mut config: ServerConfig) -> ServerConfig {
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    config
}

/// Every certificate in the PEM file at `path`, in order.
pub fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = read_pem(path)?;
    let chain: Vec<CertificateDer<'static>> =
        CertificateDer::pem_slice_iter(&pem).filter_map(Result::ok).collect();
    if chain.is_empty() {
        return Err(TlsError::NoCertificate { path: path.to_owned() });
    }
    Ok(chain)
}

/// The first private key in the PEM file at `path`.
fn private_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let pem = zeroize::Zeroizing::new(read_pem(path)?);
    PrivateKeyDer::from_pem_slice(&pem).map_err(|_| TlsError::NoPrivateKey { path: path.to_owned() })
}

/// A trust store holding every certificate of the PEM file at `path`.
pub fn root_store(path: &Path) -> Result<RootCertStore, TlsError> {
    let mut roots = RootCertStore::empty();
    for certificate in certificates(path)? {
        roots.add(certificate).map_err(|source| TlsError::BadCa { path: path.to_owned(), source })?;
    }
    Ok(roots)
}

fn read_pem(path: &Path) -> Result<Vec<u8>, TlsError> {
    let read_error = |source| TlsError::Read { path: path.to_owned(), source };
    let size = std::fs::metadata(path).map_err(read_error)?.len();
    if size > MAX_PEM_BYTES {
        return Err(TlsError::TooLarge { path: path.to_owned() });
    }
    std::fs::read(path).map_err(read_error)
}
