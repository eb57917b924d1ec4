//! Certificates for a cluster (`trent operator gen-certs`): a private CA, and for each node a
//! certificate it issued that serves both TLS roles a node plays — server on its client and peer
//! ports, client when it dials a peer (mutual TLS). ECDSA P-256 keys, made with rcgen.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DistinguishedName, DnType, ExtendedKeyUsagePurpose,
    IsCa, Issuer, KeyPair, KeyUsagePurpose, SanType,
};
use zeroize::Zeroizing;

/// Most nodes one call makes certificates for.
pub const MAX_NODES: usize = 64;
/// Most extra subject alternative names per certificate.
pub const MAX_EXTRA_NAMES: usize = 32;
/// Longest validity accepted, in days (ten years).
pub const MAX_VALID_DAYS: u32 = 3650;

/// Why certificates could not be made or written.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    /// A node name or extra name is not a DNS name or IP address.
    #[error("{name:?} is not a DNS name or IP address")]
    InvalidName {
        /// The name given.
        name: String,
    },
    /// Node names must be unique host names (which also makes them safe file name stems).
    #[error("node name {name:?} must be a DNS name of letters, digits, '-' and '.' and appear once")]
    InvalidNodeName {
        /// The name given.
        name: String,
    },
    /// Too many or too few of something.
    #[error("{what}")]
    Limit {
        /// Which limit.
        what: String,
    },
    /// rcgen refused the parameters.
    #[error("cannot make a certificate: {0}")]
    Generate(#[from] rcgen::Error),
    /// The CA given to issue from is unusable.
    #[error("{what}")]
    InvalidCa {
        /// What is wrong with it.
        what: &'static str,
    },
    /// A file already exists and overwriting was not asked for.
    #[error("{path} already exists (use --force to overwrite)")]
    Exists {
        /// The file.
        path: PathBuf,
    },
    /// A file could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// What [`generate`] or [`issue`] makes, as PEM text.
pub struct ClusterCertificates {
    /// A new CA, when one was made: its certificate (what clients and nodes trust) and its key.
    pub new_ca: Option<NewCa>,
    /// One per node, in the order asked for.
    pub nodes: Vec<NodeCertificate>,
}

/// A CA made by [`generate`].
pub struct NewCa {
    /// The CA certificate: what clients (`--ca-bundle`, `TRENT_CA_CERT`) and nodes (`--tls-ca`) trust.
    pub cert_pem: String,
    /// The CA's private key: keep it offline; only needed to issue more node certificates.
    pub key_pem: Zeroizing<String>,
}

/// One node's certificate and key.
pub struct NodeCertificate {
    /// The node's name, its certificate's first DNS name and the stem of its file names.
    pub name: String,
    /// Its certificate, issued by the CA.
    pub cert_pem: String,
    /// Its private key.
    pub key_pem: Zeroizing<String>,
}

/// Makes a CA and a certificate per node in `node_names`. Each node certificate names the node
/// and every entry of `extra_names` (DNS names or IP addresses, e.g. `localhost`, `127.0.0.1`, a
/// load balancer's name) and is valid from an hour ago for `valid_days`.
pub fn generate(
    node_names: &[String],
    extra_names: &[String],
    valid_days: u32,
) -> Result<ClusterCertificates, CertError> {
    let request = NodeRequest::check(node_names, extra_names, valid_days)?;
    let mut ca_params = CertificateParams::default();
    // A name of its own, so that certificates of two clusters' CAs are never mistaken for each
    // other's (a verifier picks the issuer by name before it checks the signature).
    let ca_id = uuid::Uuid::new_v4().simple().to_string();
    ca_params.distinguished_name = named(&format!("Trent cluster CA {}", &ca_id[..12]));
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca_params.not_before = request.not_before;
    ca_params.not_after = request.not_after;
    let ca_key = KeyPair::generate()?;
    let key_pem = Zeroizing::new(ca_key.serialize_pem());
    let ca = CertifiedIssuer::self_signed(ca_params, ca_key)?;
    let nodes = request.issue(&ca)?;
    Ok(ClusterCertificates { new_ca: Some(NewCa { cert_pem: ca.pem(), key_pem }), nodes })
}

/// Issues node certificates from an existing CA (its certificate and key in PEM), e.g. for a
/// node that joins later or to renew certificates without changing what everyone trusts.
pub fn issue(
    ca_cert_pem: &str,
    ca_key_pem: &str,
    node_names: &[String],
    extra_names: &[String],
    valid_days: u32,
) -> Result<ClusterCertificates, CertError> {
    let request = NodeRequest::check(node_names, extra_names, valid_days)?;
    let key = KeyPair::from_pem(ca_key_pem)
        .map_err(|_| CertError::InvalidCa { what: "the CA key is not a PEM private key" })?;
    let ca = Issuer::from_ca_cert_pem(ca_cert_pem, key)
        .map_err(|_| CertError::InvalidCa { what: "the CA certificate is not a PEM certificate" })?;
    let nodes = request.issue(&ca)?;
    Ok(ClusterCertificates { new_ca: None, nodes })
}

/// Checked node names, extra names and validity.
struct NodeRequest<'a> {
    node_names: &'a [String],
    extra_sans: Vec<SanType>,
    not_before: time::OffsetDateTime,
    not_after: time::OffsetDateTime,
}

