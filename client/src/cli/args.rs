//! Arguments of the `trent` CLI, declared with clap's derive API, and the parsers for the
//! shorthand the CLI accepts (`KEY=VALUE` tags and context entries, bare alias names, `-` for
//! stdin/stdout, byte sizes with a `KiB`/`MiB` suffix, user names).

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use trent_client::envelope::ChunkSize;
use trent_client::wire::admin::{AuthorizeRequest, ConditionValues};
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
}

/// `trent encrypt` options.
#[derive(Debug, Args)]
pub struct EncryptArgs {
    /// The KMS key that wraps the data key: key id, key ARN, alias name or alias ARN.
    #[arg(long)]
    pub key_id: String,
    /// An encryption context entry, bound to the data key and stored in the envelope (not
    /// secret); repeat for more.
    #[arg(long = "context", value_name = "KEY=VALUE", value_parser = parse_context_entry)]
    pub context: Vec<(String, String)>,
    /// Plaintext bytes per chunk, 4KiB to 4MiB: a number of bytes, or with a KiB or MiB suffix.
    #[arg(long, value_name = "BYTES", default_value = "64KiB", value_parser = parse_chunk_size)]
    pub chunk_size: ChunkSize,
    /// The file to encrypt, or `-` for stdin.
    #[arg(long, value_name = "PATH|-", value_parser = parse_data_path)]
    pub input: DataPath,
    /// Where to write the envelope, or `-` for stdout. A file appears only once complete.
    #[arg(long, value_name = "PATH|-", value_parser = parse_data_path)]
    pub output: DataPath,
}

/// `trent decrypt` options.
#[derive(Debug, Args)]
pub struct DecryptArgs {
    /// The envelope to decrypt, or `-` for stdin.
    #[arg(long, value_name = "PATH|-", value_parser = parse_data_path)]
    pub input: DataPath,
    /// Where to write the plaintext, or `-` for stdout. A file appears only once every chunk
    /// verified; stdout may receive verified leading chunks of an envelope refused later.
    #[arg(long, value_name = "PATH|-", value_parser = parse_data_path)]
    pub output: DataPath,
    /// The KMS key that must have wrapped the envelope's data key (KMS checks it); any other
    /// key is refused, so a file swapped for one made under another key you can use is caught.
    #[arg(long, required_unless_present = "any_key")]
    pub key_id: Option<String>,
    /// Accept an envelope wrapped under any key this caller may use (no `--key-id` check).
    #[arg(long, conflicts_with = "key_id")]
    pub any_key: bool,
    /// A context entry the envelope must hold, with this value; repeat for more.
    #[arg(long = "context", value_name = "KEY=VALUE", value_parser = parse_context_entry)]
    pub context: Vec<(String, String)>,
}

/// A file, or the standard stream (`-`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataPath {
    /// stdin for input, stdout for output.
    Standard,
    /// A file.
    File(PathBuf),
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

/// `trent users ...`
#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Create a user, optionally with an inline identity policy; give it access keys with
    /// `trent access-keys create --user NAME`.
    Create {
        /// The user name: 1–64 of A-Z a-z 0-9 + = , . @ _ -
        #[arg(value_parser = parse_user_name)]
        name: String,
        /// An IAM policy document (JSON) to attach inline: a file, or `-` for stdin.
        #[arg(long, value_name = "FILE|-", value_parser = parse_data_path)]
        policy: Option<DataPath>,
    },
    /// List every user.
    List,
    /// Show a user, its access keys and its inline identity policy.
    Show {
        /// The user name.
        #[arg(value_parser = parse_user_name)]
        name: String,
    },
    /// Set (replace) a user's inline identity policy.
    PutPolicy {
        /// The user name.
        #[arg(value_parser = parse_user_name)]
        name: String,
        /// The IAM policy document (JSON): a file, or `-` for stdin.
        #[arg(long, value_name = "FILE|-", value_parser = parse_data_path)]
        policy: DataPath,
    },
    /// Remove a user's inline identity policy.
    DeletePolicy {
        /// The user name.
        #[arg(value_parser = parse_user_name)]
        name: String,
    },
    /// Delete a user (refused while it has access keys: delete those first).
    Delete {
        /// The user name.
        #[arg(value_parser = parse_user_name)]
        name: String,
    },
}

