//! Reading a log directory back, a page at a time: events in sequence order after a cursor that
//! match a [`Filter`], streamed line by line (never a whole file in memory) and skipping whole
//! files whose names say they end before the cursor. Digest lines are not events and are skipped.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::AuditError;
use crate::files::{display_name, list_log_files, read_line, LineRead};
use crate::line::{Line, MAX_LINE_BYTES};
use crate::record::Event;

/// The most events one page returns.
pub const MAX_QUERY_LIMIT: usize = 1000;

/// Which events a query returns; every field that is set must match.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Filter {
    /// `eventName` equals this.
    pub event_name: Option<String>,
    /// A `resources[].ARN` equals this or ends in `/` + this, or `requestParameters.keyId`
    /// equals it.
    pub key_id: Option<String>,
    /// `userIdentity.arn`, `userName` or `accessKeyId` equals this.
    pub principal: Option<String>,
    /// `errorCode` equals this; `*` matches any error.
    pub error_code: Option<String>,
    /// `eventTime` is at or after this (RFC 3339 UTC, compared as text).
    pub start_time: Option<String>,
    /// `eventTime` is at or before this.
    pub end_time: Option<String>,
}

impl Filter {
    /// Whether `event` passes every set condition.
    pub fn matches(&self, event: &Event) -> bool {
        let name_ok = self.event_name.as_ref().is_none_or(|name| &event.event_name == name);
        let key_ok = self.key_id.as_ref().is_none_or(|key| matches_key(event, key));
        let principal_ok = self.principal.as_ref().is_none_or(|principal| {
            event.user_identity.as_ref().is_some_and(|who| {
                [&who.arn, &who.user_name, &who.access_key_id]
                    .iter()
                    .any(|field| field.as_deref() == Some(principal.as_str()))
            })
        });
        let error_ok = self.error_code.as_ref().is_none_or(|code| match (code.as_str(), &event.error_code) {
            (_, None) => false,
            ("*", Some(_)) => true,
            (wanted, Some(actual)) => wanted == actual,
        });
        let start_ok = self.start_time.as_ref().is_none_or(|start| event.event_time >= *start);
        let end_ok = self.end_time.as_ref().is_none_or(|end| event.event_time <= *end);
        name_ok && key_ok && principal_ok && error_ok && start_ok && end_ok
    }
}

fn matches_key(event: &Event, key: &str) -> bool {
    let in_resources = event.resources.iter().any(|resource| {
        resource.arn == key || resource.arn.strip_suffix(key).is_some_and(|rest| rest.ends_with('/'))
    });
    let in_request = event
        .request_parameters
        .as_ref()
        .and_then(|parameters| parameters.get("keyId"))
        .and_then(serde_json::Value::as_str)
        .is_some_and(|requested| requested == key);
    in_resources || in_request
}

/// One event with its place in the log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredEvent {
    /// Its sequence, the cursor for the next page.
    pub sequence: u64,
    /// The record.
    pub event: Event,
}

/// One page of a query.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryPage {
    /// Matching events in ascending sequence order.
    pub events: Vec<StoredEvent>,
    /// The cursor for the next page (the last sequence returned), when the page is full and so
    /// more may follow.
    pub next_after: Option<u64>,
}

/// The events of the log in `dir` after `after_sequence` that match `filter`, at most `limit`
/// (clamped to 1..=[`MAX_QUERY_LIMIT`]). A line without a newline at the end of a file is an
/// unacknowledged write and is skipped; any other line that is not a record is an error.
pub fn query(
    dir: &Path,
    filter: &Filter,
    after_sequence: Option<u64>,
    limit: usize,
) -> Result<QueryPage, AuditError> {
    let limit = limit.clamp(1, MAX_QUERY_LIMIT);
    let after = after_sequence.unwrap_or(0);
    let files = list_log_files(dir)?;
    let mut events = Vec::new();
    let mut buf = Vec::new();
    for (index, log_file) in files.iter().enumerate() {
        // Every sequence in this file is below the next file's first.
        let ends_before_cursor =
            files.get(index + 1).is_some_and(|next| next.first_sequence <= after.saturating_add(1));
        if ends_before_cursor {
            continue;
        }
        let path = &log_file.path;
        let mut reader = BufReader::new(File::open(path).map_err(AuditError::io(path))?);
        let mut line_number = 0u64;
        loop {
            let read = read_line(&mut reader, &mut buf).map_err(AuditError::io(path))?;
            line_number += 1;
            let malformed = |detail: String| AuditError::Malformed {
                file: display_name(path),
                line: line_number,
                detail,
            };
            match read {
                LineRead::End | LineRead::Unterminated => break,
                LineRead::TooLong => return Err(malformed(format!("line over {MAX_LINE_BYTES} bytes"))),
                LineRead::Complete => {}
            }
            let Line::Event(chained) = Line::parse(&buf).map_err(|err| malformed(err.to_string()))? else {
                continue;
            };
            if chained.sequence <= after || !filter.matches(&chained.event) {
                continue;
            }
            let sequence = chained.sequence;
            events.push(StoredEvent { sequence, event: chained.event });
            if events.len() == limit {
                return Ok(QueryPage { next_after: Some(sequence), events });
            }
        }
    }
    Ok(QueryPage { events, next_after: None })
}
