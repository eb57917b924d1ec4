//! `trent users` (users, the principals access keys act as, and their inline identity
//! policies) and `trent policy explain` (how a call would be decided, and why).

use std::io::Read;

use anyhow::Context;
use serde_json::Value;
use trent_client::wire::ErrorCode;
use trent_client::TrentClient;

use super::args::{DataPath, PolicyCommand, UsersCommand};
use super::{render, show};

/// Largest policy file the CLI reads; the server's own limit on a document is far lower.
const MAX_POLICY_FILE_BYTES: u64 = 1024 * 1024;

/// Runs a `trent users` command.
pub async fn users(client: &TrentClient, json: bool, command: UsersCommand) -> anyhow::Result<()> {
    match command {
        UsersCommand::Create { name, policy } => {
            let policy = policy.as_ref().map(read_policy).transpose()?;
            let created = client.create_user(&name, policy.map(Value::String)).await?;
            show(json, &created, || format!("created user {} ({})", created.user_name, created.arn))
        }
        UsersCommand::List => {
            let list = client.list_users().await?;
            show(json, &list, || render::user_list(&list.users))
        }
        UsersCommand::Show { name } => {
            let user = client.get_user(&name).await?;
            let policy = if user.has_policy { inline_policy(client, &name).await? } else { None };
            let mut value = serde_json::to_value(&user)?;
            if let Some(object) = value.as_object_mut() {
                object.insert("policy".into(), policy.as_deref().map_or(Value::Null, document));
            }
            show(json, &value, || render::user(&user, policy.as_deref()))
        }
        UsersCommand::PutPolicy { name, policy } => {
            let text = read_policy(&policy)?;
            client.put_user_policy(&name, &Value::String(text.clone())).await?;
            let answer = serde_json::json!({ "user_name": name, "policy": document(&text) });
            show(json, &answer, || format!("set the inline policy of {name}"))
        }
        UsersCommand::DeletePolicy { name } => {
            client.delete_user_policy(&name).await?;
            let answer = serde_json::json!({ "user_name": name, "policy": null });
            show(json, &answer, || format!("deleted the inline policy of {name}"))
        }
        UsersCommand::Delete { name } => {
            client.delete_user(&name).await?;
            show(json, &serde_json::json!({ "deleted": name }), || format!("deleted user {name}"))
        }
    }
}

/// Runs a `trent policy` command. A denial is an answer, not a failure: it exits 0 too.
pub async fn policy(client: &TrentClient, json: bool, command: PolicyCommand) -> anyhow::Result<()> {
    match command {
        PolicyCommand::Explain(args) => {
            let answer = client.authorize(&args.request()).await?;
            show(json, &answer, || render::authorization(&answer))
        }
    }
}

/// The user's inline policy; `None` when it has none (also when it was removed since the user
/// was read).
async fn inline_policy(client: &TrentClient, name: &str) -> anyhow::Result<Option<String>> {
    match client.get_user_policy(name).await {
        Ok(policy) => Ok(Some(policy.policy)),
        Err(error) if error.code() == Some(ErrorCode::NotFound) => Ok(None),
        Err(error) => Err(error.into()),
    }
}

/// A stored policy document for `--json` output: the document itself when it is JSON, else
/// its text.
fn document(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()))
}

/// Reads a policy document from a file or stdin and checks that it is a JSON object; the text
/// (trimmed) is what gets sent, so the server stores it as written.
fn read_policy(path: &DataPath) -> anyhow::Result<String> {
    let (text, source) = match path {
        DataPath::Standard => (
            read_capped(std::io::stdin().lock()).context("cannot read the policy from stdin")?,
            "stdin".to_owned(),
        ),
        DataPath::File(path) => {
            let file =
                std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
            let text = read_capped(file).with_context(|| format!("cannot read {}", path.display()))?;
            (text, path.display().to_string())
        }
    };
    let parsed: Value =
        serde_json::from_str(&text).with_context(|| format!("the policy in {source} is not valid JSON"))?;
    anyhow::ensure!(
        parsed.is_object(),
        "the policy in {source} is not a JSON object (an IAM policy document)"
    );
    Ok(text.trim().to_owned())
}

/// Reads UTF-8 text of at most [`MAX_POLICY_FILE_BYTES`].
fn read_capped(reader: impl Read) -> anyhow::Result<String> {
    let mut text = String::new();
    reader.take(MAX_POLICY_FILE_BYTES + 1).read_to_string(&mut text)?;
    anyhow::ensure!(
        text.len() as u64 <= MAX_POLICY_FILE_BYTES,
        "a policy document is at most {MAX_POLICY_FILE_BYTES} bytes"
    );
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_files_must_hold_a_json_object_and_are_sent_as_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("policy.json");
        let written = "{\"Version\": \"2012-10-17\", \"Statement\": []}";
        std::fs::write(&path, format!("  {written}\n")).unwrap();
        assert_eq!(read_policy(&DataPath::File(path.clone())).unwrap(), written);
        std::fs::write(&path, "[1, 2]").unwrap();
        let error = read_policy(&DataPath::File(path.clone())).unwrap_err().to_string();
        assert!(error.contains("not a JSON object"), "{error}");
        std::fs::write(&path, "Version: 2012-10-17").unwrap();
        let error = read_policy(&DataPath::File(path.clone())).unwrap_err().to_string();
        assert!(error.contains("not valid JSON"), "{error}");
        let missing = DataPath::File(dir.path().join("missing.json"));
        assert!(read_policy(&missing).unwrap_err().to_string().starts_with("cannot open"));
    }

    #[test]
    fn oversized_policy_input_is_refused() {
        let big = vec![b' '; MAX_POLICY_FILE_BYTES as usize + 1];
        assert!(read_capped(&big[..]).is_err());
        assert_eq!(read_capped(&b"{}"[..]).unwrap(), "{}");
    }

    #[test]
    fn json_output_shows_the_document_itself_when_it_parses() {
        assert_eq!(document("{\"a\": 1}"), serde_json::json!({"a": 1}));
        assert_eq!(document("not json"), Value::String("not json".into()));
    }
}
