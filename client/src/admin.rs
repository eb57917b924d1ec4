//! Typed methods for the admin API under `/v1/sys/`: node health, the cluster view,
//! membership changes, seal and keyring operations, access keys, users and their identity
//! policies, and authorization questions.

use bytes::Bytes;
use hyper::Method;
use trent_wire::admin::{AddLearnerRequest, ClusterResponse, HealthResponse, MembershipChangeResponse};

use crate::client::{decode_success, encode_body, Delivery, TrentClient};
use crate::error::ClientError;
use crate::transport::RequestSpec;

/// Path of the health endpoint.
pub const HEALTH_PATH: &str = "/v1/sys/health";
/// Path of the cluster view.
pub const CLUSTER_PATH: &str = "/v1/sys/cluster";
/// Path of the member collection.
pub const MEMBERS_PATH: &str = "/v1/sys/members";

impl TrentClient {
    /// `GET /v1/sys/health` of endpoint `index`, in one attempt and without failover: the
    /// answer is about that node.
    ///
    /// A node may answer health with an error status (sealed, no leader) and still send a
    /// health body; that body is returned as the node's health.
    pub async fn health(&self, index: usize) -> Result<HealthResponse, ClientError> {
        let spec = RequestSpec {
            method: Method::GET,
            path: HEALTH_PATH.to_owned(),
            target: None,
            body: Bytes::new(),
            request_id: None,
        };
        let response = self.send_once(index, &spec).await?;
        if response.status.is_success() {
            return decode_success(&response);
        }
        match serde_json::from_slice::<HealthResponse>(&response.body) {
            Ok(health) => Ok(health),
            Err(_) => Err(ClientError::from_error_response(response.status.as_u16(), &response.body)),
        }
    }

    /// `GET /v1/sys/cluster` from whichever node answers first.
    pub async fn cluster(&self) -> Result<ClusterResponse, ClientError> {
        self.admin::<(), _>(Method::GET, CLUSTER_PATH.to_owned(), None, Delivery::Repeatable).await
    }

    /// `POST /v1/sys/members`: adds a node as a learner.
    pub async fn add_learner(
        &self,
        request: &AddLearnerRequest,
    ) -> Result<MembershipChangeResponse, ClientError> {
        self.admin(Method::POST, MEMBERS_PATH.to_owned(), Some(request), Delivery::Repeatable).await
    }

    /// `POST /v1/sys/members/{node_id}/promote`: makes a learner a voter.
    pub async fn promote(&self, node_id: u64) -> Result<MembershipChangeResponse, ClientError> {
        let path = format!("{MEMBERS_PATH}/{node_id}/promote");
        self.admin::<(), _>(Method::POST, path, None, Delivery::Repeatable).await
    }

    /// `DELETE /v1/sys/members/{node_id}`: removes a voter or learner.
    pub async fn remove_member(&self, node_id: u64) -> Result<MembershipChangeResponse, ClientError> {
        let path = format!("{MEMBERS_PATH}/{node_id}");
        self.admin::<(), _>(Method::DELETE, path, None, Delivery::Repeatable).await
    }
}

/// Path of the seal status endpoint.
pub const STATUS_PATH: &str = "/v1/sys/status";

impl TrentClient {
    /// `POST /v1/sys/init`: initialises the cluster; the answer holds the unseal shares and the
    /// first access key, given exactly once.
    pub async fn init(
        &self,
        request: &trent_wire::admin::InitRequest,
    ) -> Result<trent_wire::admin::InitResponse, ClientError> {
        self.admin(Method::POST, "/v1/sys/init".to_owned(), Some(request), Delivery::AtMostOnce).await
    }

    /// `GET /v1/sys/status` of endpoint `index`: sealed or not, unseal progress.
    pub async fn seal_status(
        &self,
        index: usize,
    ) -> Result<trent_wire::admin::SealStatusResponse, ClientError> {
        self.on_endpoint(index)?
            .admin::<(), _>(Method::GET, STATUS_PATH.to_owned(), None, Delivery::Repeatable)
            .await
    }

    /// `POST /v1/sys/unseal` on endpoint `index` with one share.
    pub async fn unseal(
        &self,
        index: usize,
        share: &str,
    ) -> Result<trent_wire::admin::SealStatusResponse, ClientError> {
        let request = trent_wire::admin::UnsealRequest { share: Some(share.to_owned()), reset: false };
        self.on_endpoint(index)?
            .admin(Method::POST, "/v1/sys/unseal".to_owned(), Some(&request), Delivery::AtMostOnce)
            .await
    }