/// `trent policy ...`
#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Whether a principal would be allowed an action, and which policy statement or grant
    /// decided. Changes nothing; exits 0 for allow and deny alike (the output says which).
    Explain(ExplainArgs),
}

/// `trent policy explain` options.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The caller: a user name or user ARN (`arn:aws:iam::<account>:user/<name>`).
    #[arg(long, value_name = "USER|ARN")]
    pub principal: String,
    /// The action, e.g. `kms:Encrypt`.
    #[arg(long, value_name = "ACTION")]
    pub action: String,
    /// The key, for a key action: key id, key ARN, alias name or alias ARN.
    #[arg(long, value_name = "KEY")]
    pub key_id: Option<String>,
    /// A condition key and its value, e.g. `kms:EncryptionContext:app=billing` or
    /// `aws:SourceIp=10.0.0.7`; repeat for more, and give a key more than once for a
    /// multi-valued key.
    #[arg(long = "context", value_name = "KEY=VALUE", value_parser = parse_context_entry)]
    pub context: Vec<(String, String)>,
}

impl ExplainArgs {
    /// The question for `POST /v1/sys/authorize`: a key given once has one value, a key given
    /// more than once all of its values in the order given.
    pub fn request(&self) -> AuthorizeRequest {
        AuthorizeRequest {
            principal: self.principal.clone(),
            action: self.action.clone(),
            key_id: self.key_id.clone(),
            context: condition_values(&self.context),
        }
    }
}

/// Groups `KEY=VALUE` entries by key: [`ConditionValues::One`] for a key given once,
/// [`ConditionValues::Many`] for one given more than once.
pub fn condition_values(entries: &[(String, String)]) -> BTreeMap<String, ConditionValues> {
    let mut grouped: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (key, value) in entries {
        grouped.entry(key.clone()).or_default().push(value.clone());
    }
    grouped
        .into_iter()
        .map(|(key, mut values)| {
            let values = match values.len() {
                1 => ConditionValues::One(values.remove(0)),
                _ => ConditionValues::Many(values),
            };
            (key, values)
        })
        .collect()
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

/// Parses a tag `KEY=VALUE` (split at the first `=`; the value may be empty, the key may not).
pub fn parse_tag(text: &str) -> Result<Tag, String> {
    let (tag_key, tag_value) = split_key_value(text, "tag")?;
    Ok(Tag { tag_key, tag_value })
}

/// Parses an encryption context entry `KEY=VALUE`, split as [`parse_tag`] splits.
pub fn parse_context_entry(text: &str) -> Result<(String, String), String> {
    split_key_value(text, "context")
}

/// Splits `KEY=VALUE` at the first `=`; the value may be empty, the key may not.
fn split_key_value(text: &str, what: &str) -> Result<(String, String), String> {
    let (key, value) = text.split_once('=').ok_or_else(|| format!("expected KEY=VALUE, got {text:?}"))?;
    if key.is_empty() {
        return Err(format!("{what} key is empty in {text:?}"));
    }
    Ok((key.to_owned(), value.to_owned()))
}

/// `-` is the standard stream; anything else a file path.
pub fn parse_data_path(text: &str) -> Result<DataPath, String> {
    match text {
        "" => Err("the path is empty (use - for stdin or stdout)".to_owned()),
        "-" => Ok(DataPath::Standard),
        path => Ok(DataPath::File(PathBuf::from(path))),
    }
}

/// A chunk size: bytes, or a number with a `K`/`KiB` or `M`/`MiB` suffix (powers of 1024),
/// within the envelope's limits.
pub fn parse_chunk_size(text: &str) -> Result<ChunkSize, String> {
    let digits = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, suffix) = text.split_at(digits);
    let unit: u64 = match suffix.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1024,
        "m" | "mib" => 1024 * 1024,
        _ => return Err(format!("expected a number of bytes, optionally with KiB or MiB, got {text:?}")),
    };
    let bytes = number
        .parse::<u64>()
        .ok()
        .and_then(|count| count.checked_mul(unit))
        .ok_or_else(|| format!("expected a number of bytes, optionally with KiB or MiB, got {text:?}"))?;
    ChunkSize::new(bytes).map_err(|err| err.to_string())
}