impl<'a> NodeRequest<'a> {
    fn check(node_names: &'a [String], extra_names: &[String], valid_days: u32) -> Result<Self, CertError> {
        if node_names.is_empty() || node_names.len() > MAX_NODES {
            return Err(CertError::Limit { what: format!("give 1 to {MAX_NODES} node names") });
        }
        if extra_names.len() > MAX_EXTRA_NAMES {
            return Err(CertError::Limit { what: format!("give at most {MAX_EXTRA_NAMES} extra names") });
        }
        if valid_days == 0 || valid_days > MAX_VALID_DAYS {
            return Err(CertError::Limit { what: format!("validity must be 1 to {MAX_VALID_DAYS} days") });
        }
        for (index, name) in node_names.iter().enumerate() {
            if !is_dns_name(name) || node_names[..index].contains(name) {
                return Err(CertError::InvalidNodeName { name: name.clone() });
            }
        }
        let extra_sans = extra_names.iter().map(|name| san(name)).collect::<Result<Vec<_>, _>>()?;
        let now = time::OffsetDateTime::now_utc();
        Ok(NodeRequest {
            node_names,
            extra_sans,
            not_before: now - time::Duration::hours(1),
            not_after: now + time::Duration::days(i64::from(valid_days)),
        })
    }

    /// A certificate per node, signed by `ca`, for both TLS roles of a node.
    fn issue(&self, ca: &Issuer<'_, impl rcgen::SigningKey>) -> Result<Vec<NodeCertificate>, CertError> {
        let mut nodes = Vec::with_capacity(self.node_names.len());
        for name in self.node_names {
            let mut params = CertificateParams::default();
            params.distinguished_name = named(name);
            params.subject_alt_names = vec![san(name)?];
            params.subject_alt_names.extend(self.extra_sans.iter().cloned());
            params.is_ca = IsCa::ExplicitNoCa;
            params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
            params.extended_key_usages =
                vec![ExtendedKeyUsagePurpose::ServerAuth, ExtendedKeyUsagePurpose::ClientAuth];
            params.not_before = self.not_before;
            params.not_after = self.not_after;
            params.use_authority_key_identifier_extension = true;
            let key = KeyPair::generate()?;
            let cert = params.signed_by(&key, ca)?;
            nodes.push(NodeCertificate {
                name: name.clone(),
                cert_pem: cert.pem(),
                key_pem: Zeroizing::new(key.serialize_pem()),
            });
        }
        Ok(nodes)
    }
}

