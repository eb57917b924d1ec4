//! The openraft network seam: Raft RPCs to peers as bincode over HTTP POST.

use std::time::Duration;

use openraft::error::{InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError, Unreachable};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use serde::de::DeserializeOwned;
use serde::Serialize;
use trent_storage::{NodeId, TrentNode, TypeConfig};

use crate::peer::protocol::{APPEND_ENTRIES, INSTALL_SNAPSHOT, VOTE};
use crate::peer::{PeerClient, PeerError};
use trent_storage::codec;

/// Makes a [`PeerConnection`] per replication target.
#[derive(Clone)]
pub struct Network {
    client: PeerClient,
    registry: trent_storage::SharedRegistry,
}

impl Network {
    /// Uses `client` for every peer, sending in the format of the feature level in `registry`.
    pub fn new(client: PeerClient, registry: trent_storage::SharedRegistry) -> Network {
        Network { client, registry }
    }
}

impl RaftNetworkFactory<TypeConfig> for Network {
    type Network = PeerConnection;

    async fn new_client(&mut self, target: NodeId, node: &TrentNode) -> PeerConnection {
        PeerConnection {
            target,
            addr: node.peer_addr.clone(),
            client: self.client.clone(),
            registry: self.registry.clone(),
        }
    }
}

/// Raft RPCs to one peer.
pub struct PeerConnection {
    target: NodeId,
    addr: String,
    client: PeerClient,
    registry: trent_storage::SharedRegistry,
}

type RpcResult<Resp, E> = Result<Resp, RPCError<NodeId, TrentNode, RaftError<NodeId, E>>>;

impl PeerConnection {
    async fn call<Req, Resp, E>(&self, path: &str, request: &Req, timeout: Duration) -> RpcResult<Resp, E>
    where
        Req: Serialize,
        Resp: DeserializeOwned,
        E: std::error::Error + DeserializeOwned,
    {
        // What every member decodes: the format of the cluster's feature level.
        let format = trent_storage::features::format_for_level(self.registry.read().features().level);
        let body = codec::encode_at(format, request).map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
        let reply = self.client.post(&self.addr, path, body, timeout).await.map_err(|error| match error {
            // Unreachable makes openraft back off before retrying; a slow peer is retried at once.
            PeerError::Unreachable { .. } => RPCError::Unreachable(Unreachable::new(&error)),
            PeerError::Timeout { .. } | PeerError::Status { .. } => {
                RPCError::Network(NetworkError::new(&error))
            }
        })?;
        let result: Result<Resp, RaftError<NodeId, E>> =
            codec::decode(&reply).map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
        result.map_err(|remote| RPCError::RemoteError(RemoteError::new(self.target, remote)))
    }
}

impl RaftNetwork<TypeConfig> for PeerConnection {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> RpcResult<AppendEntriesResponse<NodeId>, openraft::error::Infallible> {
        self.call(APPEND_ENTRIES, &rpc, option.hard_ttl()).await
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> RpcResult<InstallSnapshotResponse<NodeId>, InstallSnapshotError> {
        self.call(INSTALL_SNAPSHOT, &rpc, option.hard_ttl()).await
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        option: RPCOption,
    ) -> RpcResult<VoteResponse<NodeId>, openraft::error::Infallible> {
        self.call(VOTE, &rpc, option.hard_ttl()).await
    }

    fn backoff(&self) -> openraft::network::Backoff {
        // A dead peer is retried every 200 ms: quick to notice its return, cheap while it is gone.
        openraft::network::Backoff::new(std::iter::repeat(Duration::from_millis(200)))
    }
}