    /// `POST /v1/sys/seal` on endpoint `index`.
    pub async fn seal(&self, index: usize) -> Result<trent_wire::admin::SealStatusResponse, ClientError> {
        self.on_endpoint(index)?
            .admin::<(), _>(Method::POST, "/v1/sys/seal".to_owned(), None, Delivery::Repeatable)
            .await
    }
}

impl TrentClient {
    /// `POST /v1/sys/access-keys`: a new access key; its secret is in this answer only.
    pub async fn create_access_key(
        &self,
        description: &str,
    ) -> Result<trent_wire::admin::CreateAccessKeyResponse, ClientError> {
        self.create_user_access_key(description, None).await
    }

    /// `POST /v1/sys/access-keys` for `user` (`admin` when `None`).
    pub async fn create_user_access_key(
        &self,
        description: &str,
        user: Option<&str>,
    ) -> Result<trent_wire::admin::CreateAccessKeyResponse, ClientError> {
        let request = trent_wire::admin::CreateAccessKeyRequest {
            description: description.to_owned(),
            user: user.map(str::to_owned),
        };
        self.admin(Method::POST, "/v1/sys/access-keys".to_owned(), Some(&request), Delivery::AtMostOnce).await
    }

    /// `GET /v1/sys/access-keys`: every access key, without secrets.
    pub async fn list_access_keys(&self) -> Result<trent_wire::admin::AccessKeyList, ClientError> {
        self.admin::<(), _>(Method::GET, "/v1/sys/access-keys".to_owned(), None, Delivery::Repeatable).await
    }

    /// `DELETE /v1/sys/access-keys/{id}`.
    pub async fn delete_access_key(&self, access_key_id: &str) -> Result<(), ClientError> {
        let path = format!("/v1/sys/access-keys/{access_key_id}");
        let _: serde_json::Value =
            self.admin::<(), _>(Method::DELETE, path, None, Delivery::Repeatable).await?;
        Ok(())
    }

    /// `POST /v1/sys/rekey`: a new share split of the same root key.
    pub async fn rekey(
        &self,
        shares: u32,
        threshold: u32,
    ) -> Result<trent_wire::admin::RekeyResponse, ClientError> {
        let request = trent_wire::admin::RekeyRequest { shares, threshold };
        self.admin(Method::POST, "/v1/sys/rekey".to_owned(), Some(&request), Delivery::AtMostOnce).await
    }

    /// `POST /v1/sys/rotate`: a new barrier key version for new secrets.
    pub async fn rotate_keyring(&self) -> Result<trent_wire::admin::RotateResponse, ClientError> {
        self.admin::<(), _>(Method::POST, "/v1/sys/rotate".to_owned(), None, Delivery::AtMostOnce).await
    }
}

/// Path of the user collection.
pub const USERS_PATH: &str = "/v1/sys/users";
/// Path of the authorization question (`trent policy explain`).
pub const AUTHORIZE_PATH: &str = "/v1/sys/authorize";
/// Longest user name the server accepts.
pub const MAX_USER_NAME_CHARS: usize = 64;

/// Whether `name` is a user name the server accepts: 1–64 of `[A-Za-z0-9+=,.@_-]`. Every such
/// name is safe in a URL path as it is.
pub fn is_valid_user_name(name: &str) -> bool {
    (1..=MAX_USER_NAME_CHARS).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b))
}

/// Refuses a user name the server would refuse, before it is put in a path.
fn check_user_name(name: &str) -> Result<(), ClientError> {
    if is_valid_user_name(name) {
        return Ok(());
    }
    let shown: String = name.chars().take(80).collect();
    Err(ClientError::InvalidRequest {
        reason: format!(
            "user name {shown:?} is not 1 to {MAX_USER_NAME_CHARS} characters of A-Z, a-z, 0-9 and + = , . @ _ -"
        ),
    })
}

/// `/v1/sys/users/{name}` followed by `suffix`, for a checked `name`.
fn user_path(name: &str, suffix: &str) -> Result<String, ClientError> {
    check_user_name(name)?;
    Ok(format!("{USERS_PATH}/{name}{suffix}"))
}

