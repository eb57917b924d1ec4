//! Private keys for new keys of every spec but SYMMETRIC_DEFAULT, made on the leader before the
//! write joins a batch. An RSA-4096 key takes seconds: made inside a batch it would hold one of
//! the proposer's two in-flight slots, and every write of the cluster — a RevokeGrant, a
//! DisableKey — would wait behind it, past the consistency bound. So the leader makes the
//! material first, on a low-priority thread (`cpu_pool::key_generation`: one per core, which
//! also bounds how many generations run at once), keeps it here under the write's request id
//! and the spec it was made for (the request id is the client's: two writes that share one must
//! not take each other's material), and the batch's stamp takes it. Material never leaves the leader in plaintext and is zeroized
//! when taken or dropped. A write whose material is not here when it is stamped (leadership
//! moved in between) has it made then.

use std::collections::HashMap;
use std::sync::Mutex;

use trent_storage::RequestId;
use trent_wire::model::KeySpec;
use trent_wire::KmsError;
use zeroize::Zeroizing;

use crate::write_path::ForwardedProposal;

/// Materials kept waiting for their stamp; past this the oldest are dropped (their writes then
/// make material when stamped).
const MAX_READY: usize = 256;

/// Prepared material by the write's request id and the spec it was made for.
type Ready = HashMap<(RequestId, KeySpec), Zeroizing<Vec<u8>>>;

/// Materials made ahead of their writes' stamps.
#[derive(Default)]
pub struct KeyGeneration {
    ready: Mutex<Ready>,
}

impl KeyGeneration {
    /// Makes the material `proposal` needs, if any, and keeps it for its stamp.
    pub async fn prepare(&self, proposal: &ForwardedProposal) -> Result<(), KmsError> {
        let Some(spec) = proposal.private_material_spec() else {
            return Ok(());
        };
        let slot = (proposal.request_id, spec);
        if self.lock().contains_key(&slot) {
            return Ok(());
        }
        let material = proposal.prepare_material().await?;
        if let Some(material) = material {
            let mut ready = self.lock();
            if ready.len() >= MAX_READY {
                ready.clear();
            }
            ready.insert(slot, material);
        }
        Ok(())
    }

    /// The material made for `proposal`, or made now if there is none.
    pub async fn take_or_make(
        &self,
        proposal: &ForwardedProposal,
    ) -> Result<Option<Zeroizing<Vec<u8>>>, KmsError> {
        let Some(spec) = proposal.private_material_spec() else {
            return Ok(None);
        };
        if let Some(material) = self.lock().remove(&(proposal.request_id, spec)) {
            return Ok(Some(material));
        }
        proposal.prepare_material().await
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Ready> {
        self.ready.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use trent_storage::{KeyDraft, RequestId};
    use trent_wire::model::{KeySpec, KeyUsage, Origin};

    use super::*;
    use crate::write_path::Proposal;

    fn create(request_id: RequestId, spec: KeySpec, usage: KeyUsage) -> ForwardedProposal {
        let draft =
            KeyDraft { description: String::new(), spec, usage, origin: Origin::AwsKms, tags: Vec::new() };
        ForwardedProposal { request_id, proposal: Proposal::CreateKey(draft) }
    }

    #[tokio::test]
    async fn writes_sharing_a_request_id_never_take_each_others_material() {
        let generation = KeyGeneration::default();
        let id = RequestId(uuid::Uuid::from_u128(7));
        let signing = create(id, KeySpec::EccNistP256, KeyUsage::SignVerify);
        let mac = create(id, KeySpec::Hmac256, KeyUsage::GenerateVerifyMac);
        generation.prepare(&signing).await.unwrap();
        let taken = generation.take_or_make(&mac).await.unwrap().expect("HMAC material");
        assert_eq!(taken.len(), 32, "HMAC_256 material, made for it, not the prepared P-256 key");
        let prepared = generation.take_or_make(&signing).await.unwrap().expect("P-256 material");
        assert!(prepared.len() > 32, "the prepared PKCS#8 P-256 key is still there for its write");
        let symmetric = create(id, KeySpec::SymmetricDefault, KeyUsage::EncryptDecrypt);
        assert!(generation.take_or_make(&symmetric).await.unwrap().is_none());
    }
}
