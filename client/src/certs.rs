//! Certificates for a cluster (`trent operator gen-certs`): a private CA, and for each node a
//! certificate it issued that serves both TLS roles a node plays — server on its client and peer
//! ports, client when it dials a peer (mutual TLS). ECDSA P-256 keys, made with rcgen.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DistinguishedName, DnType, ExtendedKeyUsagePurpose,
    IsCa, KeyPair, KeyUsagePurpose, SanType,
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

/// What [`generate`] makes, as PEM text.
pub struct ClusterCertificates {
    /// The CA certificate: what clients (`--ca-bundle`, `TRENT_CA_CERT`) and nodes (`--tls-ca`) trust.
    pub ca_cert_pem: String,
    /// The CA's private key: keep it offline; only needed to issue more node certificates.
    pub ca_key_pem: Zeroizing<String>,
    /// One per node, in the order asked for.
    pub nodes: Vec<NodeCertificate>,
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
    let not_before = now - time::Duration::hours(1);
    let not_after = now + time::Duration::days(i64::from(valid_days));

    let mut ca_params = CertificateParams::default();
    // A name of its own, so that certificates of two clusters' CAs are never mistaken for each
    // other's (a verifier picks the issuer by name before it checks the signature).
    let ca_id = uuid::Uuid::new_v4().simple().to_string();
    ca_params.distinguished_name = named(&format!("Trent cluster CA {}", &ca_id[..12]));
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca_params.not_before = not_before;
    ca_params.not_after = not_after;
    let ca_key = KeyPair::generate()?;
    let ca_key_pem = Zeroizing::new(ca_key.serialize_pem());
    let ca = CertifiedIssuer::self_signed(ca_params, ca_key)?;

    let mut nodes = Vec::with_capacity(node_names.len());
    for name in node_names {
        let mut params = CertificateParams::default();
        params.distinguished_name = named(name);
        params.subject_alt_names = std::iter::once(san(name)).collect::<Result<Vec<_>, _>>()?;
        params.subject_alt_names.extend(extra_sans.iter().cloned());
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages =
            vec![ExtendedKeyUsagePurpose::ServerAuth, ExtendedKeyUsagePurpose::ClientAuth];
        params.not_before = not_before;
        params.not_after = not_after;
        params.use_authority_key_identifier_extension = true;
        let key = KeyPair::generate()?;
        let cert = params.signed_by(&key, &ca)?;
        nodes.push(NodeCertificate {
            name: name.clone(),
            cert_pem: cert.pem(),
            key_pem: Zeroizing::new(key.serialize_pem()),
        });
    }
    Ok(ClusterCertificates { ca_cert_pem: ca.pem(), ca_key_pem, nodes })
}

impl ClusterCertificates {
    /// Writes `ca.pem`, `ca.key`, and `<node>.pem` / `<node>.key` per node into `dir` (created if
    /// missing). Keys are created with mode 0600. Refuses to replace a file unless `overwrite`;
    /// nothing is written if any file would be refused. Returns the paths written.
    pub fn write_to(&self, dir: &Path, overwrite: bool) -> Result<Vec<PathBuf>, CertError> {
        let mut files: Vec<(PathBuf, &str, bool)> = vec![
            (dir.join("ca.pem"), self.ca_cert_pem.as_str(), false),
            (dir.join("ca.key"), self.ca_key_pem.as_str(), true),
        ];
        for node in &self.nodes {
            files.push((dir.join(format!("{}.pem", node.name)), node.cert_pem.as_str(), false));
            files.push((dir.join(format!("{}.key", node.name)), node.key_pem.as_str(), true));
        }
        if !overwrite {
            if let Some((path, _, _)) = files.iter().find(|(path, _, _)| path.exists()) {
                return Err(CertError::Exists { path: path.clone() });
            }
        }
        std::fs::create_dir_all(dir).map_err(|source| CertError::Write { path: dir.to_owned(), source })?;
        for (path, text, secret) in &files {
            write_file(path, text.as_bytes(), *secret)
                .map_err(|source| CertError::Write { path: path.clone(), source })?;
        }
        Ok(files.into_iter().map(|(path, _, _)| path).collect())
    }
}

fn write_file(path: &Path, bytes: &[u8], secret: bool) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        options.mode(if secret { 0o600 } else { 0o644 });
        let mut file = options.open(path)?;
        // An existing file keeps its old mode on open; a key must not stay readable by others.
        file.set_permissions(std::fs::Permissions::from_mode(if secret { 0o600 } else { 0o644 }))?;
        file.write_all(bytes)?;
        file.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = secret;
        let mut file = options.open(path)?;
        file.write_all(bytes)?;
        file.sync_all()
    }
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
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|name| name.to_string()).collect()
    }

    #[test]
    fn makes_a_ca_and_one_certificate_per_node() {
        let made = generate(&names(&["trent1", "trent2"]), &names(&["localhost", "127.0.0.1"]), 30).unwrap();
        assert!(made.ca_cert_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(made.ca_key_pem.contains("PRIVATE KEY"));
        let stems: Vec<&str> = made.nodes.iter().map(|node| node.name.as_str()).collect();
        assert_eq!(stems, ["trent1", "trent2"]);
        assert!(made.nodes.iter().all(|node| node.key_pem.contains("PRIVATE KEY")));
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
    fn writes_files_with_private_keys_unreadable_to_others_and_never_clobbers() {
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
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
