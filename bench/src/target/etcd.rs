//! etcd's v3 JSON gateway: the Raft write path of a mature store, for comparison with CreateKey.
//! CreateKey maps to a put of a fresh key, DescribeKey to a linearizable range read of one.

use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use bytes::Bytes;
use hyper::Method;
use serde_json::json;

use super::http::RawHttp;
use crate::workload::Op;

/// What the etcd target sends.
pub struct EtcdTarget {
    http: RawHttp,
    prefix: String,
    value: String,
}

impl EtcdTarget {
    /// A target over `endpoints` (`http://host:2379`) that puts `value_bytes`-byte values.
    pub fn new(endpoints: &[String], value_bytes: usize, timeout: Duration) -> anyhow::Result<EtcdTarget> {
        let prefix =
            format!("trent-bench/{:08x}/", crate::workload::scramble(std::process::id().into()) as u32);
        Ok(EtcdTarget {
            http: RawHttp::new(endpoints, timeout)?,
            prefix,
            value: STANDARD.encode(vec![0x5a; value_bytes]),
        })
    }

    /// Sends call number `sequence`.
    pub async fn call(&self, op: Op, sequence: u64) -> Result<(), String> {
        let headers = [("content-type", "application/json")];
        let (path, body) = match op {
            Op::CreateKey => {
                let key = STANDARD.encode(format!("{}{sequence}", self.prefix));
                ("/v3/kv/put", json!({ "key": key, "value": self.value }))
            }
            Op::DescribeKey => {
                ("/v3/kv/range", json!({ "key": STANDARD.encode(format!("{}0", self.prefix)) }))
            }
            other => return Err(format!("etcd has no {}", other.name())),
        };
        self.http.send_ok(Method::POST, path, &headers, Bytes::from(body.to_string())).await.map(|_| ())
    }
}