impl ClusterCertificates {
    /// Writes `ca.pem` and `ca.key` (for a new CA) and `<node>.pem` / `<node>.key` per node into
    /// `dir` (created if missing); keys get mode 0600. Without `overwrite` every file is created
    /// new (an existing file or symlink is refused, and the files this call already wrote are
    /// removed again); with it, each file is written beside its target and renamed over it, so a
    /// symlink is replaced, never followed. Returns the paths written.
    pub fn write_to(&self, dir: &Path, overwrite: bool) -> Result<Vec<PathBuf>, CertError> {
        let mut files: Vec<(PathBuf, &str, bool)> = Vec::new();
        if let Some(ca) = &self.new_ca {
            files.push((dir.join("ca.pem"), ca.cert_pem.as_str(), false));
            files.push((dir.join("ca.key"), ca.key_pem.as_str(), true));
        }
        for node in &self.nodes {
            files.push((dir.join(format!("{}.pem", node.name)), node.cert_pem.as_str(), false));
            files.push((dir.join(format!("{}.key", node.name)), node.key_pem.as_str(), true));
        }
        std::fs::create_dir_all(dir).map_err(|source| CertError::Write { path: dir.to_owned(), source })?;
        let mut written: Vec<PathBuf> = Vec::with_capacity(files.len());
        for (path, text, secret) in &files {
            let result = if overwrite {
                replace_file(path, text.as_bytes(), *secret)
            } else {
                create_file(path, text.as_bytes(), *secret)
            };
            if let Err(source) = result {
                if !overwrite {
                    for done in &written {
                        let _ = std::fs::remove_file(done);
                    }
                }
                return Err(match source.kind() {
                    std::io::ErrorKind::AlreadyExists => CertError::Exists { path: path.clone() },
                    _ => CertError::Write { path: path.clone(), source },
                });
            }
            written.push(path.clone());
        }
        Ok(written)
    }
}

/// Creates `path` new (O_EXCL: an existing file or symlink fails) with the given mode and
/// contents, synced.
fn create_file(path: &Path, bytes: &[u8], secret: bool) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(if secret { 0o600 } else { 0o644 });
    }
    #[cfg(not(unix))]
    let _ = secret;
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Replaces `path` by writing a new file beside it and renaming it over: the rename replaces a
/// symlink rather than writing where it points.
fn replace_file(path: &Path, bytes: &[u8], secret: bool) -> std::io::Result<()> {
    let file_name = path.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
    let staging = path.with_file_name(format!(".{file_name}.{}.new", uuid::Uuid::new_v4().simple()));
    create_file(&staging, bytes, secret)?;
    std::fs::rename(&staging, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&staging);
    })
}

fn named(common_name: &str) -> DistinguishedName {
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, common_name);
    name.push(DnType::OrganizationName, "Trent");
    name
}

/// Letters, digits, `-` and `.`, not starting with either punctuation, at most 253 bytes: a
/// host name, which is also safe as a file name stem.
fn is_dns_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && !name.starts_with(['.', '-'])
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

