//! `trent`: the operator CLI for a Trent cluster. Parses arguments, makes one or a few calls
//! through `trent_client::TrentClient`, and prints the answer as text or `--json`.

mod cli;

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use serde::Serialize;
use trent_client::wire::admin::AddLearnerRequest;
use trent_client::wire::kms::{
    AliasTargetRequest, CreateKeyRequest, DeleteAliasRequest, KeyIdRequest, ListAliasesResponse,
    ListKeysResponse, ListResourceTagsResponse, ScheduleKeyDeletionRequest, TagResourceRequest,
    UntagResourceRequest, UpdateKeyDescriptionRequest,
};
use trent_client::{ClientError, ClientOptions, TrentClient};

use cli::args::{AliasesCommand, Cli, ClusterCommand, Command, KeysCommand, MembersCommand, TagsCommand};
use cli::render;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Prints either JSON or text for each answer.
struct Output {
    json: bool,
}

impl Output {
    /// Prints `value` as pretty JSON, or `text()` for people.
    fn show<T: Serialize>(&self, value: &T, text: impl FnOnce() -> String) -> anyhow::Result<()> {
        cli::show(self.json, value, text)
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    if let Command::Operator(cli::operator::OperatorCommand::GenCerts(args)) = cli.command {
        cli::operator::gen_certs(cli.json, args)?;
        return Ok(ExitCode::SUCCESS);
    }
    if let Command::Audit(cli::args::AuditCommand::Verify(args)) = &cli.command {
        return cli::audit::verify_offline(cli.json, args);
    }
    let ca_bundle = match &cli.ca_cert {
        Some(path) => Some(trent_client::CaBundle::from_pem_file(path)?),
        None => None,
    };
    let options = ClientOptions {
        timeout: Duration::from_secs(cli.timeout.max(1)),
        signing: cli.signing(),
        ca_bundle,
        ..ClientOptions::default()
    };
    let client = TrentClient::with_options(cli.endpoints, options)?;
    let out = Output { json: cli.json };
    match cli.command {
        Command::Keys(command) => keys(&client, &out, command).await?,
        Command::Aliases(command) => aliases(&client, &out, command).await?,
        Command::Tags(command) => tags(&client, &out, command).await?,
        Command::Cluster(ClusterCommand::Status) => {
            let view = client.cluster().await?;
            out.show(&view, || render::cluster(&view))?;
        }
        Command::Cluster(ClusterCommand::Health) => return cluster_health(&client, &out).await,
        Command::Members(command) => members(&client, &out, command).await?,
        Command::AccessKeys(command) => cli::operator::access_keys(&client, out.json, command).await?,
        Command::Users(command) => cli::identity::users(&client, out.json, command).await?,
        Command::Policy(command) => cli::identity::policy(&client, out.json, command).await?,
        Command::Encrypt(args) => cli::envelope::encrypt(&client, out.json, args).await?,
        Command::Decrypt(args) => cli::envelope::decrypt(&client, out.json, args).await?,
        Command::Asymmetric(command) => cli::asymmetric::run(&client, out.json, command).await?,
        // `verify` is dispatched above, before a client is made: it reads only files.
        Command::Audit(command) => return cli::audit::run(&client, out.json, command).await,
        Command::Operator(command) => {
            let all_ok = cli::operator::run(&client, out.json, command).await?;
            return Ok(if all_ok { ExitCode::SUCCESS } else { ExitCode::FAILURE });
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn key_id(key: String) -> KeyIdRequest {
    KeyIdRequest { key_id: key, grant_tokens: None }
}

async fn keys(client: &TrentClient, out: &Output, command: KeysCommand) -> anyhow::Result<()> {
    match command {
        KeysCommand::Create(args) => {
            let request = CreateKeyRequest {
                description: args.description,
                key_spec: args.key_spec,
                key_usage: args.key_usage,
                origin: args.origin,
                tags: (!args.tags.is_empty()).then_some(args.tags),
                ..CreateKeyRequest::default()
            };
            let created = client.create_key(&request).await?;
            out.show(&created, || render::key_metadata(&created.key_metadata))
        }
        KeysCommand::List => {
            let keys = client.list_all_keys().await?;
            let all = ListKeysResponse { keys, next_marker: None, truncated: false };
            out.show(&all, || render::key_list(&all.keys))
        }
        KeysCommand::Describe { key } => {
            let described = client.describe_key(&key_id(key)).await?;
            out.show(&described, || render::key_metadata(&described.key_metadata))
        }
        KeysCommand::Enable { key } => {
            let done = client.enable_key(&key_id(key.clone())).await?;
            out.show(&done, || format!("enabled {key}"))
        }
        KeysCommand::Disable { key } => {
            let done = client.disable_key(&key_id(key.clone())).await?;
            out.show(&done, || format!("disabled {key}"))
        }
        KeysCommand::ScheduleDeletion { key, days } => {
            let request = ScheduleKeyDeletionRequest { key_id: key, pending_window_in_days: days };
            let scheduled = client.schedule_key_deletion(&request).await?;
            out.show(&scheduled, || render::scheduled_deletion(&scheduled))
        }
        KeysCommand::CancelDeletion { key } => {
            let cancelled = client.cancel_key_deletion(&key_id(key)).await?;
            out.show(&cancelled, || {
                format!("deletion of {} cancelled; the key is disabled", cancelled.key_id)
            })
        }
        KeysCommand::UpdateDescription { key, description } => {
            let request = UpdateKeyDescriptionRequest { key_id: key.clone(), description };
            let done = client.update_key_description(&request).await?;
            out.show(&done, || format!("updated the description of {key}"))
        }
        KeysCommand::Material(command) => cli::key_material::run(client, out.json, command).await,
    }
}

async fn aliases(client: &TrentClient, out: &Output, command: AliasesCommand) -> anyhow::Result<()> {
    match command {
        AliasesCommand::Create { alias, key } => {
            let request = AliasTargetRequest { alias_name: alias.clone(), target_key_id: key.clone() };
            let done = client.create_alias(&request).await?;
            out.show(&done, || format!("{alias} -> {key}"))
        }
        AliasesCommand::Update { alias, key } => {
            let request = AliasTargetRequest { alias_name: alias.clone(), target_key_id: key.clone() };
            let done = client.update_alias(&request).await?;
            out.show(&done, || format!("{alias} -> {key}"))
        }
        AliasesCommand::Delete { alias } => {
            let done = client.delete_alias(&DeleteAliasRequest { alias_name: alias.clone() }).await?;
            out.show(&done, || format!("deleted {alias}"))
        }
        AliasesCommand::List { key } => {
            let aliases = client.list_all_aliases(key.as_deref()).await?;
            let all = ListAliasesResponse { aliases, next_marker: None, truncated: false };
            out.show(&all, || render::alias_list(&all.aliases))
        }
    }
}

async fn tags(client: &TrentClient, out: &Output, command: TagsCommand) -> anyhow::Result<()> {
    match command {
        TagsCommand::Add { key, tags } => {
            let count = tags.len();
            let done = client.tag_resource(&TagResourceRequest { key_id: key.clone(), tags }).await?;
            out.show(&done, || format!("set {count} tag(s) on {key}"))
        }
        TagsCommand::Remove { key, tag_keys } => {
            let count = tag_keys.len();
            let done = client.untag_resource(&UntagResourceRequest { key_id: key.clone(), tag_keys }).await?;
            out.show(&done, || format!("removed {count} tag(s) from {key}"))
        }
        TagsCommand::List { key } => {
            let tags = client.list_all_resource_tags(&key).await?;
            let all = ListResourceTagsResponse { tags, next_marker: None, truncated: false };
            out.show(&all, || render::tag_list(&all.tags))
        }
    }
}

async fn members(client: &TrentClient, out: &Output, command: MembersCommand) -> anyhow::Result<()> {
    let change = match command {
        MembersCommand::Add { node_id, api_addr, peer_addr } => {
            client.add_learner(&AddLearnerRequest { node_id, api_addr, peer_addr }).await?
        }
        MembersCommand::Promote { node_id } => client.promote(node_id).await?,
        MembersCommand::Remove { node_id } => client.remove_member(node_id).await?,
    };
    out.show(&change, || render::membership_change(&change))
}

/// Asks every endpoint for its health at once; exits 1 if any does not answer.
async fn cluster_health(client: &TrentClient, out: &Output) -> anyhow::Result<ExitCode> {
    let asks: Vec<_> = (0..client.endpoints().len())
        .map(|index| {
            let client = client.clone();
            tokio::spawn(async move { client.health(index).await })
        })
        .collect();
    let mut rows = Vec::with_capacity(asks.len());
    let mut json_rows = Vec::with_capacity(asks.len());
    for (endpoint, ask) in client.endpoints().iter().zip(asks) {
        let endpoint = endpoint.to_string();
        match ask.await.context("health check task failed")? {
            Ok(health) => {
                json_rows.push(serde_json::json!({ "endpoint": endpoint, "health": health }));
                rows.push((endpoint, Ok(health)));
            }
            Err(err) => {
                match &err {
                    // These already name the endpoint.
                    ClientError::Connect { .. }
                    | ClientError::Transport { .. }
                    | ClientError::Timeout { .. } => {
                        eprintln!("error: {err}")
                    }
                    _ => eprintln!("error: {endpoint}: {err}"),
                }
                let error = serde_json::json!({ "type": err.error_type(), "message": err.to_string() });
                json_rows.push(serde_json::json!({ "endpoint": endpoint, "error": error }));
                rows.push((endpoint, Err(err.to_string())));
            }
        }
    }
    out.show(&json_rows, || render::health(&rows))?;
    let all_answered = rows.iter().all(|(_, outcome)| outcome.is_ok());
    Ok(if all_answered { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
