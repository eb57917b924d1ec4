//! Accepts connections and serves HTTP/1.1 on each with keep-alive, over TLS when given an
//! acceptor, until shutdown. Every connection passes the listener's [`ConnectionGate`] first,
//! and every request carries its connection's [`ConnectionInfo`] as an extension.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use super::connections::{
    Admitted, ConnectionGate, ConnectionInfo, ConnectionState, PRESSURED_HANDSHAKE_TIMEOUT,
};

/// A client must send a request's headers within this long, or the connection is closed. This
/// also closes keep-alive connections idle this long, so clients keep idle connections for less.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// The most bytes hyper buffers per connection (headers must fit; bodies stream through it in
/// frames of at most this size). Real request heads are 1–4 KiB.
pub const MAX_CONNECTION_BUFFER: usize = 16 * 1024;
/// How often the gate closes idle unproven connections while under pressure.
const REAP_EVERY: Duration = Duration::from_millis(500);

/// How a listener serves: its gate, and whether a completed TLS handshake proves a connection
/// (mutual TLS on the peer port, where the client presented a certificate the cluster CA issued).
pub struct ListenerOptions {
    /// The admission gate.
    pub gate: Arc<ConnectionGate>,
    /// TLS, if the listener serves it.
    pub tls: Option<TlsAcceptor>,
    /// Whether the TLS handshake authenticates the client.
    pub handshake_proves: bool,
}

/// Serves `handler` on `listener` until `shutdown` turns true, then lets in-flight requests end.
/// With TLS, each connection first completes a TLS handshake within
/// [`HANDSHAKE_TIMEOUT`](crate::tls::HANDSHAKE_TIMEOUT) (shorter under pressure), or is dropped.
pub async fn serve<H, F>(
    listener: TcpListener,
    handler: H,
    options: ListenerOptions,
    mut shutdown: watch::Receiver<bool>,
) where
    H: Fn(Request<Incoming>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response<Full<Bytes>>> + Send + 'static,
{
    let ListenerOptions { gate, tls, handshake_proves } = options;
    let reaper = tokio::spawn(reap(gate.clone(), shutdown.clone()));
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors, most likely: let connections end before retrying.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
            _ = shutdown.changed() => break,
        };
        let admitted = match gate.admit(peer.ip()) {
            Ok(admitted) => admitted,
            Err(refused) => {
                tracing::debug!(%peer, %refused, "connection refused");
                drop(stream);
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let handler = handler.clone();
        let connection_shutdown = shutdown.clone();
        let tls = tls.clone();
        let handshake_timeout =
            if gate.under_pressure() { PRESSURED_HANDSHAKE_TIMEOUT } else { crate::tls::HANDSHAKE_TIMEOUT };
        tokio::spawn(async move {
            let state = admitted.state().clone();
            let Some(acceptor) = tls else {
                return serve_connection(stream, handler, admitted, connection_shutdown).await;
            };
            let handshake = tokio::time::timeout(handshake_timeout, acceptor.accept(stream));
            let handshake = tokio::select! {
                handshake = handshake => handshake,
                () = state.evicted() => return,
            };
            match handshake {
                Ok(Ok(stream)) => {
                    if handshake_proves {
                        admitted.prove();
                    }
                    serve_connection(stream, handler, admitted, connection_shutdown).await
                }
                Ok(Err(error)) => tracing::debug!(%error, "TLS handshake failed"),
                Err(_) => tracing::debug!("TLS handshake timed out"),
            }
        });
    }
    reaper.abort();
}

/// Closes idle unproven connections while the listener is under pressure.
async fn reap(gate: Arc<ConnectionGate>, mut shutdown: watch::Receiver<bool>) {
    let mut ticker = tokio::time::interval(REAP_EVERY);
    loop {
        tokio::select! {
            _ = ticker.tick() => {
                let closed = gate.reap_idle();
                if closed > 0 {
                    tracing::debug!(closed, open = gate.open(), "closed idle unauthenticated connections under pressure");
                }
            }
            _ = shutdown.changed() => return,
        }
    }
}

/// Serves HTTP/1.1 with keep-alive on one admitted connection until it ends, is evicted, or
/// shutdown.
async fn serve_connection<IO, H, F>(
    io: IO,
    handler: H,
    admitted: Admitted,
    mut shutdown: watch::Receiver<bool>,
) where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    H: Fn(Request<Incoming>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response<Full<Bytes>>> + Send + 'static,
{
    let info = ConnectionInfo::of(&admitted);
    let state: Arc<ConnectionState> = admitted.state().clone();
    let service = service_fn(move |mut request: Request<Incoming>| {
        let info = info.clone();
        info.request_started();
        request.extensions_mut().insert(info.clone());
        // Boxed: the handler's future is several KiB, and hyper moves the service future a few
        // times per request; moving a pointer is cheaper than copying the state machine.
        let response = Box::pin(handler(request));
        async move {
            let response = response.await;
            info.request_ended();
            Ok::<_, Infallible>(response)
        }
    });
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .max_buf_size(MAX_CONNECTION_BUFFER)
        .keep_alive(true)
        .serve_connection(TokioIo::new(io), service);
    tokio::pin!(connection);
    tokio::select! {
        result = connection.as_mut() => {
            if let Err(error) = result {
                tracing::debug!(%error, "connection ended with an error");
            }
        }
        () = state.evicted() => {
            tracing::debug!(address = %state.address(), "idle unauthenticated connection closed to make room");
        }
        _ = shutdown.changed() => {
            connection.as_mut().graceful_shutdown();
            let _ = connection.await;
        }
    }
    drop(admitted);
}
