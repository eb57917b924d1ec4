//! Human-readable text for the CLI's answers: aligned tables and `Label: value` blocks.
//! Everything here is a pure function from a wire type to a `String`.

use trent_client::envelope::EnvelopeSummary;
use trent_client::wire::admin::{
    AccessKeyInfo, AuthorizeResponse, ClusterResponse, HealthResponse, MemberInfo, MembershipChangeResponse,
    UserInfo,
};
use trent_client::wire::import::KeyMaterialResponse;
use trent_client::wire::kms::{AliasListEntry, KeyListEntry, KeyMetadata, ScheduleKeyDeletionResponse, Tag};
use trent_client::wire::rotation::{GetKeyRotationStatusResponse, RotationsListEntry};

/// Latest epoch second rendered as a date (9999-12-31T23:59:59Z); later values print as numbers.
const MAX_RENDERED_EPOCH: f64 = 253_402_300_799.0;

/// One line on an envelope `trent encrypt` or `trent decrypt` made or opened; `verb` is
/// `encrypted` or `decrypted`.
pub fn envelope_summary(verb: &str, summary: &EnvelopeSummary) -> String {
    let chunks = if summary.chunks == 1 { "chunk" } else { "chunks" };
    let mut line = format!(
        "{verb} {} bytes into {} bytes ({} {chunks} of up to {} bytes) under {}",
        summary.bytes_in, summary.bytes_out, summary.chunks, summary.chunk_size, summary.key_id
    );
    if !summary.encryption_context.is_empty() {
        let pairs: Vec<String> =
            summary.encryption_context.iter().map(|(key, value)| format!("{key}={value}")).collect();
        line.push_str(&format!(", context {}", pairs.join(",")));
    }
    line
}

/// A key's metadata as `Label: value` lines.
pub fn key_metadata(metadata: &KeyMetadata) -> String {
    let mut lines = vec![
        ("KeyId", metadata.key_id.clone()),
        ("Arn", metadata.arn.clone()),
        ("State", metadata.key_state.to_string()),
        ("Description", metadata.description.clone()),
        ("KeySpec", metadata.key_spec.to_string()),
        ("KeyUsage", metadata.key_usage.to_string()),
        ("Origin", metadata.origin.to_string()),
        ("Created", timestamp(metadata.creation_date)),
    ];
    if let Some(deletion) = metadata.deletion_date {
        lines.push(("DeletionDate", timestamp(deletion)));
    }
    labelled(&lines)
}

/// The keys of `ListKeys`.
pub fn key_list(keys: &[KeyListEntry]) -> String {
    if keys.is_empty() {
        return "no keys".to_owned();
    }
    let rows = keys.iter().map(|key| vec![key.key_id.clone(), key.key_arn.clone()]).collect();
    table(&["KEY ID", "ARN"], rows)
}

/// The aliases of `ListAliases`.
pub fn alias_list(aliases: &[AliasListEntry]) -> String {
    if aliases.is_empty() {
        return "no aliases".to_owned();
    }
    let rows = aliases
        .iter()
        .map(|alias| {
            vec![alias.alias_name.clone(), alias.target_key_id.clone(), timestamp(alias.last_updated_date)]
        })
        .collect();
    table(&["ALIAS", "TARGET KEY ID", "UPDATED"], rows)
}

/// The tags of `ListResourceTags`.
pub fn tag_list(tags: &[Tag]) -> String {
    if tags.is_empty() {
        return "no tags".to_owned();
    }
    let rows = tags.iter().map(|tag| vec![tag.tag_key.clone(), tag.tag_value.clone()]).collect();
    table(&["KEY", "VALUE"], rows)
}

/// The answer of `ScheduleKeyDeletion`.
pub fn scheduled_deletion(response: &ScheduleKeyDeletionResponse) -> String {
    format!(
        "{} is {} and will be deleted at {} ({} days)",
        response.key_id,
        response.key_state,
        timestamp(response.deletion_date),
        response.pending_window_in_days
    )
}

/// The answer of `GetKeyRotationStatus`.
pub fn rotation_status(status: &GetKeyRotationStatusResponse) -> String {
    let mut lines = vec![
        ("KeyId", status.key_id.clone()),
        ("Automatic rotation", if status.key_rotation_enabled { "enabled" } else { "disabled" }.to_owned()),
    ];
    if let Some(days) = status.rotation_period_in_days {
        lines.push(("Period", format!("{days} days")));
    }
    if let Some(next) = status.next_rotation_date {
        lines.push(("Next rotation", timestamp(next)));
    }
    if let Some(started) = status.on_demand_rotation_start_date {
        lines.push(("On-demand rotation started", timestamp(started)));
    }
    labelled(&lines)
}

