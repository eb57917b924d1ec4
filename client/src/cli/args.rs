//! Arguments of the `trent` CLI, declared with clap's derive API: the global options and the
//! list of command groups here, each group's arguments in a module of its own, and the
//! shorthand values they accept (`KEY=VALUE`, `-`, sizes, names) in [`values`].

mod aliases_tags;
mod asymmetric;
mod audit;
mod cluster;
mod envelope;
mod identity;
mod key_material;
mod keys;
mod values;

use clap::{Parser, Subcommand};

pub use aliases_tags::{AliasesCommand, TagsCommand};
pub use asymmetric::*;
pub use audit::{AuditCommand, FilterArgs, QueryArgs, TailArgs, VerifyArgs};
pub use cluster::{ClusterCommand, MembersCommand};
pub use envelope::{DecryptArgs, EncryptArgs};
pub use identity::{PolicyCommand, UsersCommand};
pub use key_material::{ImportArgs, KeyMaterialCommand, RotationCommand};
pub use keys::KeysCommand;
pub use values::{parse_user_name, DataPath};

/// Operator CLI for a Trent cluster (an AWS-KMS-compatible key management service).
#[derive(Debug, Parser)]
#[command(name = "trent", version)]
pub struct Cli {
    /// Comma-separated client API endpoints of the cluster's nodes.
    #[arg(
        long,
        global = true,
        env = "TRENT_ENDPOINTS",
        value_delimiter = ',',
        default_value = "http://127.0.0.1:8400"
    )]
    pub endpoints: Vec<String>,
    /// PEM CA bundle to trust for https endpoints (the cluster's ca.pem); system roots otherwise.
    #[arg(long, global = true, env = "TRENT_CA_CERT", value_name = "PEM")]
    pub ca_cert: Option<std::path::PathBuf>,
    /// Access key id to sign requests with (SigV4).
    // The ids differ from the field names: `access-keys delete` has an `access_key_id` of its own.
    #[arg(
        id = "signing_access_key_id",
        long = "access-key-id",
        global = true,
        env = "AWS_ACCESS_KEY_ID",
        value_name = "ID"
    )]
    pub access_key_id: Option<String>,
    /// Secret of the access key. Prefer the environment variable: flags show in `ps`.
    #[arg(
        id = "signing_secret_access_key",
        long = "secret-access-key",
        global = true,
        env = "AWS_SECRET_ACCESS_KEY",
        hide_env_values = true,
        value_name = "SECRET"
    )]
    pub secret_access_key: Option<String>,
    /// Region in the signature's scope (default: AWS_DEFAULT_REGION, else us-east-1).
    #[arg(id = "signing_region", long = "region", global = true, env = "AWS_REGION", value_name = "REGION")]
    pub region: Option<String>,
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// Per-attempt timeout in seconds.
    #[arg(long, global = true, value_name = "SECS", default_value_t = 10)]
    pub timeout: u64,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Top-level command groups.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create, inspect and change keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Manage aliases (`alias/<name>`; the `alias/` prefix may be left out).
    #[command(subcommand)]
    Aliases(AliasesCommand),
    /// Manage key tags.
    #[command(subcommand)]
    Tags(TagsCommand),
    /// Inspect the cluster.
    #[command(subcommand)]
    Cluster(ClusterCommand),
    /// Change cluster membership.
    #[command(subcommand)]
    Members(MembersCommand),
    /// Initialise, unseal, seal and inspect the seal of the cluster's nodes.
    #[command(subcommand)]
    Operator(super::operator::OperatorCommand),
    /// Create, list and delete API access keys (each acts as a user, `admin` by default).
    #[command(subcommand, name = "access-keys")]
    AccessKeys(super::operator::AccessKeysCommand),
    /// Manage users, the principals access keys act as, and their inline identity policies.
    #[command(subcommand)]
    Users(UsersCommand),
    /// Ask how the cluster's key policies, identity policies and grants decide a call.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Encrypt a file or stdin of any size into an envelope under a KMS key (streamed).
    Encrypt(EncryptArgs),
    /// Decrypt an envelope made by `trent encrypt`, verifying every chunk (streamed).
    Decrypt(DecryptArgs),
    /// Sign, verify, MAC, key agreement, ML-KEM and data key pairs: one command per operation.
    #[command(flatten)]
    Asymmetric(AsymmetricCommand),
    /// The audit trail: query and tail it through a node, fetch its public key, verify a log
    /// directory offline (`verify` needs no endpoint or credentials).
    #[command(subcommand)]
    Audit(AuditCommand),
}

