//! `trent users` (users and their inline identity policies) and `trent policy explain` (the
//! question it sends, with its condition keys grouped).

use std::collections::BTreeMap;

use clap::{Args, Subcommand};
use trent_client::wire::admin::{AuthorizeRequest, ConditionValues};

use super::values::{parse_context_entry, parse_data_path, parse_user_name, DataPath};

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

#[cfg(test)]
mod tests {
    use crate::cli::args::{Cli, Command};
    use crate::cli::operator::AccessKeysCommand;
    use clap::Parser;

    use super::*;

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
        let Command::AccessKeys(AccessKeysCommand::Create { description, user }) = cli.command else {
            panic!("wrong command: {:?}", cli.command);
        };
        assert_eq!((description.as_str(), user.as_deref()), ("ci", Some("alice")));
        let cli = Cli::try_parse_from(["trent", "access-keys", "create"]).unwrap();
        let Command::AccessKeys(AccessKeysCommand::Create { description, user }) = cli.command else {
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
}
