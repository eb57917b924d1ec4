//! Typed calls of key rotation: EnableKeyRotation, DisableKeyRotation, GetKeyRotationStatus,
//! RotateKeyOnDemand and ListKeyRotations, plus a helper that follows ListKeyRotations
//! pagination to the end.

use trent_wire::kms::{EmptyResponse, KeyIdRequest, KeyIdResponse};
use trent_wire::model::IncludeKeyMaterial;
use trent_wire::rotation::{
    EnableKeyRotationRequest, GetKeyRotationStatusResponse, ListKeyRotationsRequest,
    ListKeyRotationsResponse, RotationsListEntry,
};
use trent_wire::Operation;

use crate::client::TrentClient;
use crate::error::ClientError;
use crate::kms::Pages;

impl TrentClient {
    /// `EnableKeyRotation`: automatic rotation every `RotationPeriodInDays` (server default 365).
    pub async fn enable_key_rotation(
        &self,
        request: &EnableKeyRotationRequest,
    ) -> Result<EmptyResponse, ClientError> {
        self.call(Operation::EnableKeyRotation.name(), request).await
    }

    /// `DisableKeyRotation`.
    pub async fn disable_key_rotation(&self, request: &KeyIdRequest) -> Result<EmptyResponse, ClientError> {
        self.call(Operation::DisableKeyRotation.name(), request).await
    }

    /// `GetKeyRotationStatus`: whether automatic rotation is on, its period and next date.
    pub async fn get_key_rotation_status(
        &self,
        request: &KeyIdRequest,
    ) -> Result<GetKeyRotationStatusResponse, ClientError> {
        self.call(Operation::GetKeyRotationStatus.name(), request).await
    }

    /// `RotateKeyOnDemand`. Every attempt carries the same request id, so a retried call
    /// rotates once.
    pub async fn rotate_key_on_demand(&self, request: &KeyIdRequest) -> Result<KeyIdResponse, ClientError> {
        self.call(Operation::RotateKeyOnDemand.name(), request).await
    }

    /// `ListKeyRotations`: one page of a key's materials, oldest first.
    pub async fn list_key_rotations(
        &self,
        request: &ListKeyRotationsRequest,
    ) -> Result<ListKeyRotationsResponse, ClientError> {
        self.call(Operation::ListKeyRotations.name(), request).await
    }

    /// Every rotation of `key_id` (every material with `ALL_KEY_MATERIAL`; the server's default,
    /// `ROTATIONS_ONLY`, when `include` is `None`), following `ListKeyRotations` pagination to
    /// the end.
    pub async fn list_all_key_rotations(
        &self,
        key_id: &str,
        include: Option<IncludeKeyMaterial>,
    ) -> Result<Vec<RotationsListEntry>, ClientError> {
        let mut pages = Pages::default();
        let mut rotations = Vec::new();
        loop {
            let request = ListKeyRotationsRequest {
                key_id: key_id.to_owned(),
                include_key_material: include.map(|include| include.as_str().to_owned()),
                limit: None,
                marker: pages.marker.clone(),
            };
            let page = self.list_key_rotations(&request).await?;
            rotations.extend(page.rotations);
            if !pages.advance(page.truncated, page.next_marker)? {
                return Ok(rotations);
            }
        }
    }
}
