//! The servers the harness can load, each behind a small protocol adapter with one `call`: the
//! AWS KMS protocol (Trent, moto, AWS), Vault's transit API (OpenBao), etcd's JSON gateway, the
//! bare-HTTP ceiling (`trent-echo`) and the in-process crypto ceiling.

mod echo;
mod etcd;
mod http;
pub mod key_kind;
pub mod kms;
mod local;
mod transit;

use clap::ValueEnum;

pub use echo::EchoTarget;
pub use etcd::EtcdTarget;
pub use key_kind::KeyKind;
pub use kms::KmsTarget;
pub use local::LocalCrypto;
pub use transit::TransitTarget;

use crate::workload::Op;

/// Which protocol the endpoints speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TargetKind {
    /// AWS KMS JSON 1.1 with SigV4 (Trent, moto, AWS KMS).
    Kms,
    /// Vault/OpenBao transit engine (`X-Vault-Token` from `VAULT_TOKEN` or `BAO_TOKEN`).
    Transit,
    /// etcd v3 JSON gateway (create-key = put, describe-key = range).
    Etcd,
    /// A server that answers every request without work (`trent-echo`), sent the same signed
    /// request as a KMS run: the HTTP ceiling.
    Echo,
    /// The operation's cryptography in this process, as the server does it (AES-256-GCM with
    /// aws-lc-rs; sign, verify, generate-mac, derive-shared-secret, encapsulate and create-key
    /// with trent-keys on `--key-spec` keys): the crypto ceiling. Also `local-aes`.
    #[value(alias = "local-aes")]
    Local,
}

impl TargetKind {
    /// The name on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            TargetKind::Kms => "kms",
            TargetKind::Transit => "transit",
            TargetKind::Etcd => "etcd",
            TargetKind::Echo => "echo",
            TargetKind::Local => "local",
        }
    }
}

/// A prepared target.
pub enum Target {
    /// AWS KMS protocol.
    Kms(KmsTarget),
    /// Vault transit.
    Transit(TransitTarget),
    /// etcd.
    Etcd(EtcdTarget),
    /// HTTP ceiling.
    Echo(EchoTarget),
    /// Crypto ceiling.
    Local(LocalCrypto),
}

impl Target {
    /// Sends call number `sequence` as `op`; on failure, the error's type for counting.
    pub async fn call(&self, op: Op, sequence: u64) -> Result<(), String> {
        match self {
            Target::Kms(target) => target.call(op, sequence).await,
            Target::Transit(target) => target.call(op, sequence).await,
            Target::Etcd(target) => target.call(op, sequence).await,
            Target::Echo(target) => target.call(op).await,
            Target::Local(target) => target.call(op),
        }
    }

    /// How many keys calls spread over (1 for targets without keys).
    pub fn key_count(&self) -> usize {
        match self {
            Target::Kms(target) => target.key_count().max(1),
            Target::Transit(target) => target.key_count().max(1),
            _ => 1,
        }
    }
}