/// A user name as the server accepts it: 1–64 of `[A-Za-z0-9+=,.@_-]`.
pub fn parse_user_name(text: &str) -> Result<String, String> {
    if trent_client::is_valid_user_name(text) {
        Ok(text.to_owned())
    } else {
        Err(format!(
            "{text:?} is not a user name: 1 to {} characters of A-Z, a-z, 0-9 and + = , . @ _ -",
            trent_client::MAX_USER_NAME_CHARS
        ))
    }
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
            &["keys", "list", "--access-key-id", "AK", "--secret-access-key", "s", "--region", "eu-west-1"],
            &["access-keys", "delete", "TRNTOTHER", "--access-key-id", "AK", "--secret-access-key", "s"],
        ] {
            assert_eq!(ok(args), Ok(()), "{args:?}");
        }
        assert!(ok(&["tags", "add", "k"]).is_err(), "tags add needs a tag");
        assert!(ok(&["tags", "add", "k", "oops"]).is_err(), "tags need KEY=VALUE");
        assert!(ok(&["members", "promote", "x"]).is_err(), "node ids are numbers");
        assert!(ok(&["operator", "gen-certs", "--out-dir", "c"]).is_err(), "gen-certs needs a node");
        let half_issuer =
            ["operator", "gen-certs", "--out-dir", "c", "--node", "n", "--issuer-cert", "ca.pem"];
        assert!(ok(&half_issuer).is_err(), "an issuer needs its key");
    }

    #[test]
    fn parses_encrypt_with_context_chunk_size_and_paths() {
        let cli = Cli::try_parse_from([
            "trent",
            "encrypt",
            "--key-id",
            "alias/backups",
            "--context",
            "purpose=backup",
            "--context",
            "tenant=a=b",
            "--chunk-size",
            "1MiB",
            "--input",
            "data.tar",
            "--output",
            "-",
        ])
        .unwrap();
        let Command::Encrypt(args) = cli.command else { panic!("wrong command: {:?}", cli.command) };
        assert_eq!(args.key_id, "alias/backups");
        let expected = [("purpose".to_owned(), "backup".to_owned()), ("tenant".to_owned(), "a=b".to_owned())];
        assert_eq!(args.context, expected);
        assert_eq!(args.chunk_size.get(), 1024 * 1024);
        assert_eq!(args.input, DataPath::File(PathBuf::from("data.tar")));
        assert_eq!(args.output, DataPath::Standard);
    }

    #[test]
    fn encrypt_defaults_to_64_kib_chunks_and_needs_key_input_and_output() {
        let parse = |args: &[&str]| Cli::try_parse_from([&["trent", "encrypt"][..], args].concat());
        let cli = parse(&["--key-id", "k", "--input", "-", "--output", "out"]).unwrap();
        let Command::Encrypt(args) = cli.command else { panic!("wrong command: {:?}", cli.command) };
        assert_eq!(args.chunk_size, ChunkSize::DEFAULT);
        assert!(args.context.is_empty());
        assert!(parse(&["--input", "-", "--output", "out"]).is_err(), "--key-id is required");
        assert!(parse(&["--key-id", "k", "--output", "out"]).is_err(), "--input is required");
        assert!(parse(&["--key-id", "k", "--input", "-"]).is_err(), "--output is required");
        let bad_chunk = ["--key-id", "k", "--input", "-", "--output", "o", "--chunk-size"];
        for size in ["1KiB", "8MiB", "lots", "64kb", ""] {
            assert!(parse(&[&bad_chunk[..], &[size]].concat()).is_err(), "chunk size {size:?}");
        }
        assert!(parse(&["--key-id", "k", "--input", "-", "--output", "o", "--context", "novalue"]).is_err());
    }

    #[test]
    fn parses_decrypt_with_a_key_or_an_explicit_any_key_and_required_context() {
        let cli = Cli::try_parse_from([
            "trent",
            "--json",
            "decrypt",
            "--any-key",
            "--input",
            "-",
            "--output",
            "plain",
        ])
        .unwrap();
        assert!(cli.json);
        let Command::Decrypt(args) = cli.command else { panic!("wrong command: {:?}", cli.command) };
        assert_eq!((args.input, args.key_id, args.any_key), (DataPath::Standard, None, true));
        assert!(args.context.is_empty());
        let cli = Cli::try_parse_from([
            "trent",
            "decrypt",
            "--input",
            "in",
            "--output",
            "out",
            "--key-id",
            "k",
            "--context",
            "a=1",
        ])
        .unwrap();
        let Command::Decrypt(args) = cli.command else { panic!("wrong command: {:?}", cli.command) };
        assert_eq!(args.key_id.as_deref(), Some("k"));
        assert_eq!(args.context, [("a".to_owned(), "1".to_owned())]);
        assert!(Cli::try_parse_from(["trent", "decrypt", "--input", "in"]).is_err(), "--output is required");
        let keyless = ["trent", "decrypt", "--input", "in", "--output", "out"];
        assert!(Cli::try_parse_from(keyless).is_err(), "a key, or --any-key, is required");
        let both = ["trent", "decrypt", "--input", "in", "--output", "out", "--key-id", "k", "--any-key"];
        assert!(Cli::try_parse_from(both).is_err(), "--any-key contradicts --key-id");
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

    #[test]
    fn parses_users_commands_with_policy_files_and_checked_names() {
        let parse = |args: &[&str]| Cli::try_parse_from([&["trent", "users"][..], args].concat());
        let cli = parse(&["create", "ci-deploy@example.com", "--policy", "p.json", "--json"]).unwrap();
        assert!(cli.json);
        let Command::Users(UsersCommand::Create { name, policy }) = cli.command else {
            panic!("wrong command: {:?}", cli.command);
        };
        assert_eq!((name.as_str(), policy), ("ci-deploy@example.com", Some(DataPath::File("p.json".into()))));
        let cli = parse(&["create", "bob"]).unwrap();
        let Command::Users(UsersCommand::Create { policy: None, .. }) = cli.command else {
            panic!("wrong command: {:?}", cli.command);
        };
        let cli = parse(&["put-policy", "bob", "--policy", "-"]).unwrap();
        let Command::Users(UsersCommand::PutPolicy { name, policy }) = cli.command else {
            panic!("wrong command: {:?}", cli.command);
        };
        assert_eq!((name.as_str(), policy), ("bob", DataPath::Standard));
        for args in [&["list"][..], &["show", "bob"], &["delete-policy", "bob"], &["delete", "a+b=c,d.e_f-g"]]
        {
            assert!(parse(args).is_ok(), "{args:?}");
        }
        assert!(parse(&["put-policy", "bob"]).is_err(), "put-policy needs --policy");
        assert!(parse(&["create"]).is_err(), "create needs a name");
        let too_long = "n".repeat(65);
        for bad in ["a/b", "../admin", "", "a b", "ünï", too_long.as_str()] {
            for command in [
                &["create"][..],
                &["show"],
                &["put-policy", "--policy", "p.json"],
                &["delete-policy"],
                &["delete"],
            ] {
                let error = parse(&[command, &[bad]].concat()).unwrap_err().to_string();
                assert!(error.contains("is not a user name"), "{command:?} {bad:?}: {error}");
            }
        }
    }

    #[test]
    fn parses_access_key_creation_for_a_user() {
        let cli =
            Cli::try_parse_from(["trent", "access-keys", "create", "--user", "alice", "--description", "ci"])
                .unwrap();
        let Command::AccessKeys(super::super::operator::AccessKeysCommand::Create { description, user }) =
            cli.command
        else {
            panic!("wrong command: {:?}", cli.command);
        };
        assert_eq!((description.as_str(), user.as_deref()), ("ci", Some("alice")));
        let cli = Cli::try_parse_from(["trent", "access-keys", "create"]).unwrap();
        let Command::AccessKeys(super::super::operator::AccessKeysCommand::Create { description, user }) =
            cli.command
        else {
            panic!("wrong command: {:?}", cli.command);
        };
        assert_eq!((description.as_str(), user), ("", None), "the admin user, as before");
        assert!(Cli::try_parse_from(["trent", "access-keys", "create", "--user", "a/b"]).is_err());
        assert!(Cli::try_parse_from(["trent", "access-keys", "list", "--json"]).is_ok());
    }

    #[test]
    fn parses_policy_explain_with_single_and_multi_valued_context() {
        let cli = Cli::try_parse_from([
            "trent",
            "policy",
            "explain",
            "--principal",
            "arn:aws:iam::111122223333:user/alice",
            "--action",
            "kms:Encrypt",
            "--key-id",
            "alias/billing",
            "--context",
            "kms:EncryptionContext:app=billing",
            "--context",
            "kms:EncryptionContextKeys=app",
            "--context",
            "kms:EncryptionContextKeys=tenant",
            "--context",
            "aws:SourceIp=10.0.0.7",
        ])
        .unwrap();
        let Command::Policy(PolicyCommand::Explain(args)) = cli.command else {
            panic!("wrong command: {:?}", cli.command);
        };
        let request = args.request();
        assert_eq!(request.principal, "arn:aws:iam::111122223333:user/alice");
        assert_eq!(
            (request.action.as_str(), request.key_id.as_deref()),
            ("kms:Encrypt", Some("alias/billing"))
        );
        let one = |value: &str| ConditionValues::One(value.to_owned());
        let expected: BTreeMap<String, ConditionValues> = [
            ("aws:SourceIp".to_owned(), one("10.0.0.7")),
            ("kms:EncryptionContext:app".to_owned(), one("billing")),
            (
                "kms:EncryptionContextKeys".to_owned(),
                ConditionValues::Many(vec!["app".into(), "tenant".into()]),
            ),
        ]
        .into();
        assert_eq!(request.context, expected);
        let wire = serde_json::to_value(&request).unwrap();
        assert_eq!(wire["context"]["kms:EncryptionContextKeys"], serde_json::json!(["app", "tenant"]));
        assert_eq!(wire["context"]["aws:SourceIp"], "10.0.0.7");

        let parse = |args: &[&str]| Cli::try_parse_from([&["trent", "policy", "explain"][..], args].concat());
        let cli = parse(&["--principal", "bob", "--action", "kms:ListKeys", "--json"]).unwrap();
        assert!(cli.json);
        let Command::Policy(PolicyCommand::Explain(args)) = cli.command else {
            panic!("wrong command: {:?}", cli.command);
        };
        let request = args.request();
        assert_eq!((request.key_id, request.context.is_empty()), (None, true));
        assert!(parse(&["--action", "kms:Encrypt"]).is_err(), "--principal is required");
        assert!(parse(&["--principal", "bob"]).is_err(), "--action is required");
        assert!(parse(&["--principal", "bob", "--action", "kms:Encrypt", "--context", "novalue"]).is_err());
    }

    #[test]
    fn condition_values_keep_repeats_in_order() {
        let entries = [
            ("k".to_owned(), "b".to_owned()),
            ("k".to_owned(), "a".to_owned()),
            ("j".to_owned(), String::new()),
        ];
        let grouped = condition_values(&entries);
        assert_eq!(grouped["k"], ConditionValues::Many(vec!["b".into(), "a".into()]));
        assert_eq!(grouped["j"], ConditionValues::One(String::new()));
        assert!(condition_values(&[]).is_empty());
    }

    #[test]
    fn chunk_sizes_accept_binary_suffixes_within_limits() {
        assert_eq!(parse_chunk_size("4096").unwrap().get(), 4096);
        assert_eq!(parse_chunk_size("64K").unwrap(), ChunkSize::DEFAULT);
        assert_eq!(parse_chunk_size("4mib").unwrap(), ChunkSize::MAX);
        assert!(parse_chunk_size("4095").unwrap_err().contains("outside"));
        assert!(parse_chunk_size("99999999999999999999KiB").is_err());
        assert!(parse_chunk_size("K").is_err());
    }

    #[test]
    fn dash_is_the_standard_stream() {
        assert_eq!(parse_data_path("-").unwrap(), DataPath::Standard);
        assert_eq!(parse_data_path("./-").unwrap(), DataPath::File(PathBuf::from("./-")));
        assert!(parse_data_path("").is_err());
    }
}
