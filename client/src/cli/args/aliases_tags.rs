//! `trent aliases` and `trent tags`: the names and labels a key carries.

use clap::Subcommand;
use trent_client::wire::kms::Tag;

use super::values::{parse_alias_name, parse_tag};

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
