//! Endpoints: the base URL of one node's client API (`https://host:port` or `http://host:port`),
//! parsed and checked once so that every request the client builds later starts from a known-good
//! scheme and authority.

use std::fmt;

use hyper::http::uri::{Authority, Scheme};
use hyper::Uri;

use crate::error::ClientError;

/// Most endpoints one client accepts; a Trent cluster has a handful of nodes.
pub const MAX_ENDPOINTS: usize = 64;

/// The base URL of one node's client API, e.g. `https://trent1.example:8400`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Endpoint {
    scheme: Scheme,
    authority: Authority,
    text: String,
}

impl Endpoint {
    /// Parses `https://host:port`, `http://host:port` or a bare `host:port` (taken as HTTPS:
    /// plain HTTP, which a Trent node serves only in dev mode or when started with
    /// `--insecure-plaintext`, must be asked for by name).
    ///
    /// A trailing `/` is accepted; any other path, a query, or user info is refused.
    pub fn parse(input: &str) -> Result<Endpoint, ClientError> {
        let trimmed = input.trim();
        let invalid = |reason: &str| ClientError::InvalidEndpoint {
            endpoint: trimmed.to_owned(),
            reason: reason.to_owned(),
        };
        if trimmed.is_empty() {
            return Err(invalid("empty endpoint"));
        }
        let with_scheme =
            if trimmed.contains("://") { trimmed.to_owned() } else { format!("https://{trimmed}") };
        let uri: Uri = with_scheme.parse().map_err(|_| invalid("not a URL of the form https://host:port"))?;
        let scheme = match uri.scheme() {
            Some(scheme) if *scheme == Scheme::HTTP || *scheme == Scheme::HTTPS => scheme.clone(),
            _ => return Err(invalid("scheme must be https or http")),
        };
        let authority = uri.authority().cloned().ok_or_else(|| invalid("missing host"))?;
        if authority.host().is_empty() {
            return Err(invalid("missing host"));
        }
        if authority.as_str().contains('@') {
            return Err(invalid("user info is not allowed"));
        }
        if let Some(path_and_query) = uri.path_and_query() {
            if path_and_query.query().is_some() {
                return Err(invalid("a query string is not allowed"));
            }
            if !matches!(path_and_query.path(), "" | "/") {
                return Err(invalid("a path is not allowed"));
            }
        }
        let text = format!("{scheme}://{authority}");
        Ok(Endpoint { scheme, authority, text })
    }

    /// Parses a comma-separated list, skipping empty items, e.g. `http://a:8400,http://b:8400`.
    pub fn parse_list(input: &str) -> Result<Vec<Endpoint>, ClientError> {
        Endpoint::parse_all(input.split(','))
    }

    /// Parses each item of `inputs`, skipping empty ones, and checks the count is 1..=[`MAX_ENDPOINTS`].
    pub fn parse_all<I, S>(inputs: I) -> Result<Vec<Endpoint>, ClientError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut endpoints = Vec::new();
        for item in inputs {
            let item = item.as_ref().trim();
            if item.is_empty() {
                continue;
            }
            if endpoints.len() == MAX_ENDPOINTS {
                return Err(ClientError::TooManyEndpoints { max: MAX_ENDPOINTS });
            }
            endpoints.push(Endpoint::parse(item)?);
        }
        if endpoints.is_empty() {
            return Err(ClientError::NoEndpoints);
        }
        Ok(endpoints)
    }

    /// The `host:port` part.
    pub fn authority(&self) -> &Authority {
        &self.authority
    }

    /// Whether calls to this endpoint go over TLS.
    pub fn is_tls(&self) -> bool {
        self.scheme == Scheme::HTTPS
    }

    /// The full URI of `path_and_query` (which must start with `/`) on this endpoint.
    pub fn uri(&self, path_and_query: &str) -> Result<Uri, ClientError> {
        Uri::builder()
            .scheme(self.scheme.clone())
            .authority(self.authority.clone())
            .path_and_query(path_and_query)
            .build()
            .map_err(|err| ClientError::InvalidRequest {
                reason: format!("bad request path {path_and_query:?}: {err}"),
            })
    }

    /// The endpoint as `scheme://host:port`.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::str::FromStr for Endpoint {
    type Err = ClientError;

    fn from_str(input: &str) -> Result<Endpoint, ClientError> {
        Endpoint::parse(input)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_http_url_and_normalises_trailing_slash() {
        let endpoint = Endpoint::parse(" http://127.0.0.1:8400/ ").unwrap();
        assert_eq!(endpoint.as_str(), "http://127.0.0.1:8400");
        assert_eq!(endpoint.authority().port_u16(), Some(8400));
    }

    #[test]
    fn bare_host_port_means_https() {
        let endpoint = Endpoint::parse("localhost:8401").unwrap();
        assert_eq!(endpoint.to_string(), "https://localhost:8401");
        let ipv6 = Endpoint::parse("[::1]:8402").unwrap();
        assert_eq!(ipv6.as_str(), "https://[::1]:8402");
    }

    #[test]
    fn accepts_https_and_keeps_its_scheme() {
        let endpoint = Endpoint::parse("https://trent1:8400/").unwrap();
        assert!(endpoint.is_tls());
        assert_eq!(endpoint.as_str(), "https://trent1:8400");
        assert_eq!(endpoint.uri("/v1/sys/health").unwrap().to_string(), "https://trent1:8400/v1/sys/health");
        assert!(Endpoint::parse("trent1:8400").unwrap().is_tls());
        assert!(!Endpoint::parse("http://trent1:8400").unwrap().is_tls());
    }

    #[test]
    fn refuses_other_schemes_paths_queries_and_user_info() {
        for bad in [
            "ftp://127.0.0.1:8400",
            "https://127.0.0.1:8400/v1",
            "http://127.0.0.1:8400/v1",
            "http://127.0.0.1:8400/?a=b",
            "http://user@127.0.0.1:8400",
            "",
            "http://",
            "not a url",
        ] {
            let err = Endpoint::parse(bad).unwrap_err();
            assert!(matches!(err, ClientError::InvalidEndpoint { .. }), "{bad:?} gave {err:?}");
        }
    }

    #[test]
    fn list_skips_empty_items_and_requires_one() {
        let endpoints = Endpoint::parse_list("http://a:1, ,b:2,").unwrap();
        let texts: Vec<&str> = endpoints.iter().map(Endpoint::as_str).collect();
        assert_eq!(texts, ["http://a:1", "https://b:2"]);
        assert!(matches!(Endpoint::parse_list(" , "), Err(ClientError::NoEndpoints)));
    }

    #[test]
    fn list_is_bounded() {
        let many = vec!["http://a:1"; MAX_ENDPOINTS + 1];
        assert!(matches!(Endpoint::parse_all(many), Err(ClientError::TooManyEndpoints { .. })));
    }

    #[test]
    fn builds_request_uris() {
        let endpoint = Endpoint::parse("http://127.0.0.1:8400").unwrap();
        let uri = endpoint.uri("/v1/sys/members/3/promote").unwrap();
        assert_eq!(uri.to_string(), "http://127.0.0.1:8400/v1/sys/members/3/promote");
    }
}
