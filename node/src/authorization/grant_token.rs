//! Grant tokens: what CreateGrant answers so a grant is usable at once, on any node. A token
//! names the grant and the log index that applied it; a node given one waits (bounded) until it
//! has applied that far, then decides from its own state as always. A token is not a
//! credential: it only says where to wait for, and a forged one grants nothing.

use trent_wire::{ErrorCode, KmsError};

const PREFIX: &str = "trent-grant-token-v1.";

/// A token's contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantToken {
    /// The log index that applied the grant.
    pub log_index: u64,
    /// The grant's id.
    pub grant_id: String,
}

impl GrantToken {
    /// The token text.
    pub fn encode(&self) -> String {
        format!("{PREFIX}{}.{}", self.log_index, self.grant_id)
    }

    /// Parses a token; `InvalidGrantTokenException` for anything this cluster did not issue.
    pub fn parse(text: &str) -> Result<GrantToken, KmsError> {
        let invalid = || KmsError::new(ErrorCode::InvalidGrantToken, "The grant token is not valid.");
        let rest = text.strip_prefix(PREFIX).ok_or_else(invalid)?;
        let (index, grant_id) = rest.split_once('.').ok_or_else(invalid)?;
        let log_index = index.parse().map_err(|_| invalid())?;
        trent_storage::check_grant_id(grant_id).map_err(|_| invalid())?;
        Ok(GrantToken { log_index, grant_id: grant_id.to_owned() })
    }
}

/// The highest log index `tokens` name; every token must have AWS's shape
/// (`ValidationException`) and parse (`InvalidGrantTokenException`).
pub fn highest_index(tokens: &[String]) -> Result<Option<u64>, KmsError> {
    crate::kms::crypto_fields::check_grant_tokens(Some(tokens))?;
    let mut highest = None;
    for token in tokens {
        let index = GrantToken::parse(token)?.log_index;
        highest = highest.max(Some(index));
    }
    Ok(highest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_anything_else_is_invalid() {
        let token = GrantToken { log_index: 42, grant_id: "a1".repeat(32) };
        assert_eq!(GrantToken::parse(&token.encode()).unwrap(), token);
        for bad in
            ["", "x", "trent-grant-token-v1.", "trent-grant-token-v1.x.aa", "trent-grant-token-v1.1.zz"]
        {
            assert_eq!(GrantToken::parse(bad).unwrap_err().code, ErrorCode::InvalidGrantToken, "{bad}");
        }
        assert_eq!(highest_index(&[token.encode()]).unwrap(), Some(42));
        assert_eq!(highest_index(&[]).unwrap(), None);
    }
}