/// The materials of `ListKeyRotations`, oldest first; `-` where an entry has no such field.
pub fn rotation_list(rotations: &[RotationsListEntry]) -> String {
    if rotations.is_empty() {
        return "no rotations".to_owned();
    }
    let dash = || "-".to_owned();
    let rows = rotations
        .iter()
        .map(|entry| {
            vec![
                entry.key_material_id.clone(),
                entry.key_material_state.to_string(),
                entry.rotation_date.map_or_else(dash, timestamp),
                entry.rotation_type.map_or_else(dash, |kind| kind.to_string()),
                entry.import_state.map_or_else(dash, |state| state.to_string()),
                entry.valid_to.map_or_else(dash, timestamp),
            ]
        })
        .collect();
    table(&["KEY MATERIAL ID", "STATE", "ROTATED", "TYPE", "IMPORT", "VALID TO"], rows)
}

/// The answer of `ImportKeyMaterial`: the key and the id of the material imported.
pub fn key_material(response: &KeyMaterialResponse) -> String {
    labelled(&[("KeyId", response.key_id.clone()), ("KeyMaterialId", response.key_material_id.clone())])
}

/// The cluster view of one node, then its members.
pub fn cluster(view: &ClusterResponse) -> String {
    let lines = [
        ("Answered by", format!("node {} ({:?})", view.node_id, view.role).to_lowercase()),
        ("Leader", optional(view.leader_id)),
        ("Term", view.term.to_string()),
        ("Committed", optional(view.commit_index)),
        ("Applied", optional(view.applied_index)),
        ("Last log", optional(view.last_log_index)),
        ("Snapshot", optional(view.snapshot_index)),
        ("Purged", optional(view.purged_index)),
    ];
    format!("{}\n\n{}", labelled(&lines), members(&view.members))
}

/// The outcome of a membership change.
pub fn membership_change(change: &MembershipChangeResponse) -> String {
    format!("membership changed at log index {}\n\n{}", change.log_index, members(&change.members))
}

/// Members as a table.
pub fn members(members: &[MemberInfo]) -> String {
    if members.is_empty() {
        return "no members".to_owned();
    }
    let rows = members
        .iter()
        .map(|member| {
            vec![
                member.node_id.to_string(),
                if member.voter { "voter" } else { "learner" }.to_owned(),
                member.api_addr.clone(),
                member.peer_addr.clone(),
                optional(member.matched_index),
            ]
        })
        .collect();
    table(&["NODE", "KIND", "API ADDR", "PEER ADDR", "MATCHED"], rows)
}

/// One row per endpoint: its health, or `unreachable` (the reason goes to stderr).
pub fn health(rows: &[(String, Result<HealthResponse, String>)]) -> String {
    let rows = rows
        .iter()
        .map(|(endpoint, outcome)| match outcome {
            Ok(health) => vec![
                endpoint.clone(),
                health.node_id.to_string(),
                format!("{:?}", health.role).to_lowercase(),
                if health.sealed { "sealed" } else { "unsealed" }.to_owned(),
                if health.initialized { "yes" } else { "no" }.to_owned(),
                optional(health.leader_id),
                health.term.to_string(),
                optional(health.last_applied_index),
            ],
            Err(_) => vec![endpoint.clone(), "-".into(), "unreachable".into()],
        })
        .collect();
    table(&["ENDPOINT", "NODE", "ROLE", "SEAL", "INIT", "LEADER", "TERM", "APPLIED"], rows)
}

/// The access keys of `GET /v1/sys/access-keys`, with the user each acts as (`-` from a server
/// that does not say).
pub fn access_key_list(keys: &[AccessKeyInfo]) -> String {
    if keys.is_empty() {
        return "no access keys".to_owned();
    }
    let rows = keys
        .iter()
        .map(|key| {
            vec![
                key.access_key_id.clone(),
                or_dash(&key.user),
                timestamp(key.created),
                key.description.clone(),
            ]
        })
        .collect();
    table(&["ACCESS KEY ID", "USER", "CREATED", "DESCRIPTION"], rows)
}

/// The users of `GET /v1/sys/users`.
pub fn user_list(users: &[UserInfo]) -> String {
    if users.is_empty() {
        return "no users".to_owned();
    }
    let rows = users
        .iter()
        .map(|user| {
            vec![
                user.user_name.clone(),
                user.access_keys.len().to_string(),
                if user.has_policy { "inline" } else { "-" }.to_owned(),
                timestamp(user.create_date),
                user.arn.clone(),
            ]
        })
        .collect();
    table(&["USER", "KEYS", "POLICY", "CREATED", "ARN"], rows)
}

