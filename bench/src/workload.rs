//! What the load generator sends: one variant per operation, prepared once (e.g. the key that
//! DescribeKey asks about) and then issued over and over by every worker.

use clap::ValueEnum;
use serde::de::IgnoredAny;
use trent_client::{ClientError, TrentClient};
use trent_wire::kms::{CreateKeyRequest, KeyIdRequest};

/// Description given to keys the bench creates, so they can be found and cleaned up.
const BENCH_KEY_DESCRIPTION: &str = "created by trent-bench";

/// The operation under load, as named on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Op {
    /// `CreateKey` of a symmetric key: a replicated write.
    CreateKey,
    /// `DescribeKey` of one key: a linearizable management read.
    DescribeKey,
}

impl Op {
    /// The operation's name on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Op::CreateKey => "create-key",
            Op::DescribeKey => "describe-key",
        }
    }
}

/// A prepared operation: the request every call sends.
#[derive(Debug, Clone)]
pub enum Workload {
    /// Send `CreateKey` with this request.
    CreateKey(CreateKeyRequest),
    /// Send `DescribeKey` with this request.
    DescribeKey(KeyIdRequest),
}

impl Workload {
    /// Prepares `op`, using `setup` (a client that may retry) for anything that must exist first.
    /// DescribeKey describes `key_id` if given, else a key created here.
    pub async fn prepare(op: Op, setup: &TrentClient, key_id: Option<String>) -> anyhow::Result<Workload> {
        match op {
            Op::CreateKey => Ok(Workload::CreateKey(bench_key_request())),
            Op::DescribeKey => {
                let key_id = match key_id {
                    Some(key_id) => key_id,
                    None => create_bench_key(setup).await?,
                };
                Ok(Workload::DescribeKey(KeyIdRequest { key_id, grant_tokens: None }))
            }
        }
    }

    /// Sends one call. The answer is checked to be JSON but not decoded into types, so the bench
    /// measures the server (any AWS-KMS-compatible one), not the client's decoding.
    pub async fn issue(&self, client: &TrentClient) -> Result<(), ClientError> {
        match self {
            Workload::CreateKey(request) => client.call::<_, IgnoredAny>("CreateKey", request).await?,
            Workload::DescribeKey(request) => client.call::<_, IgnoredAny>("DescribeKey", request).await?,
        };
        Ok(())
    }
}

fn bench_key_request() -> CreateKeyRequest {
    CreateKeyRequest { description: Some(BENCH_KEY_DESCRIPTION.to_owned()), ..CreateKeyRequest::default() }
}

/// Creates a key and returns its id, reading only `KeyMetadata.KeyId` from the answer.
async fn create_bench_key(setup: &TrentClient) -> anyhow::Result<String> {
    let created: serde_json::Value = setup.call("CreateKey", &bench_key_request()).await?;
    let key_id = created
        .pointer("/KeyMetadata/KeyId")
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| anyhow::anyhow!("CreateKey answer has no KeyMetadata.KeyId: {created}"))?;
    Ok(key_id.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn op_names_match_the_command_line() {
        for op in Op::value_variants() {
            let parsed = Op::from_str(op.name(), false).unwrap();
            assert_eq!(parsed, *op);
        }
    }
}