impl TrentClient {
    /// `POST /v1/sys/users`: a new user, optionally with an inline identity policy (an IAM
    /// policy document as a JSON object, or a string holding one, which the server keeps as
    /// written). Sent at most once: a repeat of a create that was applied would be refused
    /// as a duplicate.
    pub async fn create_user(
        &self,
        name: &str,
        policy: Option<serde_json::Value>,
    ) -> Result<trent_wire::admin::UserInfo, ClientError> {
        check_user_name(name)?;
        let request = trent_wire::admin::CreateUserRequest { name: name.to_owned(), policy };
        self.admin(Method::POST, USERS_PATH.to_owned(), Some(&request), Delivery::AtMostOnce).await
    }

    /// `GET /v1/sys/users`: every user, by name.
    pub async fn list_users(&self) -> Result<trent_wire::admin::UserList, ClientError> {
        self.admin::<(), _>(Method::GET, USERS_PATH.to_owned(), None, Delivery::Repeatable).await
    }

    /// `GET /v1/sys/users/{name}`.
    pub async fn get_user(&self, name: &str) -> Result<trent_wire::admin::UserInfo, ClientError> {
        let path = user_path(name, "")?;
        self.admin::<(), _>(Method::GET, path, None, Delivery::Repeatable).await
    }

    /// `DELETE /v1/sys/users/{name}` (the server refuses while the user has access keys).
    pub async fn delete_user(&self, name: &str) -> Result<(), ClientError> {
        let path = user_path(name, "")?;
        let _: serde_json::Value =
            self.admin::<(), _>(Method::DELETE, path, None, Delivery::Repeatable).await?;
        Ok(())
    }

    /// `PUT /v1/sys/users/{name}/policy`: sets (replaces) the user's inline identity policy.
    /// `policy` is the document as a JSON object, or a string holding it, which is sent as it
    /// is, so the server stores the text exactly as written (a JSON object is re-encoded, and
    /// its keys then come out sorted).
    pub async fn put_user_policy(&self, name: &str, policy: &serde_json::Value) -> Result<(), ClientError> {
        let path = user_path(name, "/policy")?;
        let body = match policy {
            serde_json::Value::String(text) => Bytes::from(text.clone().into_bytes()),
            document => encode_body(document)?,
        };
        let _: serde_json::Value = self.admin_body(Method::PUT, path, body, Delivery::Repeatable).await?;
        Ok(())
    }

    /// `GET /v1/sys/users/{name}/policy`: the user's inline identity policy (`NotFoundException`
    /// when it has none).
    pub async fn get_user_policy(&self, name: &str) -> Result<trent_wire::admin::UserPolicy, ClientError> {
        let path = user_path(name, "/policy")?;
        self.admin::<(), _>(Method::GET, path, None, Delivery::Repeatable).await
    }

    /// `DELETE /v1/sys/users/{name}/policy`: removes the user's inline identity policy
    /// (`NotFoundException` when it has none).
    pub async fn delete_user_policy(&self, name: &str) -> Result<(), ClientError> {
        let path = user_path(name, "/policy")?;
        let _: serde_json::Value =
            self.admin::<(), _>(Method::DELETE, path, None, Delivery::Repeatable).await?;
        Ok(())
    }

    /// `POST /v1/sys/authorize`: whether a principal would be allowed an action on a key with
    /// a context, and what decided. Changes nothing, so it is retried like a read.
    pub async fn authorize(
        &self,
        request: &trent_wire::admin::AuthorizeRequest,
    ) -> Result<trent_wire::admin::AuthorizeResponse, ClientError> {
        self.admin(Method::POST, AUTHORIZE_PATH.to_owned(), Some(request), Delivery::Repeatable).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_names_are_path_safe_or_refused() {
        for name in ["alice", "a", "ci+deploy=x,y.z@example_1-2", &"n".repeat(MAX_USER_NAME_CHARS)] {
            assert!(is_valid_user_name(name), "{name}");
            assert_eq!(user_path(name, "/policy").unwrap(), format!("/v1/sys/users/{name}/policy"));
        }
        for name in ["", "a/b", "../admin", "a b", "a?b", "a%2F", "ünï", &"n".repeat(MAX_USER_NAME_CHARS + 1)]
        {
            assert!(!is_valid_user_name(name), "{name}");
            let error = user_path(name, "").unwrap_err();
            assert!(matches!(error, ClientError::InvalidRequest { .. }), "{error:?}");
            assert!(error.to_string().contains("user name"), "{error}");
        }
    }
}
