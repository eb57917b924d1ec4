//! `trent-echo`: a bare hyper HTTP/1.1 server that answers every request with its own body,
//! doing no other work — the HTTP ceiling of this machine, measured with the same load
//! generator as Trent (same runtime, same hyper, same connection handling).
//!
//!   trent-echo `[ADDR]`    (default 127.0.0.1:8499)

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// Largest body echoed; larger bodies are cut off (the ceiling is about small requests).
const MAX_BODY_BYTES: usize = 1024 * 1024;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:8499".to_owned());
    let listener = TcpListener::bind(&addr).await?;
    eprintln!("trent-echo listening on {}", listener.local_addr()?);
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service_fn(echo)).await;
        });
    }
}

async fn echo(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let mut body = match request.into_body().collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => Bytes::new(),
    };
    body.truncate(MAX_BODY_BYTES);
    let mut response = Response::new(Full::new(body));
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/x-amz-json-1.1"),
    );
    Ok(response)
}
