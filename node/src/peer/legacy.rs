//! The leader's reply as formats 0 to 2 sent it, frozen: a key in a write's result was the key
//! record of `trent_storage::legacy`. A reply goes out in the format its request came in, so a
//! peer that still sends format 2 (a build below feature level 4, or this build while its
//! cluster is below it) gets the old layout, and a reply holding what that layout cannot say
//! is refused rather than cut down.

use serde::{Deserialize, Serialize};
use trent_storage::codec::{self, Format};
use trent_storage::legacy::{KeyRecordF2, LAST_F2_FORMAT};
use trent_storage::{Applied, NodeId, Rejection};
use trent_wire::KmsError;

use super::protocol::LeaderReply;

/// [`LeaderReply`] in formats 0 to 2.
#[derive(Debug, Serialize, Deserialize)]
enum LeaderReplyF2 {
    Written { results: Vec<Result<AppliedF2, Rejection>>, commit_index: Option<u64> },
    ReadIndex(Option<u64>),
    MembershipChanged { log_index: u64 },
    NotLeader(Option<NodeId>),
    Failed(KmsError),
}

/// [`Applied`] in formats 0 to 2.
#[derive(Debug, Serialize, Deserialize)]
enum AppliedF2 {
    Key(Box<KeyRecordF2>),
    Done,
    Grant { grant_id: String, log_index: u64 },
}

impl From<LeaderReplyF2> for LeaderReply {
    fn from(old: LeaderReplyF2) -> LeaderReply {
        match old {
            LeaderReplyF2::Written { results, commit_index } => LeaderReply::Written {
                results: results.into_iter().map(|result| result.map(Applied::from)).collect(),
                commit_index,
            },
            LeaderReplyF2::ReadIndex(index) => LeaderReply::ReadIndex(index),
            LeaderReplyF2::MembershipChanged { log_index } => LeaderReply::MembershipChanged { log_index },
            LeaderReplyF2::NotLeader(leader) => LeaderReply::NotLeader(leader),
            LeaderReplyF2::Failed(error) => LeaderReply::Failed(error),
        }
    }
}

impl From<AppliedF2> for Applied {
    fn from(old: AppliedF2) -> Applied {
        match old {
            AppliedF2::Key(key) => Applied::Key(Box::new((*key).into())),
            AppliedF2::Done => Applied::Done,
            AppliedF2::Grant { grant_id, log_index } => Applied::Grant { grant_id, log_index },
        }
    }
}

fn old_applied(applied: &Applied) -> Result<AppliedF2, String> {
    match applied {
        Applied::Key(key) => {
            KeyRecordF2::try_from(&**key).map(|old| AppliedF2::Key(Box::new(old))).map_err(|e| e.to_string())
        }
        Applied::Done => Ok(AppliedF2::Done),
        Applied::Grant { grant_id, log_index } => {
            Ok(AppliedF2::Grant { grant_id: grant_id.clone(), log_index: *log_index })
        }
        Applied::ImportParameters { .. } => {
            Err("import parameters cannot be expressed in format 2".to_owned())
        }
    }
}

fn old_reply(reply: &LeaderReply) -> Result<LeaderReplyF2, String> {
    Ok(match reply {
        LeaderReply::Written { results, commit_index } => LeaderReplyF2::Written {
            results: results
                .iter()
                .map(|result| match result {
                    Ok(applied) => old_applied(applied).map(Ok),
                    Err(rejection) => Ok(Err(rejection.clone())),
                })
                .collect::<Result<_, String>>()?,
            commit_index: *commit_index,
        },
        LeaderReply::ReadIndex(index) => LeaderReplyF2::ReadIndex(*index),
        LeaderReply::MembershipChanged { log_index } => {
            LeaderReplyF2::MembershipChanged { log_index: *log_index }
        }
        LeaderReply::NotLeader(leader) => LeaderReplyF2::NotLeader(*leader),
        LeaderReply::Failed(error) => LeaderReplyF2::Failed(error.clone()),
    })
}

/// Encodes a leader's reply in `format`: the old layout up to format 2.
pub fn encode_reply(format: Format, reply: &LeaderReply) -> Result<Vec<u8>, bincode::error::EncodeError> {
    if format > LAST_F2_FORMAT {
        return codec::encode_at(format, reply);
    }
    let old = old_reply(reply).map_err(bincode::error::EncodeError::OtherString)?;
    codec::encode_at(format, &old)
}

/// Decodes a leader's reply in any format this build reads.
pub fn decode_reply(bytes: &[u8]) -> Result<LeaderReply, bincode::error::DecodeError> {
    let (format, payload) = codec::split(bytes)?;
    if format > LAST_F2_FORMAT {
        return codec::decode_payload(payload);
    }
    codec::decode_payload::<LeaderReplyF2>(payload).map(LeaderReply::from)
}
