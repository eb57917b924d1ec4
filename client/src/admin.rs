//! Typed methods for the admin API under `/v1/sys/`: node health, the cluster view, and
//! membership changes.

use bytes::Bytes;
use hyper::Method;
use trent_wire::admin::{AddLearnerRequest, ClusterResponse, HealthResponse, MembershipChangeResponse};

use crate::client::{decode_success, Delivery, TrentClient};
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
        let request = trent_wire::admin::CreateAccessKeyRequest { description: description.to_owned() };
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
