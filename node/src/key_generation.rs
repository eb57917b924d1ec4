//! Private keys for new keys of every spec but SYMMETRIC_DEFAULT, made on the leader before the
//! write joins a batch. An RSA-4096 key takes seconds: made inside a batch it would hold one of
//! the proposer's two in-flight slots, and every write of the cluster — a RevokeGrant, a
//! DisableKey — would wait behind it, past the consistency bound. So the leader makes the
//! material first, on a low-priority thread (`cpu_pool::key_generation`: one per core, which
//! also bounds how many generations run at once), keeps it here under the write's request id,
//! and the batch's stamp takes it. Material never leaves the leader in plaintext and is zeroized
//! when taken or dropped. A write whose material is not here when it is stamped (leadership
//! moved in between) has it made then.

use std::collections::HashMap;
use std::sync::Mutex;

use trent_storage::RequestId;
use trent_wire::KmsError;
use zeroize::Zeroizing;

use crate::write_path::ForwardedProposal;

/// Materials kept waiting for their stamp; past this the oldest are dropped (their writes then
/// make material when stamped).
const MAX_READY: usize = 256;

/// Materials made ahead of their writes' stamps.
#[derive(Default)]
pub struct KeyGeneration {
    ready: Mutex<HashMap<RequestId, Zeroizing<Vec<u8>>>>,
}

impl KeyGeneration {
    /// Makes the material `proposal` needs, if any, and keeps it for its stamp.
    pub async fn prepare(&self, proposal: &ForwardedProposal) -> Result<(), KmsError> {
        if !proposal.needs_private_material() || self.lock().contains_key(&proposal.request_id) {
            return Ok(());
        }
        let material = proposal.prepare_material().await?;
        if let Some(material) = material {
            let mut ready = self.lock();
            if ready.len() >= MAX_READY {
                ready.clear();
            }
            ready.insert(proposal.request_id, material);
        }
        Ok(())
    }

    /// The material made for `proposal`, or made now if there is none.
    pub async fn take_or_make(
        &self,
        proposal: &ForwardedProposal,
    ) -> Result<Option<Zeroizing<Vec<u8>>>, KmsError> {
        if let Some(material) = self.lock().remove(&proposal.request_id) {
            return Ok(Some(material));
        }
        proposal.prepare_material().await
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<RequestId, Zeroizing<Vec<u8>>>> {
        self.ready.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