impl Cli {
    /// SigV4 signing from `--access-key-id`/`--secret-access-key` (or `AWS_ACCESS_KEY_ID` /
    /// `AWS_SECRET_ACCESS_KEY`) in `--region` (or `AWS_REGION`, `AWS_DEFAULT_REGION`,
    /// `us-east-1`); unsigned without both keys.
    pub fn signing(&self) -> Option<trent_client::Signing> {
        let (Some(access_key_id), Some(secret)) = (&self.access_key_id, &self.secret_access_key) else {
            return None;
        };
        let region = self.region.clone().unwrap_or_else(trent_client::region_from_env);
        Some(trent_client::Signing::new(access_key_id.clone(), secret.clone(), region))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn parses_remaining_commands() {
        let ok = |args: &[&str]| {
            let mut argv = vec!["trent"];
            argv.extend_from_slice(args);
            Cli::try_parse_from(argv).map(|_| ()).map_err(|e| e.to_string())
        };
        for args in [
            &["keys", "list"][..],
            &[
                "keys",
                "create",
                "--key-spec",
                "RSA_2048",
                "--key-usage",
                "SIGN_VERIFY",
                "--origin",
                "EXTERNAL",
            ],
            &["keys", "schedule-deletion", "k", "--days", "7"],
            &["keys", "update-description", "k", "new text"],
            &["aliases", "update", "prod", "k"],
            &["aliases", "list", "--key", "k"],
            &["tags", "add", "k", "a=1", "b=2"],
            &["tags", "remove", "k", "a", "b"],
            &["cluster", "health"],
            &["members", "add", "4", "127.0.0.1:8403", "127.0.0.1:8503"],
            &["members", "remove", "4"],
            &[
                "operator",
                "gen-certs",
                "--out-dir",
                "c",
                "--node",
                "n1",
                "--node",
                "n2",
                "--san",
                "127.0.0.1",
            ],
            &["--ca-cert", "ca.pem", "--endpoints", "https://a:1", "keys", "list"],
            &["keys", "list", "--access-key-id", "AK", "--secret-access-key", "s", "--region", "eu-west-1"],
            &["access-keys", "delete", "TRNTOTHER", "--access-key-id", "AK", "--secret-access-key", "s"],
            &["audit", "verify", "/var/lib/trent/audit"],
            &["audit", "verify", "dir", "--public-key", "audit.pem", "--json"],
            &[
                "audit",
                "query",
                "--event-name",
                "Encrypt",
                "--key-id",
                "alias/a",
                "--error-code",
                "*",
                "--cluster",
            ],
            &["audit", "query", "--principal", "bob", "--since", "2026-12-04T00:00:00Z", "--limit", "5"],
            &["audit", "tail", "--count", "3", "--from-start", "--interval-ms", "200"],
            &["audit", "public-key"],
        ] {
            assert_eq!(ok(args), Ok(()), "{args:?}");
        }
        assert!(ok(&["keys", "create", "--origin", "AWS_CLOUDHSM"]).is_err(), "no custom key stores");
        assert!(ok(&["tags", "add", "k"]).is_err(), "tags add needs a tag");
        assert!(ok(&["audit", "verify"]).is_err(), "audit verify needs a directory");
        assert!(ok(&["tags", "add", "k", "oops"]).is_err(), "tags need KEY=VALUE");
        assert!(ok(&["members", "promote", "x"]).is_err(), "node ids are numbers");
        assert!(ok(&["operator", "gen-certs", "--out-dir", "c"]).is_err(), "gen-certs needs a node");
        let half_issuer =
            ["operator", "gen-certs", "--out-dir", "c", "--node", "n", "--issuer-cert", "ca.pem"];
        assert!(ok(&half_issuer).is_err(), "an issuer needs its key");
    }

    #[test]
    fn signing_flags_do_not_collide_with_command_arguments_of_the_same_name() {
        let cli = Cli::try_parse_from([
            "trent",
            "--access-key-id",
            "ADMIN",
            "--secret-access-key",
            "s",
            "access-keys",
            "delete",
            "TRNTOTHER",
        ])
        .unwrap();
        assert_eq!(cli.signing().map(|signing| signing.credentials.access_key_id), Some("ADMIN".to_owned()));
        let Command::AccessKeys(super::super::operator::AccessKeysCommand::Delete { access_key_id }) =
            cli.command
        else {
            panic!("wrong command: {:?}", cli.command);
        };
        assert_eq!(access_key_id, "TRNTOTHER");
    }
}
