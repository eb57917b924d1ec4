//! `trent keys`: create, list, describe, enable, disable, schedule and cancel deletion of keys,
//! and change their description; the commands on their material are in [`super::key_material`].

use clap::{Args, Subcommand};
use trent_client::wire::kms::Tag;

use super::key_material::KeyMaterialCommand;
use super::values::parse_tag;

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
    /// Rotation and imported material (need a server that serves them: issue 16).
    #[command(flatten)]
    Material(KeyMaterialCommand),
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
    /// Where the material comes from: AWS_KMS (made by Trent, the default) or EXTERNAL
    /// (imported later with `trent keys import`).
    #[arg(long, value_parser = ["AWS_KMS", "EXTERNAL"])]
    pub origin: Option<String>,
    /// A tag to attach; repeat for more.
    #[arg(long = "tag", value_name = "KEY=VALUE", value_parser = parse_tag)]
    pub tags: Vec<Tag>,
}

#[cfg(test)]
mod tests {
    use crate::cli::args::{Cli, Command};
    use clap::Parser;

    use super::*;

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
}