/// A user as `Label: value` lines, then its inline policy document as stored, if it has one.
pub fn user(user: &UserInfo, policy: Option<&str>) -> String {
    let keys = if user.access_keys.is_empty() { "none".to_owned() } else { user.access_keys.join(", ") };
    let lines = [
        ("User", user.user_name.clone()),
        ("Arn", user.arn.clone()),
        ("Created", timestamp(user.create_date)),
        ("Access keys", keys),
        ("Policy", if policy.is_some() { "inline:" } else { "none" }.to_owned()),
    ];
    match policy {
        Some(document) => format!("{}\n{}", labelled(&lines), document.trim_end()),
        None => labelled(&lines),
    }
}

/// The answer of `POST /v1/sys/authorize`: the decision, and the server's one-line reason.
pub fn authorization(answer: &AuthorizeResponse) -> String {
    labelled(&[("Decision", answer.decision.clone()), ("Explanation", answer.explanation.clone())])
}

fn or_dash(text: &str) -> String {
    if text.is_empty() {
        "-".to_owned()
    } else {
        text.to_owned()
    }
}

/// Left-aligned columns separated by two spaces; short rows are allowed (the last cell may
/// then run past its column).
pub fn table(headers: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        // The last cell of a short row may overflow, so it does not widen its column.
        let measured = if row.len() < headers.len() { row.len().saturating_sub(1) } else { row.len() };
        for (cell, width) in row[..measured].iter().zip(widths.iter_mut()) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let header_row: Vec<String> = headers.iter().map(|h| (*h).to_owned()).collect();
    std::iter::once(&header_row)
        .chain(rows.iter())
        .map(|row| {
            let cells: Vec<String> =
                row.iter().zip(widths.iter()).map(|(cell, width)| format!("{cell:<width$}")).collect();
            cells.join("  ").trim_end().to_owned()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `Label: value` lines with the values aligned.
fn labelled(lines: &[(&str, String)]) -> String {
    let width = lines.iter().map(|(label, _)| label.len() + 1).max().unwrap_or(0);
    lines
        .iter()
        .map(|(label, value)| format!("{:<width$} {value}", format!("{label}:")).trim_end().to_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

fn optional(value: Option<u64>) -> String {
    value.map_or_else(|| "-".to_owned(), |v| v.to_string())
}

/// Epoch seconds as an RFC 3339 UTC time, e.g. `2023-11-14T22:13:20Z`.
pub fn timestamp(epoch_seconds: f64) -> String {
    if !epoch_seconds.is_finite() || !(0.0..=MAX_RENDERED_EPOCH).contains(&epoch_seconds) {
        return epoch_seconds.to_string();
    }
    trent_sigv4::Timestamp::from_unix_seconds(epoch_seconds.floor() as i64).to_rfc3339()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_render_as_utc_dates() {
        assert_eq!(timestamp(0.0), "1970-01-01T00:00:00Z");
        assert_eq!(timestamp(1_700_000_000.75), "2023-11-14T22:13:20Z");
        assert_eq!(timestamp(951_782_400.0), "2000-02-29T00:00:00Z");
        assert_eq!(timestamp(MAX_RENDERED_EPOCH), "9999-12-31T23:59:59Z");
        assert_eq!(timestamp(-1.0), "-1");
        assert_eq!(timestamp(f64::NAN), "NaN");
    }

    #[test]
    fn table_aligns_columns() {
        let text = table(&["A", "LONG"], vec![vec!["wide cell".into(), "x".into()], vec!["y".into()]]);
        assert_eq!(text, "A          LONG\nwide cell  x\ny");
    }

    #[test]
    fn empty_lists_say_so() {
        assert_eq!(key_list(&[]), "no keys");
        assert_eq!(tag_list(&[]), "no tags");
        let tags = [Tag { tag_key: "env".into(), tag_value: "prod".into() }];
        assert_eq!(tag_list(&tags), "KEY  VALUE\nenv  prod");
    }

    #[test]
    fn envelope_summary_is_one_line_with_context() {
        let mut summary = EnvelopeSummary {
            key_id: "arn:k".into(),
            encryption_context: [("a".to_owned(), "1".to_owned())].into(),
            chunk_size: 65536,
            chunks: 1,
            bytes_in: 5,
            bytes_out: 120,
        };
        assert_eq!(
            envelope_summary("encrypted", &summary),
            "encrypted 5 bytes into 120 bytes (1 chunk of up to 65536 bytes) under arn:k, context a=1"
        );
        summary.encryption_context.clear();
        summary.chunks = 2;
        assert!(
            envelope_summary("decrypted", &summary).ends_with("(2 chunks of up to 65536 bytes) under arn:k")
        );
    }

    #[test]
    fn users_and_access_keys_render_as_tables_and_blocks() {
        assert_eq!(user_list(&[]), "no users");
        assert_eq!(access_key_list(&[]), "no access keys");
        let alice = UserInfo {
            user_name: "alice".into(),
            arn: "arn:aws:iam::111122223333:user/alice".into(),
            create_date: 0.0,
            access_keys: vec!["TRNTA".into(), "TRNTB".into()],
            has_policy: true,
        };
        assert_eq!(
            user_list(std::slice::from_ref(&alice)),
            "USER   KEYS  POLICY  CREATED               ARN\n\
             alice  2     inline  1970-01-01T00:00:00Z  arn:aws:iam::111122223333:user/alice"
        );
        let text = user(&alice, Some("{\"Version\": \"2012-10-17\"}\n"));
        assert!(text.starts_with("User:        alice\nArn:"), "{text}");
        assert!(text.contains("Access keys: TRNTA, TRNTB\n"), "{text}");
        assert!(text.ends_with("Policy:      inline:\n{\"Version\": \"2012-10-17\"}"), "{text}");
        let bare = UserInfo { access_keys: Vec::new(), has_policy: false, ..alice };
        assert!(user(&bare, None).ends_with("Access keys: none\nPolicy:      none"));
        let keys = [
            AccessKeyInfo {
                access_key_id: "TRNTA".into(),
                description: "ci".into(),
                created: 0.0,
                user: "alice".into(),
            },
            AccessKeyInfo {
                access_key_id: "TRNTOLD".into(),
                description: String::new(),
                created: 0.0,
                user: String::new(),
            },
        ];
        assert_eq!(
            access_key_list(&keys),
            "ACCESS KEY ID  USER   CREATED               DESCRIPTION\n\
             TRNTA          alice  1970-01-01T00:00:00Z  ci\n\
             TRNTOLD        -      1970-01-01T00:00:00Z"
        );
    }

    #[test]
    fn authorization_shows_the_decision_and_why() {
        let answer = AuthorizeResponse {
            decision: "deny".into(),
            decided_by: None,
            explanation: "denied: no policy allows kms:Encrypt".into(),
            message: Some("User: ... is not authorized".into()),
        };
        assert_eq!(
            authorization(&answer),
            "Decision:    deny\nExplanation: denied: no policy allows kms:Encrypt"
        );
    }

    #[test]
    fn rotations_render_as_a_table_and_status_as_a_block() {
        use trent_client::wire::model::{KeyMaterialState, RotationType};
        assert_eq!(rotation_list(&[]), "no rotations");
        let entry = |id: &str, state, rotated: Option<f64>| RotationsListEntry {
            key_id: "arn:k".into(),
            key_material_id: id.into(),
            key_material_description: None,
            import_state: None,
            key_material_state: state,
            expiration_model: None,
            valid_to: None,
            rotation_date: rotated,
            rotation_type: rotated.map(|_| RotationType::OnDemand),
        };
        let rows = [
            entry("aa", KeyMaterialState::NonCurrent, None),
            entry("bb", KeyMaterialState::Current, Some(0.0)),
        ];
        assert_eq!(
            rotation_list(&rows),
            "KEY MATERIAL ID  STATE        ROTATED               TYPE       IMPORT  VALID TO\n\
             aa               NON_CURRENT  -                     -          -       -\n\
             bb               CURRENT      1970-01-01T00:00:00Z  ON_DEMAND  -       -"
        );
        let status = GetKeyRotationStatusResponse {
            key_rotation_enabled: true,
            key_id: "arn:k".into(),
            rotation_period_in_days: Some(90),
            next_rotation_date: Some(0.0),
            on_demand_rotation_start_date: None,
        };
        assert_eq!(
            rotation_status(&status),
            "KeyId:              arn:k\nAutomatic rotation: enabled\nPeriod:             90 days\n\
             Next rotation:      1970-01-01T00:00:00Z"
        );
        let material = KeyMaterialResponse { key_id: "arn:k".into(), key_material_id: "ab".into() };
        assert_eq!(key_material(&material), "KeyId:         arn:k\nKeyMaterialId: ab");
    }

    #[test]
    fn health_rows_show_unreachable_endpoints() {
        let rows = vec![("http://a:1".to_owned(), Err("connection refused".to_owned()))];
        let text = health(&rows);
        assert!(text.ends_with("http://a:1  -     unreachable"), "{text}");
        assert!(text.starts_with("ENDPOINT    NODE  ROLE  SEAL"), "{text}");
    }
}