fn san(name: &str) -> Result<SanType, CertError> {
    let invalid = || CertError::InvalidName { name: name.to_owned() };
    if let Ok(ip) = name.parse::<IpAddr>() {
        return Ok(SanType::IpAddress(ip));
    }
    if !is_dns_name(name) {
        return Err(invalid());
    }
    Ok(SanType::DnsName(name.to_owned().try_into().map_err(|_| invalid())?))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use rustls::client::danger::ServerCertVerifier;
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, ServerName, UnixTime};

    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|name| name.to_string()).collect()
    }

    /// Whether `cert_pem` verifies, for `name`, against a trust store holding only `ca_pem`.
    fn verifies(ca_pem: &str, cert_pem: &str, name: &str) -> bool {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(CertificateDer::from_pem_slice(ca_pem.as_bytes()).unwrap()).unwrap();
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let verifier = rustls::client::WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
            .build()
            .unwrap();
        let cert = CertificateDer::from_pem_slice(cert_pem.as_bytes()).unwrap();
        let server_name = ServerName::try_from(name.to_owned()).unwrap();
        verifier.verify_server_cert(&cert, &[], &server_name, &[], UnixTime::now()).is_ok()
    }

    #[test]
    fn makes_a_ca_and_one_certificate_per_node_that_it_verifies() {
        let made = generate(&names(&["trent1", "trent2"]), &names(&["localhost", "127.0.0.1"]), 30).unwrap();
        let ca = made.new_ca.as_ref().unwrap();
        assert!(ca.key_pem.contains("PRIVATE KEY"));
        let stems: Vec<&str> = made.nodes.iter().map(|node| node.name.as_str()).collect();
        assert_eq!(stems, ["trent1", "trent2"]);
        for node in &made.nodes {
            for name in [node.name.as_str(), "localhost", "127.0.0.1"] {
                assert!(verifies(&ca.cert_pem, &node.cert_pem, name), "{} for {name}", node.name);
            }
            assert!(!verifies(&ca.cert_pem, &node.cert_pem, "elsewhere"), "only its own names");
        }
        let other = generate(&names(&["trent1"]), &[], 30).unwrap();
        assert!(!verifies(&other.new_ca.unwrap().cert_pem, &made.nodes[0].cert_pem, "trent1"));
    }

    #[test]
    fn issues_more_node_certificates_from_an_existing_ca() {
        let made = generate(&names(&["trent1"]), &[], 30).unwrap();
        let ca = made.new_ca.as_ref().unwrap();
        let more = issue(&ca.cert_pem, &ca.key_pem, &names(&["trent4"]), &names(&["10.0.0.4"]), 30).unwrap();
        assert!(more.new_ca.is_none());
        assert!(verifies(&ca.cert_pem, &more.nodes[0].cert_pem, "trent4"));
        assert!(verifies(&ca.cert_pem, &more.nodes[0].cert_pem, "10.0.0.4"));
        let garbage = issue("not pem", &ca.key_pem, &names(&["n"]), &[], 30);
        assert!(matches!(garbage, Err(CertError::InvalidCa { .. })));
        let no_key = issue(&ca.cert_pem, "not a key", &names(&["n"]), &[], 30);
        assert!(matches!(no_key, Err(CertError::InvalidCa { .. })));
    }

    #[test]
    fn refuses_bad_names_and_limits() {
        for bad in [&["../x"][..], &["a b"], &["a", "a"], &[""], &[]] {
            assert!(generate(&names(bad), &[], 30).is_err(), "{bad:?}");
        }
        assert!(matches!(
            generate(&names(&["n"]), &names(&["bad name!"]), 30),
            Err(CertError::InvalidName { .. })
        ));
        assert!(matches!(generate(&names(&["n"]), &[], 0), Err(CertError::Limit { .. })));
        assert!(matches!(generate(&names(&["n"]), &[], MAX_VALID_DAYS + 1), Err(CertError::Limit { .. })));
    }

    #[test]
    fn writes_private_keys_unreadable_to_others_never_clobbers_and_never_follows_symlinks() {
        let dir = std::env::temp_dir().join(format!("trent-certs-{}", uuid::Uuid::new_v4()));
        let made = generate(&names(&["n1"]), &[], 1).unwrap();
        let written = made.write_to(&dir, false).unwrap();
        assert_eq!(written.len(), 4);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |name: &str| std::fs::metadata(dir.join(name)).unwrap().permissions().mode() & 0o777;
            assert_eq!((mode("ca.key"), mode("n1.key"), mode("n1.pem")), (0o600, 0o600, 0o644));
        }
        assert!(matches!(made.write_to(&dir, false), Err(CertError::Exists { .. })));
        made.write_to(&dir, true).unwrap();

        #[cfg(unix)]
        {
            // A key path planted as a symlink: refused without --force, replaced (not followed) with it.
            let victim = dir.join("victim");
            std::fs::write(&victim, b"untouched").unwrap();
            let fresh = dir.join("fresh");
            std::fs::create_dir(&fresh).unwrap();
            std::os::unix::fs::symlink(&victim, fresh.join("n1.key")).unwrap();
            assert!(matches!(made.write_to(&fresh, false), Err(CertError::Exists { .. })));
            assert!(!fresh.join("ca.pem").exists(), "files written before the refusal are removed");
            made.write_to(&fresh, true).unwrap();
            assert_eq!(std::fs::read(&victim).unwrap(), b"untouched");
            assert!(!std::fs::symlink_metadata(fresh.join("n1.key")).unwrap().file_type().is_symlink());
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
