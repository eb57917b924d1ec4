//! Arguments of the `trent` CLI, declared with clap's derive API, and the parsers for the
//! shorthand the CLI accepts (`KEY=VALUE` tags, bare alias names).

use clap::{Args, Parser, Subcommand};
use trent_client::wire::kms::Tag;

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
    /// Create, list and delete API access keys.
    #[command(subcommand, name = "access-keys")]
    AccessKeys(super::operator::AccessKeysCommand),
}

/// `trent keys ...`
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a key.
    Create(CreateKeyArgs),
    /// List every key (follows pagination to the end).
    List,
    /// Show a key's metadata.
    Describe {
        /// Key id, key ARN, alias name or alias ARN.
        key: String,
    },
    /// Enable a key.
    Enable {
        /// Key id, key ARN, alias name or alias ARN.
        key: String,
    },
    /// Disable a key.
    Disable {
        /// Key id, key ARN, alias name or alias ARN.
        key: String,
    },
    /// Schedule a key for deletion.
    ScheduleDeletion {
        /// Key id or key ARN.
        key: String,
        /// Waiting period in days, 7–30 (server default 30).
        #[arg(long, value_name = "N")]
        days: Option<i64>,
    },
    /// Cancel a scheduled deletion (the key is left disabled).
    CancelDeletion {
        /// Key id or key ARN.
        key: String,
    },
    /// Replace a key's description.
    UpdateDescription {
        /// Key id or key ARN.
        key: String,
        /// The new description.
        description: String,
    },
}

/// `trent keys create` options.
#[derive(Debug, Args)]
pub struct CreateKeyArgs {
    /// Description of the key.
    #[arg(long)]
    pub description: Option<String>,
    /// Key spec, e.g. SYMMETRIC_DEFAULT, RSA_2048, ECC_NIST_P256, HMAC_256.
    #[arg(long)]
    pub key_spec: Option<String>,
    /// Key usage, e.g. ENCRYPT_DECRYPT, SIGN_VERIFY, GENERATE_VERIFY_MAC.
    #[arg(long)]
    pub key_usage: Option<String>,
    /// A tag to attach; repeat for more.
    #[arg(long = "tag", value_name = "KEY=VALUE", value_parser = parse_tag)]
    pub tags: Vec<Tag>,
}

/// `trent aliases ...`
#[derive(Debug, Subcommand)]
pub enum AliasesCommand {
    /// Create an alias for a key.
    Create {
        /// Alias name.
        #[arg(value_parser = parse_alias_name)]
        alias: String,
        /// Key id or key ARN.
        key: String,
    },
    /// Point an existing alias at another key.
    Update {
        /// Alias name.
        #[arg(value_parser = parse_alias_name)]
        alias: String,
        /// Key id or key ARN.
        key: String,
    },
    /// Delete an alias.
    Delete {
        /// Alias name.
        #[arg(value_parser = parse_alias_name)]
        alias: String,
    },
    /// List aliases (follows pagination to the end).
    List {
        /// Only aliases of this key.
        #[arg(long)]
        key: Option<String>,
    },
}

/// `trent tags ...`
#[derive(Debug, Subcommand)]
pub enum TagsCommand {
    /// Add or overwrite tags on a key.
    Add {
        /// Key id or key ARN.
        key: String,
        /// Tags to set.
        #[arg(required = true, value_name = "KEY=VALUE", value_parser = parse_tag)]
        tags: Vec<Tag>,
    },
    /// Remove tags from a key.
    Remove {
        /// Key id or key ARN.
        key: String,
        /// Tag keys to remove.
        #[arg(required = true, value_name = "KEY")]
        tag_keys: Vec<String>,
    },
    /// List a key's tags (follows pagination to the end).
    List {
        /// Key id or key ARN.
        key: String,
    },
}

/// `trent cluster ...`
#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// The cluster as one node sees it: leader, term, log indexes, members.
    Status,
    /// The health of every endpoint; exits 1 if any does not answer.
    Health,
}

/// `trent members ...`
#[derive(Debug, Subcommand)]
pub enum MembersCommand {
    /// Add a node as a learner.
    Add {
        /// The new node's id.
        node_id: u64,
        /// Its client API address (host:port).
        api_addr: String,
        /// Its Raft peer address (host:port).
        peer_addr: String,
    },
    /// Make a learner a voter.
    Promote {
        /// The node's id.
        node_id: u64,
    },
    /// Remove a node from the cluster.
    Remove {
        /// The node's id.
        node_id: u64,
    },
}

/// Parses `KEY=VALUE` (split at the first `=`; the value may be empty, the key may not).
pub fn parse_tag(text: &str) -> Result<Tag, String> {
    let (key, value) = text.split_once('=').ok_or_else(|| format!("expected KEY=VALUE, got {text:?}"))?;
    if key.is_empty() {
        return Err(format!("tag key is empty in {text:?}"));
    }
    Ok(Tag { tag_key: key.to_owned(), tag_value: value.to_owned() })
}

/// Accepts `alias/<name>`, an alias ARN, or a bare `<name>` (given the `alias/` prefix).
pub fn parse_alias_name(text: &str) -> Result<String, String> {
    if text.is_empty() {
        return Err("alias name is empty".to_owned());
    }
    if text.starts_with("alias/") || text.starts_with("arn:") {
        Ok(text.to_owned())
    } else {
        Ok(format!("alias/{text}"))
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
    fn tag_splits_at_first_equals() {
        let tag = parse_tag("env=a=b").unwrap();
        assert_eq!((tag.tag_key.as_str(), tag.tag_value.as_str()), ("env", "a=b"));
        let empty_value = parse_tag("flag=").unwrap();
        assert_eq!(empty_value.tag_value, "");
        assert!(parse_tag("novalue").is_err());
        assert!(parse_tag("=v").is_err());
    }

    #[test]
    fn alias_prefix_is_added_when_missing() {
        assert_eq!(parse_alias_name("prod").unwrap(), "alias/prod");
        assert_eq!(parse_alias_name("alias/prod").unwrap(), "alias/prod");
        let arn = "arn:aws:kms:us-east-1:111122223333:alias/prod";
        assert_eq!(parse_alias_name(arn).unwrap(), arn);
        assert!(parse_alias_name("").is_err());
    }

    #[test]
    fn parses_create_with_repeated_tags_and_global_flags() {
        let cli = Cli::try_parse_from([
            "trent",
            "keys",
            "create",
            "--description",
            "d",
            "--tag",
            "a=1",
            "--tag",
            "b=2",
            "--json",
            "--endpoints",
            "http://a:1,http://b:2",
        ])
        .unwrap();
        assert!(cli.json);
        assert_eq!(cli.endpoints, ["http://a:1", "http://b:2"]);
        let Command::Keys(KeysCommand::Create(args)) = cli.command else {
            panic!("wrong command: {:?}", cli.command);
        };
        assert_eq!(args.description.as_deref(), Some("d"));
        let keys: Vec<&str> = args.tags.iter().map(|t| t.tag_key.as_str()).collect();
        assert_eq!(keys, ["a", "b"]);
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
        ] {
            assert_eq!(ok(args), Ok(()), "{args:?}");
        }
        assert!(ok(&["tags", "add", "k"]).is_err(), "tags add needs a tag");
        assert!(ok(&["tags", "add", "k", "oops"]).is_err(), "tags need KEY=VALUE");
        assert!(ok(&["members", "promote", "x"]).is_err(), "node ids are numbers");
        assert!(ok(&["operator", "gen-certs", "--out-dir", "c"]).is_err(), "gen-certs needs a node");
    }
}
