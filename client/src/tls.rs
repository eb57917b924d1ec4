//! TLS for `https://` endpoints: rustls on the aws-lc-rs provider, trusting either a CA bundle the
//! caller names (a Trent cluster's own CA, from `trent operator gen-certs`) or the system's roots.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, RootCertStore};

use crate::error::ClientError;

/// Largest CA bundle read; the system bundle is about 200 KiB.
const MAX_CA_BUNDLE_BYTES: u64 = 4 * 1024 * 1024;

/// Certificates to trust for `https://` endpoints instead of the system's roots.
#[derive(Clone, PartialEq, Eq)]
pub struct CaBundle {
    certificates: Vec<CertificateDer<'static>>,
}

impl std::fmt::Debug for CaBundle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CaBundle({} certificates)", self.certificates.len())
    }
}

impl CaBundle {
    /// Every certificate of a PEM bundle; at least one is required.
    pub fn from_pem(pem: &[u8]) -> Result<CaBundle, ClientError> {
        let certificates: Vec<CertificateDer<'static>> =
            CertificateDer::pem_slice_iter(pem).filter_map(Result::ok).collect();
        if certificates.is_empty() {
            return Err(ClientError::InvalidCaBundle { reason: "no PEM certificate found".into() });
        }
        Ok(CaBundle { certificates })
    }

    /// Reads a PEM bundle from `path` (e.g. the `ca.pem` that `trent operator gen-certs` writes).
    pub fn from_pem_file(path: &Path) -> Result<CaBundle, ClientError> {
        let unreadable = |error: std::io::Error| ClientError::InvalidCaBundle {
            reason: format!("{}: {error}", path.display()),
        };
        let size = std::fs::metadata(path).map_err(unreadable)?.len();
        if size > MAX_CA_BUNDLE_BYTES {
            return Err(ClientError::InvalidCaBundle {
                reason: format!("{} is larger than {MAX_CA_BUNDLE_BYTES} bytes", path.display()),
            });
        }
        let pem = std::fs::read(path).map_err(unreadable)?;
        CaBundle::from_pem(&pem).map_err(|error| match error {
            ClientError::InvalidCaBundle { reason } => {
                ClientError::InvalidCaBundle { reason: format!("{}: {reason}", path.display()) }
            }
            other => other,
        })
    }

    fn root_store(&self) -> Result<RootCertStore, ClientError> {
        let mut roots = RootCertStore::empty();
        for certificate in &self.certificates {
            roots
                .add(certificate.clone())
                .map_err(|error| ClientError::InvalidCaBundle { reason: error.to_string() })?;
        }
        Ok(roots)
    }
}

/// The TLS configuration of a client: trusts `ca_bundle`, or the system's roots without one.
pub(crate) fn client_config(ca_bundle: Option<&CaBundle>) -> Result<ClientConfig, ClientError> {
    let roots = match ca_bundle {
        Some(bundle) => bundle.root_store()?,
        None => system_roots()?,
    };
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    Ok(ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| ClientError::InvalidCaBundle { reason: error.to_string() })?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// The TLS configuration of a client with only `http://` endpoints: it trusts nothing, so no
/// `https://` connection could be made with it.
pub(crate) fn plain_http_only() -> Result<ClientConfig, ClientError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    Ok(ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| ClientError::InvalidCaBundle { reason: error.to_string() })?
        .with_root_certificates(RootCertStore::empty())
        .with_no_client_auth())
}

/// The operating system's trusted roots; certificates it cannot parse are skipped.
fn system_roots() -> Result<RootCertStore, ClientError> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    let (added, _skipped) = roots.add_parsable_certificates(found.certs);
    if added == 0 {
        return Err(ClientError::InvalidCaBundle {
            reason: "no system CA certificates found; name the cluster's CA (--ca-cert / TRENT_CA_CERT)"
                .into(),
        });
    }
    Ok(roots)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bundle_needs_a_certificate() {
        assert!(matches!(CaBundle::from_pem(b"not pem"), Err(ClientError::InvalidCaBundle { .. })));
        let missing = CaBundle::from_pem_file(Path::new("/nonexistent/ca.pem"));
        assert!(
            matches!(missing, Err(ClientError::InvalidCaBundle { reason }) if reason.contains("/nonexistent"))
        );
    }
}
