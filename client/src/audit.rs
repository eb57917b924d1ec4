//! The audit trail read back: `GET /v1/sys/audit` with its filters and paging, and the public
//! key the cluster's digest records verify with.

use hyper::Method;
use trent_audit::{AuditPage, AuditPublicKey, Filter};

use crate::client::Delivery;
use crate::{ClientError, TrentClient};

/// `GET /v1/sys/audit`.
pub const AUDIT_PATH: &str = "/v1/sys/audit";
/// `GET /v1/sys/audit/public-key`.
pub const AUDIT_PUBLIC_KEY_PATH: &str = "/v1/sys/audit/public-key";

/// What to read from the audit trail: which records (`filter`; every set field must match) and
/// which page of them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// Which records.
    pub filter: Filter,
    /// Records per page (1–1000; the node's default is 50).
    pub limit: Option<u32>,
    /// The page after the one that gave this token.
    pub next_token: Option<String>,
    /// Every member's records merged by time, not only the answering node's.
    pub cluster: bool,
}

impl AuditQuery {
    /// The query string, percent-encoded.
    pub fn to_query_string(&self) -> String {
        let filter = &self.filter;
        let fields = [
            ("eventName", &filter.event_name),
            ("keyId", &filter.key_id),
            ("principal", &filter.principal),
            ("errorCode", &filter.error_code),
            ("startTime", &filter.start_time),
            ("endTime", &filter.end_time),
            ("nextToken", &self.next_token),
        ];
        let mut pairs: Vec<(&str, String)> =
            fields.into_iter().filter_map(|(name, value)| Some((name, value.clone()?))).collect();
        if let Some(limit) = self.limit {
            pairs.push(("limit", limit.to_string()));
        }
        if self.cluster {
            pairs.push(("scope", "cluster".to_owned()));
        }
        pairs
            .iter()
            .map(|(name, value)| format!("{name}={}", trent_sigv4::percent_encode(value.as_bytes())))
            .collect::<Vec<_>>()
            .join("&")
    }
}

impl TrentClient {
    /// One page of the audit trail (action `trent:ReadAudit`).
    pub async fn audit_page(&self, query: &AuditQuery) -> Result<AuditPage, ClientError> {
        let query = query.to_query_string();
        let path = if query.is_empty() { AUDIT_PATH.to_owned() } else { format!("{AUDIT_PATH}?{query}") };
        self.admin::<(), _>(Method::GET, path, None, Delivery::Repeatable).await
    }

    /// The public key the cluster's audit digests verify with (unsigned; refused while sealed).
    pub async fn audit_public_key(&self) -> Result<AuditPublicKey, ClientError> {
        self.admin::<(), _>(Method::GET, AUDIT_PUBLIC_KEY_PATH.to_owned(), None, Delivery::Repeatable).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_string_names_every_given_filter_encoded() {
        let query = AuditQuery {
            filter: Filter {
                event_name: Some("Encrypt".to_owned()),
                key_id: Some("alias/a b".to_owned()),
                ..Filter::default()
            },
            limit: Some(5),
            cluster: true,
            ..AuditQuery::default()
        };
        assert_eq!(query.to_query_string(), "eventName=Encrypt&keyId=alias%2Fa%20b&limit=5&scope=cluster");
        assert_eq!(AuditQuery::default().to_query_string(), "");
    }
}
